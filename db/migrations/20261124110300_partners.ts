import { sql, type Kysely } from 'kysely';

// P11 partner program: applications, client invitations (requested and granted rights) and the
// partnerships they create. Partner and Affiliate exclude each other.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organizations')
    .addColumn('program', 'text', (c) => c.check(sql`program in ('partner', 'affiliate')`))
    .execute();

  await db.schema
    .createTable('partner_applications')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('submitted_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('registry_number', 'text', (c) => c.notNull())
    .addColumn('website', 'text', (c) => c.notNull())
    .addColumn('yearly_volume_cents', 'integer', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('CHF', 'EUR')`))
    .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('accepted', 'refused')`))
    .addColumn('reasons', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('client_invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('partner_organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('invited_by', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('client_email', 'text', (c) => c.notNull())
    .addColumn('requested', 'jsonb', (c) => c.notNull())
    .addColumn('granted', 'jsonb')
    .addColumn('client_organization_id', 'uuid', (c) => c.references('organizations.id'))
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
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('partnerships')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('partner_organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('client_organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('invitation_id', 'uuid', (c) => c.unique().references('client_invitations.id'))
    .addColumn('access', 'text', (c) => c.notNull().check(sql`access in ('full', 'restricted')`))
    .addColumn('product_ids', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('billing', 'text', (c) => c.notNull().check(sql`billing in ('client', 'partner')`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    .addColumn('ended_by', 'uuid', (c) => c.references('accounts.id'))
    .execute();
  await sql`create unique index partnerships_active_key on partnerships (partner_organization_id, client_organization_id) where ended_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['partnerships', 'client_invitations', 'partner_applications']) await db.schema.dropTable(t).execute();
  await db.schema.alterTable('organizations').dropColumn('program').execute();
}
