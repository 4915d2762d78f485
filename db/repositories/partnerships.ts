import type { Db } from '../database';

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
