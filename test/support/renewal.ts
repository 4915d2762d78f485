import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { recordInvoicePayment, termInvoice } from '../../db/repositories/renewal';
import type { PaymentMeans } from '../../db/tables/orders.table';
import { renewalChangedSignal, renewalWorkflowId } from '../../workflows/shared/renewal';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** Polls until `check` stops throwing (activities run in real time after a skipped timer fires). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The renewal steps that produced email for a product, as `kind@ISO time`, in order, once each. */
export async function stepsMailed(db: Kysely<Database>, productId: string): Promise<string[]> {
  const rows = await db.selectFrom('notification_outbox').select('key').where('key', 'like', `renewal:${productId}:%`).execute();
  const steps = new Set<string>();
  for (const { key } of rows) {
    const m = /^renewal:[^:]+:\d{4}-\d{2}-\d{2}:([a-z-]+):(\d{4}-\d{2}-\d{2}T[\d:.]+Z):/.exec(key);
    if (m) steps.add(`${m[1]}@${m[2]}`);
  }
  return [...steps].sort((a, b) => a.split('@')[1]!.localeCompare(b.split('@')[1]!) || a.localeCompare(b));
}

export const at = (kind: string, ms: number) => `${kind}@${new Date(ms).toISOString()}`;

/** What POST /v1/products/:id/payments does for an invoice, without the HTTP: record, then tell the process. */
export async function payTerm(
  db: Kysely<Database>,
  client: Client | null,
  productId: string,
  dueAt: Date,
  opts: { means?: PaymentMeans; amountCents?: number; key?: string } = {},
) {
  const invoice = await termInvoice(db, productId, dueAt);
  if (!invoice) throw new Error('no invoice issued for this term yet');
  const result = await db.transaction().execute((trx) =>
    recordInvoicePayment(trx, {
      invoiceId: invoice.id,
      means: opts.means ?? 'iban_transfer',
      amountCents: opts.amountCents ?? invoice.total_cents - invoice.paid_cents,
      idempotencyKey: opts.key ?? `test:${productId}:${dueAt.toISOString()}:${opts.amountCents ?? 'rest'}`,
      providerReference: null,
      at: new Date(),
    }),
  );
  if (client) await client.workflow.getHandle(renewalWorkflowId(productId)).signal(renewalChangedSignal);
  return result;
}
