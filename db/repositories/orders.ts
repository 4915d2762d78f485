/**
 * P1 orders as the shop's checkout records them. An order paid from the prepaid account debits it
 * here, in the same transaction (the ledger refuses a negative balance), so the refund of a
 * cancelled order credits back exactly what was taken [001, 003].
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../database';
import type { Currency, PaymentMeans } from '../tables/orders.table';
import { audit } from './audit';

export class InsufficientPrepaidBalance extends Error {}

export interface PaidOrder {
  organizationId: string;
  accountId: string;
  currency: Currency;
  lines: { productType: string; description: string; quantity: number; unitPriceCents: number; termMonths?: number | null }[];
  payment: { means: PaymentMeans; status: 'captured' | 'in_progress'; reference: string | null; cardRef?: string };
  recordedBy: string;
  /** The checkout's Idempotency-Key and a digest of its request: one order per key. */
  idempotency?: { key: string; requestDigest: string };
  /**
   * P11: the client's partner, if any, and when the client is billed to it, the partner pays the
   * order's total at the partner price (api/services/orders.ts computes it).
   */
  partner?: { organizationId: string; billedTotalCents: number | null };
}

/** The order recorded under a checkout's Idempotency-Key, if any. */
export async function findOrderByIdempotencyKey(db: Db, key: string): Promise<{ id: string; request_digest: string | null } | undefined> {
  return db.selectFrom('orders').select(['id', 'request_digest']).where('idempotency_key', '=', key).executeTakeFirst();
}

/** Writes the order, its lines and its payment; call inside a transaction. */
export async function recordPaidOrder(trx: Db, order: PaidOrder): Promise<{ orderId: string; paymentId: string }> {
  const orderId = randomUUID();
  const paymentId = randomUUID();
  const billedByPartner = order.partner !== undefined && order.partner.billedTotalCents !== null;
  const total = billedByPartner ? order.partner!.billedTotalCents! : order.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
  const payer = billedByPartner ? order.partner!.organizationId : order.organizationId;
  await trx
    .insertInto('orders')
    .values({
      id: orderId,
      organization_id: order.organizationId,
      partner_organization_id: order.partner?.organizationId ?? null,
      billed_organization_id: billedByPartner ? payer : null,
      account_id: order.accountId,
      currency: order.currency,
      total_cents: total,
      block_reason: null,
      blocked_at: null,
      block_deadline: null,
      verification_case_id: null,
      fulfilled_at: null,
      cancelled_at: null,
      cancel_reason: null,
      idempotency_key: order.idempotency?.key ?? null,
      request_digest: order.idempotency?.requestDigest ?? null,
    })
    .execute();
  await trx
    .insertInto('order_lines')
    .values(
      order.lines.map((l) => ({
        id: randomUUID(),
        order_id: orderId,
        product_type: l.productType,
        description: l.description,
        quantity: l.quantity,
        unit_price_cents: l.unitPriceCents,
        // Issue 17: omitted, a line renews yearly; null, it is a one-off.
        term_months: l.termMonths === undefined ? 12 : l.termMonths,
      })),
    )
    .execute();
  await trx
    .insertInto('payments')
    .values({
      id: paymentId,
      order_id: orderId,
      means: order.payment.means,
      amount_cents: total,
      currency: order.currency,
      status: order.payment.status,
      provider_reference: order.payment.reference,
      card_ref: order.payment.cardRef ?? null,
    })
    .execute();
  if (order.payment.means === 'prepaid') {
    try {
      await trx
        .insertInto('prepaid_ledger_entries')
        .values({
          organization_id: payer,
          currency: order.currency,
          amount_cents: -total,
          reason: `order ${orderId}`,
          reference: `payment:${paymentId}`,
        })
        .execute();
    } catch (err) {
      if ((err as { code?: string }).code === '23514') throw new InsufficientPrepaidBalance();
      throw err;
    }
  }
  await audit(trx, {
    actor_type: 'system',
    actor_id: order.recordedBy,
    action: 'order.created',
    subject_type: 'order',
    subject_id: orderId,
    decision: null,
    details: {},
  });
  return { orderId, paymentId };
}

/** Re-sends of the blocked-order procedure since `since` (they are audited). */
export async function countRecentResends(db: Db, orderId: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('subject_type', '=', 'order')
    .where('subject_id', '=', orderId)
    .where('action', '=', 'order.block_procedure_resent')
    .where('at', '>', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The order as the API shows it: its lines (with the product each created), payments and refunds, and its case's status. */
export async function orderDetails(db: Db, orderId: string) {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
  const lines = await db
    .selectFrom('order_lines as l')
    .leftJoin('products as p', 'p.order_line_id', 'l.id')
    .select(['l.id', 'l.product_type', 'l.description', 'l.quantity', 'l.unit_price_cents', 'l.term_months', 'p.id as product_id'])
    .where('l.order_id', '=', orderId)
    .execute();
  const payments = await db
    .selectFrom('payments')
    .select(['id', 'means', 'amount_cents', 'status'])
    .where('order_id', '=', orderId)
    .orderBy('created_at')
    .execute();
  const refunds = await db.selectFrom('refunds').select(['destination', 'amount_cents', 'status']).where('order_id', '=', orderId).execute();
  const caseStatus = order.verification_case_id ? await verificationCaseStatus(db, order.verification_case_id) : undefined;
  return { order, lines, payments, refunds, caseStatus };
}

export async function findOrderHeader(db: Db, orderId: string) {
  return db.selectFrom('orders').select(['id', 'account_id', 'organization_id', 'status', 'verification_case_id']).where('id', '=', orderId).executeTakeFirst();
}

export async function verificationCaseStatus(db: Db, caseId: string) {
  return (await db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirst())?.status;
}

/** Blocks a paid order never blocked before; false otherwise. */
export async function markOrderBlocked(db: Db, orderId: string, b: { reason: string; now: Date; deadline: Date; caseId: string }): Promise<boolean> {
  const row = await db
    .updateTable('orders')
    .set({ status: 'blocked', block_reason: b.reason, blocked_at: b.now, block_deadline: b.deadline, verification_case_id: b.caseId })
    .where('id', '=', orderId)
    .where('status', '=', 'paid')
    .where('blocked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

/** Undoes markOrderBlocked when the process could not start. */
export async function unmarkOrderBlocked(db: Db, orderId: string): Promise<void> {
  await db
    .updateTable('orders')
    .set({ status: 'paid', block_reason: null, blocked_at: null, block_deadline: null, verification_case_id: null })
    .where('id', '=', orderId)
    .execute();
}
