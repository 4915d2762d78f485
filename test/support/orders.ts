import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { recordPaidOrder } from '../../db/repositories/orders';
import type { PaymentMeans } from '../../db/tables/orders.table';
import { BLOCKED_ORDER_AUTO_CANCEL_MS } from '../../lib/rules';
import type { seedOrganization } from './fixtures';

/** A paid order of two lines (CHF 120.00) for the legal representative, paid by `means`, as POST /v1/orders records it. */
export async function insertPaidOrder(
  db: Kysely<Database>,
  seed: Awaited<ReturnType<typeof seedOrganization>>,
  payment: { means: PaymentMeans; status?: 'captured' | 'in_progress' } = { means: 'card' },
  /** P11: the client's partner, earning the cashback (the client pays). */
  partnerOrganizationId?: string,
) {
  const { orderId, paymentId } = await db.transaction().execute((trx) =>
    recordPaidOrder(trx, {
      organizationId: seed.org.id,
      accountId: seed.legalRep.id,
      currency: 'CHF',
      lines: [
        { productType: 'domain', description: 'shop.example', quantity: 1, unitPriceCents: 2_000 },
        { productType: 'web_hosting', description: 'Web hosting', quantity: 1, unitPriceCents: 10_000 },
      ],
      payment: { means: payment.means, status: payment.status ?? 'captured', reference: `pay_${randomUUID().slice(0, 8)}` },
      recordedBy: 'test-checkout',
      ...(partnerOrganizationId ? { partner: { organizationId: partnerOrganizationId, billedTotalCents: null } } : {}),
    }),
  );
  return { orderId, paymentId };
}

/** What POST /v1/orders/:id/block writes before it starts the process. */
export async function markBlocked(db: Kysely<Database>, orderId: string, caseId: string) {
  const now = new Date();
  await db
    .updateTable('orders')
    .set({
      status: 'blocked',
      block_reason: 'suspected phishing',
      blocked_at: now,
      block_deadline: new Date(now.getTime() + BLOCKED_ORDER_AUTO_CANCEL_MS),
      verification_case_id: caseId,
    })
    .where('id', '=', orderId)
    .execute();
}

/** An active product of the organization with an open fee, an out-of-plan fee and two backups. */
export async function insertProduct(db: Kysely<Database>, seed: Awaited<ReturnType<typeof seedOrganization>>, opts: { bundledIn?: 'ksuite' } = {}) {
  const id = randomUUID();
  await db
    .insertInto('products')
    .values({
      id,
      organization_id: seed.org.id,
      order_line_id: null,
      product_type: 'web_hosting',
      name: `Hosting ${id.slice(0, 6)}`,
      bundled_in: opts.bundledIn ?? null,
    })
    .execute();
  await db
    .insertInto('product_fees')
    .values([
      { id: randomUUID(), product_id: id, description: 'Monthly plan, November', amount_cents: 990, currency: 'CHF', invoice_id: null },
      { id: randomUUID(), product_id: id, description: 'Extra storage (out of plan)', amount_cents: 450, currency: 'CHF', out_of_plan: true, invoice_id: null },
    ])
    .execute();
  await db
    .insertInto('product_backups')
    .values([1, 2].map((n) => ({ id: randomUUID(), product_id: id, taken_at: new Date(Date.now() - n * 86_400_000), size_bytes: 1_000_000 * n })))
    .execute();
  return { productId: id };
}

/** What POST /v1/products/:id/cancellation-requests writes before it starts the process. */
export async function insertCancellationRequest(db: Kysely<Database>, productId: string, requestedBy: string) {
  const id = randomUUID();
  const now = new Date();
  await db
    .insertInto('cancellation_requests')
    .values({
      id,
      product_id: productId,
      requested_by: requestedBy,
      token_hash: null,
      requested_at: now,
      expires_at: new Date(now.getTime() + 14 * 86_400_000),
      confirmed_at: null,
    })
    .execute();
  return id;
}

/** A product that renews: due at `dueAt`, with the options a test needs; its organization gets a saved card. */
export async function insertRenewableProduct(
  db: Kysely<Database>,
  seed: Awaited<ReturnType<typeof seedOrganization>>,
  opts: { dueAt: Date; termMonths?: number; priceCents?: number; autoRenew?: boolean; warranty?: boolean; maxTermsAhead?: number; productType?: string },
) {
  const id = randomUUID();
  const cardRef = `card_${seed.org.id}`;
  await db.updateTable('organizations').set({ payment_card_ref: cardRef }).where('id', '=', seed.org.id).execute();
  await db
    .insertInto('products')
    .values({
      id,
      organization_id: seed.org.id,
      order_line_id: null,
      product_type: opts.productType ?? 'web_hosting',
      name: `Hosting ${id.slice(0, 6)}`,
      due_at: opts.dueAt,
      term_months: opts.termMonths ?? 12,
      renewal_price_cents: opts.priceCents ?? 12_000,
      currency: 'CHF',
      auto_renew: opts.autoRenew ?? false,
      renewal_warranty: opts.warranty ?? false,
      max_terms_ahead: opts.maxTermsAhead ?? 1,
    })
    .execute();
  return { productId: id, cardRef };
}
