import type { Kysely } from 'kysely';

// Issue 14, item 3: a session records when its holder last proved the password (and the second
// factor when 2FA is on): at the login, or again through POST /v1/sessions/current/reauthentication.
// Sensitive changes need that moment to be recent (a "privileged session"). Sessions opened before
// this column, and sessions no login opened (operators, the seed), have none: they must re-prove.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('reauthenticated_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('reauthenticated_at').execute();
}
