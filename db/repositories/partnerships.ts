import type { Db } from '../database';
import { degressiveBasisPoints, partnerPrice } from '../../lib/pricing';

/**
 * P11: may this account act on this product as a partner? As a member of a partner organization
 * with an active partnership to the product's organization, and, for restricted access, only on the
 * products the client granted. Legal representatives and administrators act on the whole grant; a
 * collaborator of the partner within their own rights too [003]: all of the grant when their
 * membership is unrestricted, else only the granted products listed in it.
 */
export async function partnerMayAct(db: Db, accountId: string, productId: string): Promise<boolean> {
  const row = await db
    .selectFrom('products as p')
    .innerJoin('partnerships as s', 's.client_organization_id', 'p.organization_id')
    .innerJoin('memberships as m', 'm.organization_id', 's.partner_organization_id')
    .select('s.id')
    .where('p.id', '=', productId)
    .where('s.ended_at', 'is', null)
    .where('m.account_id', '=', accountId)
    .where((eb) =>
      eb.or([
        eb('m.role', 'in', ['legal_representative', 'administrator']),
        eb('m.product_ids', 'is', null),
        eb(eb.val(productId), '=', eb.fn.any('m.product_ids')),
      ]),
    )
    .where((eb) => eb.or([eb('s.access', '=', 'full'), eb(eb.val(productId), '=', eb.fn.any('s.product_ids'))]))
    .executeTakeFirst();
  return row !== undefined;
}

export async function findPartnership(db: Db, id: string) {
  return db.selectFrom('partnerships').select(['id', 'partner_organization_id', 'client_organization_id', 'ended_at']).where('id', '=', id).executeTakeFirst();
}

/** Whether the partner manages the client already (an active partnership). */
export async function hasActivePartnership(db: Db, partnerOrganizationId: string, clientOrganizationId: string): Promise<boolean> {
  const active = await db
    .selectFrom('partnerships')
    .select('id')
    .where('partner_organization_id', '=', partnerOrganizationId)
    .where('client_organization_id', '=', clientOrganizationId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return active !== undefined;
}

/** Ends an active partnership; false when it had ended already. Call inside the transaction that queues its emails. */
export async function markPartnershipEnded(trx: Db, id: string, endedBy: string, now: Date): Promise<boolean> {
  const ended = await trx
    .updateTable('partnerships')
    .set({ ended_at: now, ended_by: endedBy })
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return ended !== undefined;
}

/**
 * P11: the active partnership through which a partner manages a client's product (full access, or
 * restricted access that lists it); without `productId`, a full-access one only: an order's new
 * products are in no restricted grant yet [003]. Its `billing` says who pays.
 */
export async function partnershipCovering(db: Db, clientOrganizationId: string, productId?: string) {
  return db
    .selectFrom('partnerships')
    .select(['id', 'partner_organization_id', 'billing'])
    .where('client_organization_id', '=', clientOrganizationId)
    .where('ended_at', 'is', null)
    .where((eb) =>
      productId === undefined ? eb('access', '=', 'full') : eb.or([eb('access', '=', 'full'), eb(eb.val(productId), '=', eb.fn.any('product_ids'))]),
    )
    .executeTakeFirst();
}

/**
 * How many products of a type an organization pays for: its own and those of the clients billed to
 * it (not terminated). The volume that sets the degressive rate of a partner's price.
 */
export async function productsPaidBy(db: Db, organizationId: string, productType: string): Promise<number> {
  const row = await db
    .selectFrom('products as p')
    .leftJoin('partnerships as s', (j) =>
      j
        .onRef('s.client_organization_id', '=', 'p.organization_id')
        .on('s.partner_organization_id', '=', organizationId)
        .on('s.billing', '=', 'partner')
        .on('s.ended_at', 'is', null),
    )
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('p.product_type', '=', productType)
    .where('p.status', '!=', 'terminated')
    .where((eb) => eb.or([eb('p.organization_id', '=', organizationId), eb('s.id', 'is not', null)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Who pays a product's renewal and at what price for one term: the client at the public price, or
 * the partner it is billed to at the partner price (discount first, then the degressive rate) [003].
 */
export async function renewalBilling(db: Db, product: { id: string; organization_id: string; product_type: string; renewal_price_cents: number }) {
  const partnership = await partnershipCovering(db, product.organization_id, product.id);
  if (partnership?.billing !== 'partner')
    return { payerOrganizationId: product.organization_id, partnerBilled: false as const, termCents: product.renewal_price_cents };
  const payer = partnership.partner_organization_id;
  const degressive = degressiveBasisPoints(product.product_type, await productsPaidBy(db, payer, product.product_type));
  const { finalCents } = partnerPrice({ publicCents: product.renewal_price_cents, degressiveBasisPoints: degressive });
  return { payerOrganizationId: payer, partnerBilled: true as const, termCents: finalCents };
}

/** The organization billed for a product now: the partner its client is billed to, else the product's own. */
export async function billedOrganizationOf(db: Db, productId: string): Promise<string> {
  const product = await db.selectFrom('products').select('organization_id').where('id', '=', productId).executeTakeFirstOrThrow();
  const partnership = await partnershipCovering(db, product.organization_id, productId);
  return partnership?.billing === 'partner' ? partnership.partner_organization_id : product.organization_id;
}
