/**
 * P14 renewal data: a product's plan for its current term, renewal invoices (one line per product
 * and due date; products due the same day may share an invoice), and the payments that settle them.
 * Shared by the renewal activities and the payments API, so both apply money the same way.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { RenewalPlan } from '../../workflows/shared/renewal';
import { addMonths } from '../../workflows/shared/renewal';
import type { Db } from '../database';
import type { PaymentMeans } from '../tables/orders.table';
import type { BillingPreferencesTable } from '../tables/renewal.table';
import { billedOrganizationOf, renewalBilling } from './partnerships';

export type BillingPreferences = Omit<Selectable<BillingPreferencesTable>, 'organization_id' | 'updated_at'>;

export const DEFAULT_BILLING_PREFERENCES: BillingPreferences = {
  reminder_frequency: 'monthly',
  reminder_start_months: 2,
  auto_renewal_reminder: true,
  renewal_confirmation: true,
  invoice_issued: true,
  group_invoices: false,
};

export async function billingPreferences(db: Db, organizationId: string): Promise<BillingPreferences> {
  const row = await db.selectFrom('billing_preferences').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
  if (!row) return { ...DEFAULT_BILLING_PREFERENCES };
  const { organization_id: _o, updated_at: _u, ...prefs } = row;
  return prefs;
}

/** The invoice that bills the term ending at `dueAt`, with the product's line on it. */
export async function termInvoice(db: Db, productId: string, dueAt: Date) {
  return db
    .selectFrom('invoice_lines as l')
    .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
    .select(['i.id', 'i.status', 'i.total_cents', 'i.paid_cents', 'i.currency', 'i.reference', 'i.organization_id', 'l.terms', 'l.amount_cents as line_cents'])
    .where('l.product_id', '=', productId)
    .where('l.due_at', '=', dueAt)
    .executeTakeFirst();
}

export async function renewalPlan(db: Db, productId: string, dueAt: Date): Promise<RenewalPlan | undefined> {
  const p = await db
    .selectFrom('products')
    .select(['status', 'due_at', 'auto_renew', 'renewal_warranty', 'organization_id'])
    .where('id', '=', productId)
    .executeTakeFirst();
  if (!p) return undefined;
  const prefs = await billingPreferences(db, await billedOrganizationOf(db, productId));
  const invoice = await termInvoice(db, productId, dueAt);
  return {
    productStatus: p.status,
    dueAt: p.due_at?.toISOString() ?? null,
    autoRenew: p.auto_renew,
    warranty: p.renewal_warranty,
    reminders: { frequency: prefs.reminder_frequency, startMonths: prefs.reminder_start_months },
    invoice: invoice ? { id: invoice.id, status: invoice.status, totalCents: invoice.total_cents, paidCents: invoice.paid_cents } : null,
  };
}

/**
 * Issues (or finds) the invoice for a product's term. With grouping on, products of one organization
 * due the same day in the same currency share one invoice, as long as nothing has been paid on it.
 */
export async function issueRenewalInvoice(
  trx: Db,
  productId: string,
  dueAt: Date,
  issuedAt: Date,
): Promise<{ invoiceId: string; created: boolean } | undefined> {
  const product = await trx
    .selectFrom('products')
    .select(['id', 'name', 'organization_id', 'product_type', 'renewal_price_cents', 'currency', 'term_months', 'status', 'due_at'])
    .where('id', '=', productId)
    .forUpdate()
    .executeTakeFirst();
  if (!product || product.status === 'terminated' || !product.renewal_price_cents || !product.currency) return undefined;
  const existing = await termInvoice(trx, productId, dueAt);
  if (existing) return { invoiceId: existing.id, created: false };

  // P11: a product of a client billed to its partner is invoiced to the partner, at the partner price.
  const billing = await renewalBilling(trx, { ...product, renewal_price_cents: product.renewal_price_cents });
  const payer = billing.payerOrganizationId;
  const prefs = await billingPreferences(trx, payer);
  const day = dueAt.toISOString().slice(0, 10);
  let invoiceId: string | undefined;
  if (prefs.group_invoices) {
    const reference = `renewal:${payer}:${day}:${product.currency}`;
    await trx
      .insertInto('invoices')
      .values({
        id: randomUUID(),
        organization_id: payer,
        product_id: null,
        kind: 'renewal',
        currency: product.currency,
        total_cents: 0,
        reference,
        issued_at: issuedAt,
        due_at: dueAt,
      })
      .onConflict((oc) => oc.column('reference').doNothing())
      .execute();
    const group = await trx
      .selectFrom('invoices')
      .select(['id', 'status', 'paid_cents'])
      .where('reference', '=', reference)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (group.status === 'open' && group.paid_cents === 0) invoiceId = group.id;
  }
  if (!invoiceId) {
    invoiceId = randomUUID();
    await trx
      .insertInto('invoices')
      .values({
        id: invoiceId,
        organization_id: payer,
        product_id: product.id,
        kind: 'renewal',
        currency: product.currency,
        total_cents: 0,
        reference: `renewal:${product.id}:${day}`,
        issued_at: issuedAt,
        due_at: dueAt,
      })
      .execute();
  }
  const to = new Date(addMonths(dueAt.getTime(), product.term_months)).toISOString().slice(0, 10);
  await trx
    .insertInto('invoice_lines')
    .values({
      id: randomUUID(),
      invoice_id: invoiceId,
      product_id: product.id,
      due_at: dueAt,
      terms: 1,
      amount_cents: billing.termCents,
      description: `${product.name}: ${day} to ${to}`,
    })
    .execute();
  await refreshTotal(trx, invoiceId);
  return { invoiceId, created: true };
}

/** The total is the sum of the lines, recomputed under the invoice's row lock. */
export async function refreshTotal(trx: Db, invoiceId: string): Promise<void> {
  await sql`update invoices set total_cents = (select coalesce(sum(amount_cents), 0) from invoice_lines where invoice_id = ${invoiceId}) where id = ${invoiceId}`.execute(
    trx,
  );
}

export class PaymentRefused extends Error {
  constructor(readonly reason: 'invoice-not-open' | 'overpayment' | 'insufficient-prepaid-balance') {
    super(reason);
  }
}

/**
 * Records a payment already made elsewhere on an open invoice, at once, once per idempotency key
 * (money that needs no provider call: used by tests and imports; the API's payments are processes). A prepaid payment debits the
 * prepaid account (the ledger refuses a negative balance). Returns the payment, new or repeated.
 * Runs in the caller's transaction, which must also hold any provider charge's result.
 */
export async function recordInvoicePayment(
  trx: Db,
  p: { invoiceId: string; means: PaymentMeans; amountCents: number; idempotencyKey: string; providerReference: string | null; at: Date },
): Promise<{ paymentId: string; repeated: boolean; invoiceStatus: 'open' | 'paid' | 'void' }> {
  const earlier = await trx.selectFrom('payments').select(['id', 'invoice_id']).where('idempotency_key', '=', p.idempotencyKey).executeTakeFirst();
  const invoice = await trx
    .selectFrom('invoices')
    .select(['id', 'organization_id', 'currency', 'status', 'total_cents', 'paid_cents'])
    .where('id', '=', p.invoiceId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (earlier) return { paymentId: earlier.id, repeated: true, invoiceStatus: invoice.status };
  if (invoice.status !== 'open') throw new PaymentRefused('invoice-not-open');
  // Money reserved by payment processes still in flight is not due any more.
  const pending = await trx
    .selectFrom('payments')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('amount_cents'), sql<string>`0`).as('cents'))
    .where('invoice_id', '=', invoice.id)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  if (p.amountCents > invoice.total_cents - invoice.paid_cents - Number(pending.cents)) throw new PaymentRefused('overpayment');
  const paymentId = randomUUID();
  await trx
    .insertInto('payments')
    .values({
      id: paymentId,
      invoice_id: invoice.id,
      means: p.means,
      amount_cents: p.amountCents,
      currency: invoice.currency as 'CHF' | 'EUR',
      status: 'captured',
      provider_reference: p.providerReference,
      idempotency_key: p.idempotencyKey,
    })
    .execute();
  if (p.means === 'prepaid') {
    try {
      await trx
        .insertInto('prepaid_ledger_entries')
        .values({
          organization_id: invoice.organization_id,
          currency: invoice.currency as 'CHF' | 'EUR',
          amount_cents: -p.amountCents,
          reason: `invoice ${invoice.id}`,
          reference: `payment:${paymentId}`,
        })
        .execute();
    } catch (err) {
      if ((err as { code?: string }).code === '23514') throw new PaymentRefused('insufficient-prepaid-balance');
      throw err;
    }
  }
  const paid = invoice.paid_cents + p.amountCents;
  const status = paid === invoice.total_cents ? 'paid' : 'open';
  await trx
    .updateTable('invoices')
    .set({ paid_cents: paid, status, paid_at: status === 'paid' ? p.at : null })
    .where('id', '=', invoice.id)
    .execute();
  return { paymentId, repeated: false, invoiceStatus: status };
}

/** The organization's prepaid balance in a currency, in cents. */
export async function prepaidBalance(db: Db, organizationId: string, currency: string): Promise<number> {
  const row = await db
    .selectFrom('prepaid_ledger_entries')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('amount_cents'), sql<string>`0`).as('balance'))
    .where('organization_id', '=', organizationId)
    .where('currency', '=', currency as 'CHF' | 'EUR')
    .executeTakeFirstOrThrow();
  return Number(row.balance);
}

/** The product leaves an unpaid renewal invoice: its line goes, and what was paid for it returns to the prepaid account. */
export async function releaseTermInvoice(trx: Db, productId: string, due: Date, invoiceId: string): Promise<void> {
  const inv = await trx
    .selectFrom('invoices')
    .select(['id', 'organization_id', 'currency', 'paid_cents'])
    .where('id', '=', invoiceId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  await trx.deleteFrom('invoice_lines').where('product_id', '=', productId).where('due_at', '=', due).execute();
  const rest = await trx
    .selectFrom('invoice_lines')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('amount_cents'), eb.lit(0)).as('total'))
    .where('invoice_id', '=', invoiceId)
    .executeTakeFirstOrThrow();
  const total = Number(rest.total);
  const excess = Math.max(0, inv.paid_cents - total);
  if (excess > 0) {
    await trx
      .insertInto('prepaid_ledger_entries')
      .values({
        organization_id: inv.organization_id,
        currency: inv.currency as 'CHF' | 'EUR',
        amount_cents: excess,
        reason: `unused renewal payment, invoice ${inv.id}`,
        reference: `release:${inv.id}:${productId}`,
      })
      .onConflict((oc) => oc.column('reference').doNothing())
      .execute();
  }
  const paid = inv.paid_cents - excess;
  await trx
    .updateTable('invoices')
    .set({ total_cents: total, paid_cents: paid, status: total === 0 ? 'void' : paid === total ? 'paid' : 'open' })
    .where('id', '=', invoiceId)
    .execute();
}

export async function setProductRenewalOption(db: Db, productId: string, option: { auto_renew: boolean } | { renewal_warranty: boolean }): Promise<void> {
  await db.updateTable('products').set(option).where('id', '=', productId).execute();
}

export async function savedCardOf(db: Db, organizationId: string): Promise<string | null> {
  return (await db.selectFrom('organizations').select('payment_card_ref').where('id', '=', organizationId).executeTakeFirstOrThrow()).payment_card_ref;
}

export async function saveBillingPreferences(db: Db, organizationId: string, values: BillingPreferences & { updated_at: Date }): Promise<void> {
  await db
    .insertInto('billing_preferences')
    .values({ organization_id: organizationId, ...values })
    .onConflict((oc) => oc.column('organization_id').doUpdateSet(values))
    .execute();
}

/** The organization's products that renew (a due date, not terminated). */
export async function renewingProductIds(db: Db, organizationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('products')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('due_at', 'is not', null)
    .where('status', '!=', 'terminated')
    .execute();
  return rows.map((r) => r.id);
}
