import { sql, type Kysely } from 'kysely';

// P7: passwords (scrypt), failed logins in a row and the lock they lead to, login alerts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('password_hash', 'text')
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_at', 'timestamptz')
    .addColumn('login_alerts', 'text', (c) =>
      c
        .notNull()
        .defaultTo('failures')
        .check(sql`login_alerts in ('off', 'failures', 'all')`),
    )
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['login_alerts', 'locked_at', 'failed_logins', 'password_hash']) await db.schema.alterTable('accounts').dropColumn(c).execute();
}
