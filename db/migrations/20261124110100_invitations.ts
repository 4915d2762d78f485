import { sql, type Kysely } from 'kysely';

// P9 membership invitations: a single-use emailed link, valid 30 days, that makes its accepter a
// member with the role, the products and the contact preferences chosen by the inviter.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organization_invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('invited_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('email', 'text', (c) => c.notNull())
    // The legal representation moves only through a handover (P10).
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('administrator', 'collaborator')`))
    .addColumn('product_ids', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('contact_preferences', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('token_hash', 'bytea', (c) => c.unique())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'accepted', 'cancelled', 'expired')`),
    )
    .addColumn('sends', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sent_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_by', 'uuid', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One pending invitation per address and organization.
  await sql`create unique index organization_invitations_pending_key on organization_invitations (organization_id, lower(email)) where status = 'pending'`.execute(
    db,
  );
  await db.schema
    .alterTable('memberships')
    .addColumn('product_ids', sql`uuid[]`)
    .addColumn('contact_preferences', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('memberships').dropColumn('contact_preferences').dropColumn('product_ids').execute();
  await db.schema.dropTable('organization_invitations').execute();
}
