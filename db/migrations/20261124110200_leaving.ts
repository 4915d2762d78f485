import { sql, type Kysely } from 'kysely';

// P9: what keeps a member from leaving on their own: a login address hosted by one of the
// organization's mail services, or a seat in its kSuite.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organization_mail_domains')
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('domain', 'text', (c) => c.notNull().check(sql`domain = lower(domain)`))
    .addPrimaryKeyConstraint('organization_mail_domains_pkey', ['organization_id', 'domain'])
    .execute();
  await db.schema
    .alterTable('memberships')
    .addColumn('in_ksuite', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('memberships').dropColumn('in_ksuite').execute();
  await db.schema.dropTable('organization_mail_domains').execute();
}
