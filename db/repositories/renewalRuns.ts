/**
 * Issue 20, item 2: which products have a renewal process PostgreSQL knows to be running. The sweep
 * asks for the renewable products without one; a run that ends releases its product.
 */
import type { Db } from '../database';

/** Renewable products (a due date, not terminated) after `afterId` in id order; `missingOnly` skips those with a known run. */
export async function renewableProductsPage(
  db: Db,
  { afterId, limit, organizationId, missingOnly }: { afterId: string | null; limit: number; organizationId: string | null; missingOnly: boolean },
) {
  let query = db
    .selectFrom('products as p')
    .select(['p.id', 'p.due_at'])
    .where('p.due_at', 'is not', null)
    .where('p.status', 'in', ['active', 'suspended'])
    .orderBy('p.id')
    .limit(limit);
  if (missingOnly)
    query = query.where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('renewal_runs as r').select('r.product_id').whereRef('r.product_id', '=', 'p.id'))),
    );
  if (afterId) query = query.where('p.id', '>', afterId);
  if (organizationId) query = query.where('p.organization_id', '=', organizationId);
  return query.execute();
}

/** Recorded before the start, so that the run's own release (which may come at once) follows it. */
export async function recordRenewalRun(db: Db, productId: string, at: Date): Promise<void> {
  await db
    .insertInto('renewal_runs')
    .values({ product_id: productId, recorded_at: at })
    .onConflict((oc) => oc.column('product_id').doNothing())
    .execute();
}

export async function releaseRenewalRun(db: Db, productId: string): Promise<void> {
  await db.deleteFrom('renewal_runs').where('product_id', '=', productId).execute();
}
