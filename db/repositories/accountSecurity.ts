/**
 * The holder's own security settings (P5–P8): the SQL behind api/services/accountSecurity.ts.
 * Changes that must commit with their audit and notice take a transaction from the service.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { AccessTokensTable, AccountsTable, LoginAlerts } from '../tables/accounts.table';

export type AccountRow = Selectable<AccountsTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;

export async function findAccount(db: Db, accountId: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
}

/** Open sessions, credentials with their state, unused backup codes: what the settings review counts. */
export async function securityCounts(db: Db, accountId: string, now: Date) {
  const sessions = await db
    .selectFrom('sessions')
    .select(({ fn }) => fn.countAll<string>().as('n'))
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  const tokens = await db
    .selectFrom('access_tokens')
    .select(['kind', 'revoked_at', 'deactivated_at', 'expires_at'])
    .where('account_id', '=', accountId)
    .execute();
  const backup = await db
    .selectFrom('backup_codes')
    .select(({ fn }) => fn.countAll<string>().as('n'))
    .where('account_id', '=', accountId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { activeSessions: Number(sessions.n), tokens, backupCodesLeft: Number(backup.n) };
}

export async function setLoginAlerts(db: Db, accountId: string, loginAlerts: LoginAlerts): Promise<void> {
  await db.updateTable('accounts').set({ login_alerts: loginAlerts }).where('id', '=', accountId).execute();
}

export async function setPendingTotp(db: Db, accountId: string, sealed: Buffer): Promise<void> {
  await db.updateTable('accounts').set({ totp_pending_sealed: sealed }).where('id', '=', accountId).execute();
}

/** The pending secret becomes the account's; `step` (the confirming code's) is spent. */
export async function enableTwoFactor(db: Db, accountId: string, e: { sealed: Buffer; step: number; now: Date }): Promise<void> {
  await db
    .updateTable('accounts')
    .set({ totp_secret_sealed: e.sealed, totp_pending_sealed: null, two_factor_enabled_at: e.now, totp_last_step: e.step })
    .where('id', '=', accountId)
    .execute();
}

/** Secrets and backup codes go with it. */
export async function disableTwoFactor(db: Db, accountId: string): Promise<void> {
  await db
    .updateTable('accounts')
    .set({ totp_secret_sealed: null, totp_pending_sealed: null, two_factor_enabled_at: null })
    .where('id', '=', accountId)
    .execute();
  await db.deleteFrom('backup_codes').where('account_id', '=', accountId).execute();
}

export async function createLoginEmailRequest(db: Db, r: { id: string; accountId: string; email: string }): Promise<void> {
  await db
    .insertInto('recovery_requests')
    .values({ id: r.id, kind: 'login_address', account_id: r.accountId, channel: 'email', pending_email: r.email })
    .execute();
}

export async function closeRequest(db: Db, requestId: string, now: Date): Promise<void> {
  await db.updateTable('recovery_requests').set({ closed_at: now }).where('id', '=', requestId).execute();
}

/** The new login address is in force; the recovery username (P5) stops working. */
export async function setLoginEmail(db: Db, accountId: string, email: string): Promise<void> {
  await db.updateTable('accounts').set({ login_email: email, recovery_username: null, login_address_lost_at: null }).where('id', '=', accountId).execute();
}

export async function isHostedMailDomain(db: Db, domain: string): Promise<boolean> {
  return !!(await db.selectFrom('organization_mail_domains').select('domain').where('domain', '=', domain).executeTakeFirst());
}

/** Marks the login address lost with this recovery username, unless it already is: false then. A taken username throws 23505. */
export async function markLoginAddressLost(db: Db, accountId: string, e: { username: string; now: Date }): Promise<boolean> {
  const row = await db
    .updateTable('accounts')
    .set({ recovery_username: e.username, login_address_lost_at: e.now })
    .where('id', '=', accountId)
    .where('login_address_lost_at', 'is', null)
    .returning('login_address_lost_at')
    .executeTakeFirst();
  return !!row;
}

export async function createAccessToken(
  db: Db,
  t: { id: string; accountId: string; kind: 'api_token' | 'app_password'; name: string; hash: Buffer; now: Date; expiresAt: Date | null },
): Promise<void> {
  await db
    .insertInto('access_tokens')
    .values({ id: t.id, account_id: t.accountId, kind: t.kind, name: t.name, token_hash: t.hash, created_at: t.now, expires_at: t.expiresAt })
    .execute();
}

export async function listAccessTokens(db: Db, accountId: string): Promise<AccessTokenRow[]> {
  return db.selectFrom('access_tokens').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
}

/** False when no unrevoked token of the account has this id. */
export async function revokeAccessToken(db: Db, accountId: string, tokenId: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('id', '=', tokenId)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** A new password; the failed-login count starts again. */
export async function setPassword(db: Db, accountId: string, passwordHash: string): Promise<void> {
  await db.updateTable('accounts').set({ password_hash: passwordHash, failed_logins: 0 }).where('id', '=', accountId).execute();
}

/** Issue 17, item 2: a new recovery email or mobile number, waiting for the code sent to it. */
export async function createRecoveryDetailRequest(
  db: Db,
  r: { id: string; accountId: string } & ({ kind: 'recovery_email'; email: string } | { kind: 'mobile_phone'; phone: string }),
): Promise<void> {
  await db
    .insertInto('recovery_requests')
    .values({
      id: r.id,
      kind: r.kind,
      account_id: r.accountId,
      channel: r.kind === 'mobile_phone' ? 'sms' : 'email',
      ...(r.kind === 'mobile_phone' ? { pending_phone: r.phone } : { pending_email: r.email }),
    })
    .execute();
}

/**
 * The confirmed detail replaces the account's; the one it replaces is kept on the request for the
 * notice that tells it (which erases it once queued).
 */
export async function setRecoveryDetail(db: Db, accountId: string, requestId: string, kind: 'recovery_email' | 'mobile_phone'): Promise<void> {
  const r = await db.selectFrom('recovery_requests').select(['pending_email', 'pending_phone']).where('id', '=', requestId).executeTakeFirstOrThrow();
  const a = await db.selectFrom('accounts').select(['recovery_email', 'mobile_phone']).where('id', '=', accountId).forUpdate().executeTakeFirstOrThrow();
  const previous = kind === 'recovery_email' ? a.recovery_email : a.mobile_phone;
  await db.updateTable('recovery_requests').set({ previous_contact: previous }).where('id', '=', requestId).execute();
  await db
    .updateTable('accounts')
    .set(kind === 'recovery_email' ? { recovery_email: r.pending_email } : { mobile_phone: r.pending_phone })
    .where('id', '=', accountId)
    .execute();
}
