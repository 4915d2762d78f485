import { sql, type Kysely } from 'kysely';

// P12 product cancellation: the request and its emailed confirmation, what a termination settles
// (open fees on a final invoice) and erases (backups).
export async function up(db: Kysely<any>): Promise<void> {
  // A product bundled in a kSuite is cancelled with its kSuite, never on its own.
  await db.schema
    .alterTable('products')
    .addColumn('bundled_in', 'text', (c) => c.check(sql`bundled_in in ('ksuite')`))
    .execute();
  await db.schema.alterTable('products').addColumn('terminated_at', 'timestamptz').execute();

  await db.schema
    .createTable('cancellation_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('requested_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('token_hash', 'bytea', (c) => c.unique())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'confirmed', 'lapsed')`),
    )
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .execute();
  // At most one request waits for confirmation per product.
  await sql`create unique index cancellation_requests_pending_key on cancellation_requests (product_id) where status = 'pending'`.execute(db);

  await db.schema
    .createTable('product_fees')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('out_of_plan', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('invoice_id', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('product_id', 'uuid', (c) => c.references('products.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('final')`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('total_cents', 'integer', (c) => c.notNull().check(sql`total_cents >= 0`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open', 'paid')`),
    )
    // One final invoice per product, however often termination is retried.
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('product_backups')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('taken_at', 'timestamptz', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['product_backups', 'invoices', 'product_fees', 'cancellation_requests']) await db.schema.dropTable(t).execute();
  await db.schema.alterTable('products').dropColumn('terminated_at').execute();
  await db.schema.alterTable('products').dropColumn('bundled_in').execute();
}
