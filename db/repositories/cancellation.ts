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

/** A request waiting for its emailed confirmation; false when one is pending already (unique index). */
export async function insertCancellationRequest(
  db: Db,
  r: { id: string; productId: string; requestedBy: string; now: Date; expiresAt: Date },
): Promise<boolean> {
  try {
    await db
      .insertInto('cancellation_requests')
      .values({
        id: r.id,
        product_id: r.productId,
        requested_by: r.requestedBy,
        token_hash: null,
        requested_at: r.now,
        expires_at: r.expiresAt,
        confirmed_at: null,
      })
      .execute();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return false;
    throw err;
  }
}

export async function deleteCancellationRequest(db: Db, id: string): Promise<void> {
  await db.deleteFrom('cancellation_requests').where('id', '=', id).execute();
}

/** The pending request a confirmation link names (any expiry: the caller compares). */
export async function pendingRequestByToken(db: Db, token: string) {
  return db
    .selectFrom('cancellation_requests')
    .select(['id', 'product_id', 'requested_by', 'expires_at'])
    .where('token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'pending')
    .executeTakeFirst();
}

/** A product as the API shows it, with the cancellation waiting for confirmation, if any. */
export async function productWithPendingCancellation(db: Db, productId: string) {
  const p = await db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirstOrThrow();
  const pending = await db
    .selectFrom('cancellation_requests')
    .select(['id', 'expires_at'])
    .where('product_id', '=', productId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return { p, pending };
}
