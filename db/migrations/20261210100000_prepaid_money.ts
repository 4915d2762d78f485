import { sql, type Kysely } from 'kysely';

// Issue 17, item 4: prepaid money. The organization's currency (the one its prepaid account is
// kept in, CHF unless set), deposits by card, payouts of the balance with their destination (an
// IBAN and its holder, or a PayPal address: personal data, kept here and never in a workflow), and
// the local provider's books widened to payouts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organizations')
    .addColumn('currency', 'text', (c) =>
      c
        .notNull()
        .defaultTo('CHF')
        .check(sql`currency in ('CHF', 'EUR')`),
    )
    .execute();

  await db.schema
    .createTable('prepaid_deposits')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('requested_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('card_ref', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'charged', 'credited', 'declined')`),
    )
    .addColumn('provider_reference', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('settled_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('prepaid_deposits_org_idx').on('prepaid_deposits').columns(['organization_id', 'created_at']).execute();

  await db.schema
    .createTable('prepaid_payouts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('requested_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('amount_cents', 'integer', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('destination_kind', 'text', (c) => c.notNull().check(sql`destination_kind in ('iban', 'paypal')`))
    .addColumn('iban', 'text')
    .addColumn('holder', 'text')
    .addColumn('paypal_email', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'refused', 'awaiting_approval', 'approved', 'paid', 'rejected', 'expired', 'failed')`),
    )
    .addColumn('deadline_at', 'timestamptz')
    .addColumn('decided_by', 'uuid', (c) => c.references('agents.id'))
    .addColumn('decision_reason', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('provider_reference', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('settled_at', 'timestamptz')
    .addCheckConstraint(
      'prepaid_payouts_destination',
      sql`(destination_kind = 'iban' and iban is not null and holder is not null and paypal_email is null)
        or (destination_kind = 'paypal' and paypal_email is not null and iban is null and holder is null)`,
    )
    .execute();
  await db.schema.createIndex('prepaid_payouts_org_idx').on('prepaid_payouts').columns(['organization_id', 'created_at']).execute();
  await db.schema.createIndex('prepaid_payouts_status_idx').on('prepaid_payouts').columns(['status', 'created_at']).execute();

  await sql`alter table local_provider_operations drop constraint local_provider_operations_kind_check`.execute(db);
  await sql`alter table local_provider_operations add constraint local_provider_operations_kind_check check (kind in ('charge', 'refund', 'payout'))`.execute(
    db,
  );
  await sql`alter table local_provider_operations drop constraint local_provider_operations_outcome_check`.execute(db);
  await sql`alter table local_provider_operations add constraint local_provider_operations_outcome_check check (outcome in ('charged', 'refunded', 'paid_out', 'declined'))`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from local_provider_calls where kind = 'payout'`.execute(db);
  await sql`delete from local_provider_operations where kind = 'payout'`.execute(db);
  await sql`alter table local_provider_operations drop constraint local_provider_operations_outcome_check`.execute(db);
  await sql`alter table local_provider_operations add constraint local_provider_operations_outcome_check check (outcome in ('charged', 'refunded', 'declined'))`.execute(
    db,
  );
  await sql`alter table local_provider_operations drop constraint local_provider_operations_kind_check`.execute(db);
  await sql`alter table local_provider_operations add constraint local_provider_operations_kind_check check (kind in ('charge', 'refund'))`.execute(db);
  await db.schema.dropTable('prepaid_payouts').execute();
  await db.schema.dropTable('prepaid_deposits').execute();
  await db.schema.alterTable('organizations').dropColumn('currency').execute();
}
