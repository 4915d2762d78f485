import { sql, type Kysely } from 'kysely';

// P2 identity-verification cases. Evidence (phone, geolocation, images) is sealed with a per-case
// key whose wrapped form lives on the case: deleting the documents and the key erases everything.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('verification_cases')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('reason', 'text', (c) =>
      c
        .notNull()
        .check(sql`reason in ('forgotten_password', 'forgotten_login_email', 'disable_2fa', 'account_unblock', 'ticketing_first_payout', 'blocked_order')`),
    )
    .addColumn('subject_type', 'text')
    .addColumn('subject_id', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('awaiting_customer')
        .check(sql`status in ('awaiting_customer', 'submitted', 'approved', 'rejected', 'expired', 'cancelled')`),
    )
    .addColumn('opened_by', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('data_key_wrapped', 'bytea')
    .addColumn('link_token_hash', 'bytea', (c) => c.unique())
    .addColumn('link_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('phone_code_hash', 'bytea')
    .addColumn('phone_code_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('evidence_sealed', 'bytea')
    .addColumn('round', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('submitted_at', 'timestamptz')
    .addColumn('due_at', 'timestamptz')
    .addColumn('overdue_at', 'timestamptz')
    .addColumn('assigned_agent_id', 'uuid', (c) => c.references('agents.id'))
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('resubmission_reason', 'text')
    .addColumn('manual', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('decision_reason', 'text')
    .addCheckConstraint('verification_cases_subject', sql`(subject_type is null) = (subject_id is null)`)
    .addCheckConstraint('verification_cases_claim', sql`(assigned_agent_id is null) = (claimed_at is null)`)
    .addCheckConstraint('verification_cases_closed', sql`(status in ('approved', 'rejected', 'expired', 'cancelled')) = (decided_at is not null)`)
    .execute();
  await db.schema.createIndex('verification_cases_queue_idx').on('verification_cases').columns(['status', 'due_at']).execute();
  await db.schema.createIndex('verification_cases_account_idx').on('verification_cases').column('account_id').execute();

  await db.schema
    .createTable('verification_documents')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('case_id', 'uuid', (c) => c.notNull().references('verification_cases.id').onDelete('cascade'))
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('id_card_front', 'id_card_back', 'passport_photo_page', 'selfie')`))
    .addColumn('media_type', 'text', (c) => c.notNull().check(sql`media_type in ('image/jpeg', 'image/png')`))
    .addColumn('size_bytes', 'integer', (c) => c.notNull().check(sql`size_bytes > 0`))
    .addColumn('sealed', 'bytea', (c) => c.notNull())
    .addColumn('attached', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('verification_documents_case_idx').on('verification_documents').column('case_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('verification_documents').execute();
  await db.schema.dropTable('verification_cases').execute();
}
