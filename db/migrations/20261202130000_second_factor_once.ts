import type { Kysely } from 'kysely';

// Issue 14, item 7: a TOTP time step is accepted once (the last accepted step per account), and
// each 2FA backup code records the id of the payload key its hash was derived from, so rotating
// PAYLOAD_ENCRYPTION_KEY keeps it usable. Codes made before have no key id: every key is tried.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('totp_last_step', 'integer').execute();
  await db.schema.alterTable('backup_codes').addColumn('key_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('backup_codes').dropColumn('key_id').execute();
  await db.schema.alterTable('accounts').dropColumn('totp_last_step').execute();
}
