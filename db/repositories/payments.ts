/**
 * Payments as rows that move through a process (issue 13): reserved (`pending`) under the
 * invoice's lock, then captured, declined, voided or refunded. Every write that decides money
 * locks the product, then the invoice, then the payment, in that order, so the automatic-renewal
 * charge, customer payments and the system's records serialize on the same lock.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { PaymentInput, PaymentRefusal, PaymentRequest, PaymentReservation } from '../../workflows/shared/payment';
import { chargeKey, refundKey } from '../../workflows/shared/payment';
import type { Database, Db } from '../database';
import type { PaymentsTable } from '../tables/orders.table';
import { audit } from './audit';
import { issueRenewalInvoice, refreshTotal, termInvoice } from './renewal';

type Payment = Selectable<PaymentsTable>;

class Refused extends Error {
  constructor(
    readonly reason: PaymentRefusal,
    readonly detail: string,
  ) {
    super(reason);
  }
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Money reserved on an invoice by payments not settled yet. */
async function pendingCents(trx: Db, invoiceId: string): Promise<number> {
  const row = await trx
    .selectFrom('payments')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('amount_cents'), sql<string>`0`).as('cents'))
    .where('invoice_id', '=', invoiceId)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(row.cents);
}

const lockInvoice = (trx: Db, invoiceId: string) =>
  trx
    .selectFrom('invoices')
    .select(['id', 'organization_id', 'currency', 'status', 'total_cents', 'paid_cents'])
    .where('id', '=', invoiceId)
    .forUpdate()
    .executeTakeFirstOrThrow();

const reserved = (p: Pick<Payment, 'id' | 'invoice_id' | 'amount_cents' | 'currency' | 'means'>): PaymentReservation => ({
  status: 'reserved',
  paymentId: p.id,
  invoiceId: p.invoice_id!,
  amountCents: p.amount_cents,
  currency: p.currency,
  means: p.means,
});

/** The same business key already reserved: the same answer for the same process, a refusal for another. */
async function earlierReservation(trx: Db, paymentId: string, businessKey: string): Promise<PaymentReservation | undefined> {
  const earlier = await trx.selectFrom('payments').selectAll().where('idempotency_key', '=', businessKey).executeTakeFirst();
  if (!earlier) return undefined;
  if (earlier.id !== paymentId) throw new Refused('duplicate', 'This payment is already being processed');
  return reserved(earlier);
}

/**
 * Step 1: a `pending` row under the invoice's lock, or a refusal that leaves nothing behind. A
 * prepaid payment debits the prepaid account here (the ledger refuses a negative balance).
 */
export async function reservePayment(db: Kysely<Database>, { paymentId, request }: PaymentInput, now: Date): Promise<PaymentReservation> {
  try {
    return await db
      .transaction()
      .execute((trx) => (request.kind === 'invoice' ? reserveForInvoice(trx, paymentId, request, now) : reserveRenewalCharge(trx, paymentId, request, now)));
  } catch (err) {
    if (err instanceof Refused) return { status: 'refused', reason: err.reason, detail: err.detail };
    if ((err as { code?: string }).code === '23514')
      return { status: 'refused', reason: 'insufficient-prepaid-balance', detail: 'The prepaid balance does not cover this amount' };
    throw err;
  }
}

async function reserveForInvoice(trx: Db, paymentId: string, r: Extract<PaymentRequest, { kind: 'invoice' }>, now: Date): Promise<PaymentReservation> {
  const earlier = await earlierReservation(trx, paymentId, r.businessKey);
  if (earlier) return earlier;
  const product = await trx
    .selectFrom('products')
    .select(['id', 'organization_id', 'status', 'due_at', 'max_terms_ahead', 'renewal_price_cents'])
    .where('id', '=', r.productId)
    .forUpdate()
    .executeTakeFirst();
  if (!product) throw new Refused('not-found', 'No such product');
  if (!product.due_at || product.status === 'terminated') throw new Refused('not-renewable', 'This product does not renew');
  // Bound to the term it was asked for (issue 20): run late, or retried after a deadlock, once that
  // term is paid and renewed it must not pay the next term's invoice.
  if (r.dueAt !== undefined && product.due_at.getTime() !== Date.parse(r.dueAt))
    throw new Refused('nothing-due', `The term due on ${day(new Date(r.dueAt))} this payment was made for is already paid`);
  const due = product.due_at;
  // Paying before the invoice was issued (early, or for several terms) issues it now.
  await issueRenewalInvoice(trx, product.id, due, now);
  let inv = await termInvoice(trx, product.id, due);
  if (!inv) throw new Refused('not-renewable', 'This product has no renewal price');
  let invoice = await lockInvoice(trx, inv.id);
  let pending = await pendingCents(trx, invoice.id);
  if (r.terms && r.terms !== inv.terms) {
    if (r.terms > product.max_terms_ahead) throw new Refused('terms-not-allowed', `This product renews for at most ${product.max_terms_ahead} term(s) at once`);
    const lines = await trx.selectFrom('invoice_lines').select('id').where('invoice_id', '=', invoice.id).execute();
    if (invoice.paid_cents > 0 || pending > 0 || lines.length > 1 || invoice.status !== 'open') {
      throw new Refused('terms-locked', 'The number of terms can change only before anything is paid on a single-product invoice');
    }
    await trx
      .updateTable('invoice_lines')
      .set({ terms: r.terms, amount_cents: (inv.line_cents / inv.terms) * r.terms }) // one term's price as invoiced (a partner's is lower)
      .where('product_id', '=', product.id)
      .where('due_at', '=', due)
      .execute();
    await refreshTotal(trx, invoice.id);
    inv = (await termInvoice(trx, product.id, due))!;
    invoice = await lockInvoice(trx, inv.id);
  }
  if (invoice.status !== 'open')
    throw new Refused('nothing-due', `The term due on ${day(due)} is ${invoice.status === 'paid' ? 'already paid' : 'not billed'}`);
  const outstanding = invoice.total_cents - invoice.paid_cents - pending;
  if (outstanding <= 0)
    throw new Refused('nothing-due', pending > 0 ? 'A payment of what is due is being processed' : `The term due on ${day(due)} is already paid`);
  const amount = r.amountCents ?? outstanding;
  if (amount > outstanding) throw new Refused('overpayment', `At most ${outstanding} cents are due${pending > 0 ? ` (${pending} are being paid)` : ''}`);
  let cardRef: string | null = null;
  if (r.means === 'card') {
    // The payer's card: the partner's when its client is billed to it (P11).
    const org = await trx.selectFrom('organizations').select('payment_card_ref').where('id', '=', invoice.organization_id).executeTakeFirstOrThrow();
    cardRef = r.cardToken ?? org.payment_card_ref;
    if (!cardRef) throw new Refused('no-saved-card', 'Send a cardToken or save a card first');
  }
  return insertReservation(trx, {
    paymentId,
    invoice,
    means: r.means,
    amount,
    cardRef,
    businessKey: r.businessKey,
    requestedBy: r.requestedBy,
    productId: product.id,
    providerReference: r.providerReference ?? null,
  });
}

async function reserveRenewalCharge(
  trx: Db,
  paymentId: string,
  r: Extract<PaymentRequest, { kind: 'renewal-charge' }>,
  now: Date,
): Promise<PaymentReservation> {
  const due = new Date(r.dueAt);
  const product = await trx
    .selectFrom('products')
    .select(['id', 'organization_id', 'status', 'due_at', 'auto_renew'])
    .where('id', '=', r.productId)
    .forUpdate()
    .executeTakeFirst();
  if (!product) throw new Refused('not-found', 'No such product');
  if (product.status === 'terminated' || product.due_at?.getTime() !== due.getTime()) throw new Refused('not-renewable', 'The term is over');
  if (!product.auto_renew) throw new Refused('auto-renewal-off', 'Automatic renewal was switched off');
  await issueRenewalInvoice(trx, product.id, due, now);
  const inv = await termInvoice(trx, product.id, due);
  if (!inv) throw new Refused('not-renewable', 'This product has no renewal price');
  const invoice = await lockInvoice(trx, inv.id);
  if (invoice.status !== 'open') throw new Refused('nothing-due', 'The invoice is already paid');
  // One automatic charge per invoice and attempt, whichever product's process asks first.
  const businessKey = `renewal-charge:${invoice.id}:${r.attempt}`;
  const earlier = await earlierReservation(trx, paymentId, businessKey);
  if (earlier) return earlier;
  const outstanding = invoice.total_cents - invoice.paid_cents - (await pendingCents(trx, invoice.id));
  if (outstanding <= 0) throw new Refused('nothing-due', 'What is due is paid or being paid');
  const org = await trx.selectFrom('organizations').select('payment_card_ref').where('id', '=', invoice.organization_id).executeTakeFirstOrThrow();
  if (!org.payment_card_ref) throw new Refused('no-saved-card', 'no saved card');
  return insertReservation(trx, {
    paymentId,
    invoice,
    means: 'card',
    amount: outstanding,
    cardRef: org.payment_card_ref,
    businessKey,
    requestedBy: `renewal:${product.id}`,
    productId: product.id,
    providerReference: null,
  });
}

async function insertReservation(
  trx: Db,
  p: {
    paymentId: string;
    invoice: { id: string; organization_id: string; currency: string };
    means: Payment['means'];
    amount: number;
    cardRef: string | null;
    businessKey: string;
    requestedBy: string;
    productId: string;
    providerReference: string | null;
  },
): Promise<PaymentReservation> {
  const currency = p.invoice.currency as 'CHF' | 'EUR';
  await trx
    .insertInto('payments')
    .values({
      id: p.paymentId,
      invoice_id: p.invoice.id,
      means: p.means,
      amount_cents: p.amount,
      currency,
      status: 'pending',
      provider_reference: p.providerReference,
      idempotency_key: p.businessKey,
      card_ref: p.cardRef,
      requested_by: p.requestedBy,
      product_id: p.productId,
    })
    .execute();
  if (p.means === 'prepaid') {
    await trx
      .insertInto('prepaid_ledger_entries')
      .values({
        organization_id: p.invoice.organization_id,
        currency,
        amount_cents: -p.amount,
        reason: `invoice ${p.invoice.id}`,
        reference: `payment:${p.paymentId}`,
      })
      .execute();
  }
  return reserved({ id: p.paymentId, invoice_id: p.invoice.id, amount_cents: p.amount, currency, means: p.means });
}

export const findPayment = (db: Db, paymentId: string) => db.selectFrom('payments').selectAll().where('id', '=', paymentId).executeTakeFirst();

/** Step 2's record: the provider's charge id on the reservation, so the books know it was charged. */
export async function recordCharge(db: Db, paymentId: string, chargeId: string): Promise<void> {
  await db.updateTable('payments').set({ provider_reference: chargeId }).where('id', '=', paymentId).where('status', '=', 'pending').execute();
}

/**
 * Step 3: applies the reservation to its invoice under the invoice's lock, or says why not (the
 * invoice was closed or paid meanwhile). A card that pays a customer's renewal in full is saved
 * and switches automatic renewal on [001].
 */
export async function settlePayment(
  db: Kysely<Database>,
  paymentId: string,
  now: Date,
): Promise<{ status: 'captured' } | { status: 'refused'; reason: string }> {
  return db.transaction().execute(async (trx) => {
    const first = await findPayment(trx, paymentId);
    if (!first?.invoice_id) throw new Error(`payment ${paymentId} not found`);
    const invoice = await lockInvoice(trx, first.invoice_id);
    const p = (await trx.selectFrom('payments').selectAll().where('id', '=', paymentId).forUpdate().executeTakeFirstOrThrow()) as Payment;
    if (p.status === 'captured') return { status: 'captured' as const };
    if (p.status !== 'pending') return { status: 'refused' as const, reason: p.failure_reason ?? p.status };
    let reason: string | null = null;
    if (invoice.status !== 'open') reason = invoice.status === 'paid' ? 'the invoice was paid meanwhile' : 'the invoice was closed meanwhile';
    else if (p.amount_cents > invoice.total_cents - invoice.paid_cents) reason = 'more than is due now';
    if (reason) {
      await trx.updateTable('payments').set({ failure_reason: reason }).where('id', '=', paymentId).execute();
      return { status: 'refused' as const, reason };
    }
    const paid = invoice.paid_cents + p.amount_cents;
    const status = paid === invoice.total_cents ? 'paid' : 'open';
    await trx.updateTable('payments').set({ status: 'captured', settled_at: now }).where('id', '=', paymentId).execute();
    await trx
      .updateTable('invoices')
      .set({ paid_cents: paid, status, paid_at: status === 'paid' ? now : null })
      .where('id', '=', invoice.id)
      .execute();
    if (p.means === 'card' && p.card_ref && p.product_id && status === 'paid' && p.requested_by?.startsWith('customer:')) {
      await trx
        .updateTable('organizations')
        .set({ payment_card_ref: p.card_ref })
        .where('id', '=', invoice.organization_id)
        .where('payment_card_ref', 'is', null)
        .execute();
      await trx.updateTable('products').set({ auto_renew: true }).where('id', '=', p.product_id).execute();
    }
    const [actorType, actorId] = splitActor(p.requested_by);
    await audit(trx, {
      actor_type: actorType,
      actor_id: actorId,
      action: 'renewal.payment_recorded',
      subject_type: 'product',
      subject_id: p.product_id ?? invoice.id,
      decision: null,
      details: { invoiceId: invoice.id, means: p.means, amountCents: p.amount_cents, paymentId },
    });
    return { status: 'captured' as const };
  });
}

function splitActor(requestedBy: string | null): ['customer' | 'system', string] {
  const [kind, id] = (requestedBy ?? 'system:unknown').split(':', 2) as [string, string];
  return kind === 'customer' ? ['customer', id] : ['system', kind === 'renewal' ? 'renewal' : id];
}

/** A reservation that took no money (declined, or given up before the charge) is released. */
export async function releasePayment(db: Kysely<Database>, paymentId: string, status: 'declined' | 'voided', reason: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const p = await trx.selectFrom('payments').selectAll().where('id', '=', paymentId).forUpdate().executeTakeFirst();
    if (!p || p.status !== 'pending') return;
    await trx.updateTable('payments').set({ status, failure_reason: reason }).where('id', '=', paymentId).execute();
    if (p.means === 'prepaid') await creditPrepaid(trx, p, `release:${paymentId}`, `released payment ${paymentId}`);
  });
}

async function creditPrepaid(trx: Db, p: Payment, reference: string, reason: string): Promise<void> {
  const invoice = await trx.selectFrom('invoices').select('organization_id').where('id', '=', p.invoice_id!).executeTakeFirstOrThrow();
  await trx
    .insertInto('prepaid_ledger_entries')
    .values({ organization_id: invoice.organization_id, currency: p.currency, amount_cents: p.amount_cents, reason, reference })
    .onConflict((oc) => oc.column('reference').doNothing())
    .execute();
}

/**
 * The refund of a payment refused after it took the money: to the card at the provider, or to the
 * prepaid account for prepaid money and confirmed external payments. Returns what the provider
 * must be asked, if anything; `completeRefund` records the outcome.
 */
export async function openRefund(db: Kysely<Database>, paymentId: string, reason: string) {
  const p = await findPayment(db, paymentId);
  if (!p?.invoice_id) throw new Error(`payment ${paymentId} not found`);
  // Nothing was taken: a declined or voided reservation, or one never charged.
  if (p.status === 'declined' || p.status === 'voided' || p.status === 'captured') return null;
  if (p.means === 'card' && !p.provider_reference) {
    await releasePayment(db, paymentId, 'voided', reason);
    return null;
  }
  const destination = p.means === 'card' ? ('original_means' as const) : ('prepaid_account' as const);
  await db
    .insertInto('refunds')
    .values({
      id: randomUUID(),
      payment_id: p.id,
      invoice_id: p.invoice_id,
      idempotency_key: refundKey(p.id),
      destination,
      amount_cents: p.amount_cents,
      currency: p.currency,
      provider_refund_id: null,
      succeeded_at: null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
  const refund = await db.selectFrom('refunds').selectAll().where('idempotency_key', '=', refundKey(p.id)).executeTakeFirstOrThrow();
  return { payment: p, refund };
}

export async function completeRefund(db: Kysely<Database>, paymentId: string, providerRefundId: string | null, reason: string, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const p = await trx.selectFrom('payments').selectAll().where('id', '=', paymentId).forUpdate().executeTakeFirstOrThrow();
    const refund = await trx.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).executeTakeFirstOrThrow();
    if (refund.status === 'succeeded') return;
    if (refund.destination === 'prepaid_account') await creditPrepaid(trx, p, refundKey(paymentId), `refund of payment ${paymentId}`);
    await trx
      .updateTable('refunds')
      .set({ status: 'succeeded', provider_refund_id: providerRefundId, succeeded_at: now })
      .where('id', '=', refund.id)
      .execute();
    await trx
      .updateTable('payments')
      .set({ status: 'refunded', failure_reason: p.failure_reason ?? reason })
      .where('id', '=', paymentId)
      .execute();
    await audit(trx, {
      actor_type: 'system',
      actor_id: 'payment',
      action: 'payment.refunded',
      subject_type: 'invoice',
      subject_id: p.invoice_id!,
      decision: null,
      details: { paymentId, destination: refund.destination, amountCents: refund.amount_cents, reason },
    });
  });
}

export interface Reconciliation {
  subject: 'invoice' | 'order';
  id: string;
  currency: string;
  /** Charges minus refunds executed by the provider under this subject's payment keys. */
  providerCents: number;
  /** Card payments taken minus refunds to the card, in the books. */
  booksCents: number;
  /** Payments still reserved: money may be at the provider before the books settle it. */
  inFlight: number;
}

/**
 * Money at the provider against money in the books, per invoice and order. Orders' charges are
 * made by the shop's checkout, outside this system: for them only the refunds are ours to compare.
 * Card payments recorded before payments became processes (no `requested_by`) have no provider row.
 */
export async function reconcile(db: Db): Promise<Reconciliation[]> {
  const rows = await sql<{ subject: 'invoice' | 'order'; id: string; currency: string; provider_cents: string; books_cents: string; in_flight: string }>`
    with pay as (
      select p.*, case when p.invoice_id is not null then 'invoice' else 'order' end as subject, coalesce(p.invoice_id, p.order_id) as subject_id
      from payments p
      where (p.invoice_id is not null and p.means = 'card' and p.requested_by is not null)
         or (p.order_id is not null and p.means <> 'prepaid')
    ),
    provider as (
      select pay.subject, pay.subject_id,
        coalesce(sum(case when o.kind = 'charge' and o.outcome = 'charged' then o.amount_cents when o.kind = 'refund' then -o.amount_cents else 0 end), 0) as cents
      from pay join local_provider_operations o
        on (o.kind = 'charge' and o.idempotency_key = ${chargeKey('')} || pay.id::text) or (o.kind = 'refund' and o.idempotency_key = ${refundKey('')} || pay.id::text)
      group by pay.subject, pay.subject_id
    ),
    books as (
      select pay.subject, pay.subject_id, min(pay.currency) as currency,
        sum(case when pay.subject = 'invoice' and pay.status in ('captured', 'refunded') then pay.amount_cents else 0 end)
          - coalesce(sum((select r.amount_cents from refunds r where r.payment_id = pay.id and r.destination = 'original_means' and r.status = 'succeeded')), 0) as cents,
        count(*) filter (where pay.status = 'pending') as in_flight
      from pay group by pay.subject, pay.subject_id
    )
    select books.subject, books.subject_id as id, books.currency, coalesce(provider.cents, 0) as provider_cents, books.cents as books_cents, books.in_flight
    from books left join provider on provider.subject = books.subject and provider.subject_id = books.subject_id
    order by books.subject, books.subject_id`.execute(db);
  return rows.rows.map((r) => ({
    subject: r.subject,
    id: r.id,
    currency: r.currency,
    providerCents: Number(r.provider_cents),
    booksCents: Number(r.books_cents),
    inFlight: Number(r.in_flight),
  }));
}

/**
 * The local payment provider's ledger as /dev/payments shows it: its newest operations, the calls
 * that reached it by kind and result, and the reconciliation with the books.
 */
export async function localProviderLedger(db: Kysely<Database>) {
  const operations = await db.selectFrom('local_provider_operations').selectAll().orderBy('created_at', 'desc').limit(500).execute();
  const calls = await db
    .selectFrom('local_provider_calls')
    .select(['kind', 'result', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy(['kind', 'result'])
    .orderBy('kind')
    .orderBy('result')
    .execute();
  const books = await reconcile(db);
  return { operations, calls: calls.map((c) => ({ kind: c.kind, result: c.result, count: Number(c.n) })), books };
}
