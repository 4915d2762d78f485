import { sql, type Kysely } from 'kysely';

// Issue 17, items 5 and 6 (P7): login alerts on successful logins only become a choice, and the
// holder may choose the lock threshold (null keeps the platform's; bounds in lib/rules.ts, checked
// by the API; the check here only keeps a nonsensical value out).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts drop constraint accounts_login_alerts_check`.execute(db);
  await sql`alter table accounts add constraint accounts_login_alerts_check check (login_alerts in ('off', 'failures', 'successes', 'all'))`.execute(db);
  await db.schema
    .alterTable('accounts')
    .addColumn('lock_after_failed_logins', 'integer', (c) => c.check(sql`lock_after_failed_logins > 0`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('accounts').dropColumn('lock_after_failed_logins').execute();
  await sql`update accounts set login_alerts = 'all' where login_alerts = 'successes'`.execute(db);
  await sql`alter table accounts drop constraint accounts_login_alerts_check`.execute(db);
  await sql`alter table accounts add constraint accounts_login_alerts_check check (login_alerts in ('off', 'failures', 'all'))`.execute(db);
}
