/**
 * P12 cancellation requests, read for the confirmation page: what a still-usable link would end
 * (the product, its backups) and what stays due (open fees, open invoices). Reads only: a GET of
 * the page must change nothing, since mail scanners open links.
 */
import type { Db } from '../database';
import { hashLinkToken } from './verification';

export async function pendingCancellationByToken(db: Db, token: string, now: Date) {
  const request = await db
    .selectFrom('cancellation_requests as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .select(['r.id', 'r.product_id', 'r.expires_at', 'p.name', 'p.product_type', 'p.status'])
    .where('r.token_hash', '=', hashLinkToken(token))
    .where('r.status', '=', 'pending')
    .where('r.expires_at', '>', now)
    .executeTakeFirst();
  if (!request) return undefined;
  const [backups, fees, invoices] = await Promise.all([
    db
      .selectFrom('product_backups')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('product_id', '=', request.product_id)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('product_fees')
      .select(['description', 'amount_cents', 'currency'])
      .where('product_id', '=', request.product_id)
      .where('invoice_id', 'is', null)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('invoices')
      .select(['reference', 'total_cents', 'paid_cents', 'currency'])
      .where('product_id', '=', request.product_id)
      .where('status', '=', 'open')
      .orderBy('issued_at')
      .execute(),
  ]);
  return { ...request, backups: Number(backups.n), fees, invoices };
}
