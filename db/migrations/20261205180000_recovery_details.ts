import { sql, type Kysely } from 'kysely';

// Issue 17, item 2 [003]: the holder lists their sessions (device and network as known) and changes
// the recovery email and the mobile number, each confirmed by a code sent to the new one while the
// old one is told.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('device', 'text').addColumn('network', 'text').execute();
  await db.schema.alterTable('recovery_requests').addColumn('pending_phone', 'text').addColumn('previous_contact', 'text').execute();
  await db.schema.alterTable('recovery_requests').dropConstraint('recovery_requests_kind_check').execute();
  await db.schema
    .alterTable('recovery_requests')
    .addCheckConstraint('recovery_requests_kind_check', sql`kind in ('login_email', 'password', 'login_address', 'recovery_email', 'mobile_phone')`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recovery_requests').dropConstraint('recovery_requests_kind_check').execute();
  await db.deleteFrom('recovery_requests').where('kind', 'in', ['recovery_email', 'mobile_phone']).execute();
  await db.schema
    .alterTable('recovery_requests')
    .addCheckConstraint('recovery_requests_kind_check', sql`kind in ('login_email', 'password', 'login_address')`)
    .execute();
  await db.schema.alterTable('recovery_requests').dropColumn('pending_phone').dropColumn('previous_contact').execute();
  await db.schema.alterTable('sessions').dropColumn('device').dropColumn('network').execute();
}
