import type { Kysely } from 'kysely';

// Issue 20, item 2: the products whose renewal process PostgreSQL knows to be running, so the daily
// sweep starts only the missing ones. A row is written before a start (so the run's own end, which
// deletes it, always comes after) and deleted when the run finds the product no longer renews. Empty
// on deploy: the first sweep checks every product once and fills it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('renewal_runs')
    .addColumn('product_id', 'uuid', (c) => c.primaryKey().references('products.id').onDelete('cascade'))
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('renewal_runs').execute();
}
