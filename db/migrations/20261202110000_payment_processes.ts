import { sql, type Kysely } from 'kysely';

// Issue 13: a payment is a durable process. It is reserved first (a 'pending' row written under the
// invoice's lock), charged with a key derived from that row, then settled, or declined, voided, or
// refunded when refused after the charge. Refunds now serve invoices too. The local payment
// provider keeps its own durable ledger: every call, and what each idempotency key executed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table payments drop constraint payments_status_check`.execute(db);
  await sql`alter table payments add constraint payments_status_check
    check (status in ('pending', 'captured', 'in_progress', 'refunded', 'declined', 'voided'))`.execute(db);
  await db.schema
    .alterTable('payments')
    // The provider's token of the card to charge (never a card number).
    .addColumn('card_ref', 'text')
    // Who asked: customer:<id>, system:<sub>, renewal:<productId>.
    .addColumn('requested_by', 'text')
    // The product whose page asked, for the answer and the renewal it moves on.
    .addColumn('product_id', 'uuid', (c) => c.references('products.id'))
    .addColumn('failure_reason', 'text')
    .addColumn('settled_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('payments_pending_idx').on('payments').column('invoice_id').where(sql.ref('status'), '=', 'pending').execute();

  await db.schema
    .alterTable('refunds')
    .alterColumn('order_id', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('refunds')
    .addColumn('invoice_id', 'uuid', (c) => c.references('invoices.id'))
    .execute();
  await sql`alter table refunds add constraint refunds_for_one check (num_nonnulls(order_id, invoice_id) = 1)`.execute(db);

  // The local provider's books: one row per idempotency key that executed (or declined), and one
  // row per call, repeated ones included, so tests count what reached the provider.
  await db.schema
    .createTable('local_provider_operations')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('charge', 'refund')`))
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('charged', 'refunded', 'declined')`))
    .addColumn('provider_id', 'text', (c) => c.notNull().unique())
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('means', 'text', (c) => c.notNull())
    .addColumn('card_ref', 'text')
    .addColumn('payment_reference', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('local_provider_operations_pkey', ['kind', 'idempotency_key'])
    .execute();
  await db.schema
    .createTable('local_provider_calls')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('amount_cents', 'integer', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    // executed, repeated (answered from the first), declined, refused (key reused with other terms), failed
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('provider_id', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('local_provider_calls_key_idx').on('local_provider_calls').columns(['kind', 'idempotency_key']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('local_provider_calls').execute();
  await db.schema.dropTable('local_provider_operations').execute();
  await sql`alter table refunds drop constraint refunds_for_one`.execute(db);
  await db.schema.alterTable('refunds').dropColumn('invoice_id').execute();
  await db.schema.dropIndex('payments_pending_idx').execute();
  await db.schema
    .alterTable('payments')
    .dropColumn('card_ref')
    .dropColumn('requested_by')
    .dropColumn('product_id')
    .dropColumn('failure_reason')
    .dropColumn('settled_at')
    .execute();
  await sql`alter table payments drop constraint payments_status_check`.execute(db);
  await sql`alter table payments add constraint payments_status_check check (status in ('captured', 'in_progress', 'refunded'))`.execute(db);
}
