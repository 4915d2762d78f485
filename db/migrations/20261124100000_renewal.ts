import { sql, type Kysely } from 'kysely';

// P14 renewal cycles: due dates and options per product, reminder preferences per organization,
// renewal invoices (several products may share one) and the payments that settle them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('products')
    .addColumn('due_at', 'timestamptz')
    .addColumn('term_months', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(12)
        .check(sql`term_months between 1 and 120`),
    )
    .addColumn('renewal_price_cents', 'integer', (c) => c.check(sql`renewal_price_cents > 0`))
    .addColumn('currency', 'text', (c) => c.check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('auto_renew', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('renewal_warranty', 'boolean', (c) => c.notNull().defaultTo(false))
    // How many terms one payment may cover (1: the product renews one term at a time).
    .addColumn('max_terms_ahead', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(1)
        .check(sql`max_terms_ahead between 1 and 10`),
    )
    .addColumn('suspended_at', 'timestamptz')
    .execute();
  await sql`alter table products add constraint products_renewable check (due_at is null or (renewal_price_cents is not null and currency is not null))`.execute(
    db,
  );
  // Renewal Warranty is not offered for NAS Synology. [000]
  await sql`alter table products add constraint products_warranty_eligible check (not renewal_warranty or product_type <> 'nas_synology')`.execute(db);

  // The card a customer saved with the payment provider (its token there, never the number).
  await db.schema.alterTable('organizations').addColumn('payment_card_ref', 'text').execute();

  // One row per organization that changed the defaults; no row means the defaults below.
  await db.schema
    .createTable('billing_preferences')
    .addColumn('organization_id', 'uuid', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('reminder_frequency', 'text', (c) =>
      c
        .notNull()
        .defaultTo('monthly')
        .check(sql`reminder_frequency in ('off', 'weekly', 'every_two_weeks', 'monthly')`),
    )
    .addColumn('reminder_start_months', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(2)
        .check(sql`reminder_start_months between 1 and 2`),
    )
    .addColumn('auto_renewal_reminder', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('renewal_confirmation', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('invoice_issued', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('group_invoices', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await sql`alter table invoices drop constraint invoices_kind_check`.execute(db);
  await sql`alter table invoices add constraint invoices_kind_check check (kind in ('final', 'renewal'))`.execute(db);
  await sql`alter table invoices drop constraint invoices_status_check`.execute(db);
  await sql`alter table invoices add constraint invoices_status_check check (status in ('open', 'paid', 'void'))`.execute(db);
  await db.schema
    .alterTable('invoices')
    .addColumn('due_at', 'timestamptz')
    .addColumn('paid_cents', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`paid_cents >= 0`),
    )
    .addColumn('paid_at', 'timestamptz')
    .execute();
  await sql`alter table invoices add constraint invoices_not_overpaid check (paid_cents <= total_cents)`.execute(db);
  await sql`alter table invoices add constraint invoices_paid_in_full check ((status = 'paid') = (paid_cents = total_cents and total_cents > 0) or kind = 'final')`.execute(
    db,
  );

  // A product's term is billed once: one line per product and due date, whatever retries happen.
  await db.schema
    .createTable('invoice_lines')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id'))
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('terms', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(1)
        .check(sql`terms between 1 and 10`),
    )
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('description', 'text', (c) => c.notNull())
    .addUniqueConstraint('invoice_lines_term_key', ['product_id', 'due_at'])
    .execute();
  await db.schema.createIndex('invoice_lines_invoice_idx').on('invoice_lines').column('invoice_id').execute();

  // Payments settle an order (P1) or an invoice (P14); a key makes each one happen once.
  await db.schema
    .alterTable('payments')
    .alterColumn('order_id', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('payments')
    .addColumn('invoice_id', 'uuid', (c) => c.references('invoices.id'))
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .execute();
  await sql`alter table payments add constraint payments_settle_one check (num_nonnulls(order_id, invoice_id) = 1)`.execute(db);
  await db.schema.createIndex('payments_invoice_idx').on('payments').column('invoice_id').execute();

  // Each term renewed, once: the process advances the due date only through this row.
  await db.schema
    .createTable('product_renewals')
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('from_due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('to_due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('invoice_id', 'uuid', (c) => c.references('invoices.id'))
    .addColumn('under_warranty', 'boolean', (c) => c.notNull())
    .addColumn('renewed_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('product_renewals_pkey', ['product_id', 'from_due_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('product_renewals').execute();
  await sql`alter table payments drop constraint payments_settle_one`.execute(db);
  await db.schema.alterTable('payments').dropColumn('idempotency_key').dropColumn('invoice_id').execute();
  await db.schema.dropTable('invoice_lines').execute();
  await sql`alter table invoices drop constraint invoices_paid_in_full, drop constraint invoices_not_overpaid`.execute(db);
  await db.schema.alterTable('invoices').dropColumn('paid_at').dropColumn('paid_cents').dropColumn('due_at').execute();
  await db.schema.dropTable('billing_preferences').execute();
  await db.schema.alterTable('organizations').dropColumn('payment_card_ref').execute();
  await sql`alter table products drop constraint products_warranty_eligible, drop constraint products_renewable`.execute(db);
  for (const c of ['suspended_at', 'max_terms_ahead', 'renewal_warranty', 'auto_renew', 'currency', 'renewal_price_cents', 'term_months', 'due_at']) {
    await db.schema.alterTable('products').dropColumn(c).execute();
  }
}
