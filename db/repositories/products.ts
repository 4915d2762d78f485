/**
 * Products as fulfilled orders create them (P1, P14). A line with a term becomes a product that
 * renews: due one term after fulfilment, at the line's price, in the order's currency; the card that
 * paid the order, if any, pays its renewals: automatic renewal on, and the organization keeps the
 * card when it has none [001]. The renewal sweep finds it (db/repositories/renewalRuns.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../database';
import type { Currency } from '../tables/orders.table';
import { addMonths } from '../../workflows/shared/renewal';

/** One product per order line (idempotent per line); returns the ids created now. Call inside the order's transaction. */
export async function createProductsOfOrder(
  trx: Db,
  order: { id: string; organization_id: string; currency: Currency; billed_organization_id?: string | null },
  now: Date,
): Promise<string[]> {
  const lines = await trx.selectFrom('order_lines').selectAll().where('order_id', '=', order.id).orderBy('id').execute();
  const card = await trx
    .selectFrom('payments')
    .select('card_ref')
    .where('order_id', '=', order.id)
    .where('means', '=', 'card')
    .where('status', '=', 'captured')
    .where('card_ref', 'is not', null)
    .orderBy('created_at')
    .executeTakeFirst();
  const created: string[] = [];
  for (const line of lines) {
    const renews = line.term_months !== null;
    const row = await trx
      .insertInto('products')
      .values({
        id: randomUUID(),
        organization_id: order.organization_id,
        order_line_id: line.id,
        product_type: line.product_type,
        name: line.description,
        term_months: line.term_months ?? 12,
        due_at: renews ? new Date(addMonths(now.getTime(), line.term_months!)) : null,
        renewal_price_cents: renews ? line.quantity * line.unit_price_cents : null,
        currency: renews ? order.currency : null,
        auto_renew: renews && card !== undefined,
      })
      .onConflict((oc) => oc.column('order_line_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) created.push(row.id);
  }
  if (card?.card_ref) {
    await trx
      .updateTable('organizations')
      .set({ payment_card_ref: card.card_ref })
      // The payer keeps its card: the partner's when it was billed for its client's order (P11).
      .where('id', '=', order.billed_organization_id ?? order.organization_id)
      .where('payment_card_ref', 'is', null)
      .execute();
  }
  return created;
}

export async function findProduct(db: Db, id: string) {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The account's membership in the product's organization, with its product restriction (null: all products). */
export async function membershipForProduct(db: Db, productId: string, accountId: string) {
  return db
    .selectFrom('products as p')
    .innerJoin('memberships as m', 'm.organization_id', 'p.organization_id')
    .select(['m.role', 'm.product_ids'])
    .where('p.id', '=', productId)
    .where('m.account_id', '=', accountId)
    .executeTakeFirst();
}
