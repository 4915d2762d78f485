import { sql, type Kysely } from 'kysely';

// P1 blocked orders and the money around them. Amounts are integer cents of the order's currency.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('total_cents', 'integer', (c) => c.notNull().check(sql`total_cents > 0`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('paid')
        .check(sql`status in ('paid', 'blocked', 'fulfilled', 'cancelled')`),
    )
    .addColumn('block_reason', 'text')
    .addColumn('blocked_at', 'timestamptz')
    .addColumn('block_deadline', 'timestamptz')
    .addColumn('verification_case_id', 'uuid')
    .addColumn('fulfilled_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('cancel_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('orders_blocked', sql`(status = 'blocked') <= (blocked_at is not null and block_deadline is not null)`)
    .execute();
  await db.schema.createIndex('orders_org_idx').on('orders').column('organization_id').execute();

  await db.schema
    .createTable('order_lines')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('order_id', 'uuid', (c) => c.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('product_type', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('unit_price_cents', 'integer', (c) => c.notNull().check(sql`unit_price_cents >= 0`))
    .execute();
  await db.schema.createIndex('order_lines_order_idx').on('order_lines').column('order_id').execute();

  await db.schema
    .createTable('products')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('order_line_id', 'uuid', (c) => c.unique().references('order_lines.id'))
    .addColumn('product_type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('active')
        .check(sql`status in ('active', 'suspended', 'terminated')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('payments')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('order_id', 'uuid', (c) => c.notNull().references('orders.id'))
    .addColumn('means', 'text', (c) => c.notNull().check(sql`means in ('card', 'paypal', 'twint', 'postfinance', 'iban_transfer', 'prepaid')`))
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    // An IBAN transfer stays 'in_progress' until the bank confirms it.
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('captured', 'in_progress', 'refunded')`))
    .addColumn('provider_reference', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('payments_order_idx').on('payments').column('order_id').execute();

  await db.schema
    .createTable('refunds')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('payment_id', 'uuid', (c) => c.notNull().unique().references('payments.id'))
    .addColumn('order_id', 'uuid', (c) => c.notNull().references('orders.id'))
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('destination', 'text', (c) => c.notNull().check(sql`destination in ('original_means', 'prepaid_account')`))
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'succeeded')`),
    )
    .addColumn('provider_refund_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('succeeded_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('prepaid_ledger_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents <> 0`))
    .addColumn('reason', 'text', (c) => c.notNull())
    // What caused the entry (a refund's idempotency key, a payment id): an entry is written once.
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // The balance is derived from the entries; a debit that would take it below zero is refused in
  // the database, serialized per organization and currency, whoever writes.
  await sql`
    create function prepaid_ledger_not_negative() returns trigger language plpgsql as $$
    declare balance bigint;
    begin
      perform pg_advisory_xact_lock(hashtext(new.organization_id::text || new.currency));
      select coalesce(sum(amount_cents), 0) into balance from prepaid_ledger_entries
        where organization_id = new.organization_id and currency = new.currency;
      if balance + new.amount_cents < 0 then
        raise exception 'prepaid balance would become negative' using errcode = 'check_violation';
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger prepaid_ledger_not_negative before insert on prepaid_ledger_entries
    for each row execute function prepaid_ledger_not_negative()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger prepaid_ledger_not_negative on prepaid_ledger_entries`.execute(db);
  await sql`drop function prepaid_ledger_not_negative()`.execute(db);
  for (const t of ['prepaid_ledger_entries', 'refunds', 'payments', 'products', 'order_lines', 'orders']) await db.schema.dropTable(t).execute();
}
