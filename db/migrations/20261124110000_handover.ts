import { sql, type Kysely } from 'kysely';

// P10 legal-representative handover: the new representative gets the role first (after accepting,
// when invited by email), only then is the former one removed. One handover at a time per organization.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('legal_rep_handovers')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('requested_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('from_account_id', 'uuid', (c) => c.notNull().references('accounts.id'))
    // An existing member, or (invitation) null until someone accepts with the invited address.
    .addColumn('to_account_id', 'uuid', (c) => c.references('accounts.id'))
    .addColumn('to_email', 'text')
    .addColumn('token_hash', 'bytea', (c) => c.unique())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('awaiting_acceptance', 'transferring', 'completed', 'lapsed', 'cancelled')`))
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addCheckConstraint('legal_rep_handovers_target', sql`to_account_id is not null or to_email is not null`)
    .execute();
  await sql`create unique index legal_rep_handovers_open_key on legal_rep_handovers (organization_id) where status in ('awaiting_acceptance', 'transferring')`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('legal_rep_handovers').execute();
}
