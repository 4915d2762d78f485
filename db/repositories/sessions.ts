import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database, Db } from '../database';
import { audit, type AuditEntry } from './audit';
import type { LoginAlerts, SessionScope } from '../tables/accounts.table';
import type { WorkflowCommand } from './workflowCommands';
import { tokenHash, type AccountSecrets } from '../../lib/accountSecrets';
import { normalizeBackupCode } from '../../lib/otp';

/**
 * A customer's session. `reauthenticatedAt`: when the password (and the second factor when on) was
 * last proved for it; a login proves them as it opens the session, an operator's token does not.
 */
export async function createSession(
  db: Db,
  s: { accountId: string; scope: SessionScope; now: Date; ttlMs: number; reauthenticatedAt?: Date; device?: string | null; network?: string | null },
): Promise<{ id: string; expiresAt: Date }> {
  const id = randomUUID();
  const expiresAt = new Date(s.now.getTime() + s.ttlMs);
  await db
    .insertInto('sessions')
    .values({
      id,
      account_id: s.accountId,
      scope: s.scope,
      created_at: s.now,
      expires_at: expiresAt,
      reauthenticated_at: s.reauthenticatedAt ?? null,
      device: s.device ?? null,
      network: s.network ?? null,
    })
    .execute();
  return { id, expiresAt };
}

/** The account a login names: by login email, or by the SMS recovery username while the login address is lost (P5). */
export async function accountForLogin(db: Db, login: string) {
  const byUsername = !login.includes('@');
  return db
    .selectFrom('accounts')
    .select(['id', 'password_hash', 'locked_at', 'totp_secret_sealed', 'two_factor_enabled_at', 'login_address_lost_at'])
    .where((eb) =>
      byUsername
        ? eb.and([eb('recovery_username', '=', login), eb('login_address_lost_at', 'is not', null)])
        : // A lost login address no longer logs in (P5): only the recovery username does.
          eb.and([eb(eb.fn('lower', ['login_email']), '=', login), eb('login_address_lost_at', 'is', null)]),
    )
    .executeTakeFirst();
}

export async function accountForReauthentication(db: Db, accountId: string) {
  return db
    .selectFrom('accounts')
    .select(['id', 'password_hash', 'locked_at', 'totp_secret_sealed', 'two_factor_enabled_at'])
    .where('id', '=', accountId)
    .executeTakeFirst();
}

export async function resetFailedLogins(db: Db, accountId: string): Promise<void> {
  await db.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', accountId).execute();
}

/** Ends one session of the account; false when it is not the account's or has already ended. */
export async function endSession(db: Db, accountId: string, sessionId: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', '=', sessionId)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The sessions of the account still open, newest first (issue 17, item 2). */
export async function openSessions(db: Db, accountId: string, now: Date) {
  return db
    .selectFrom('sessions')
    .select(['id', 'scope', 'created_at', 'expires_at', 'reauthenticated_at', 'device', 'network'])
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Unlocks an account locked by failed logins; the restricted logins handed out while it was locked have nothing left to do. */
export async function unlockAccount(db: Db, accountId: string, now: Date): Promise<void> {
  await db.updateTable('accounts').set({ failed_logins: 0, locked_at: null }).where('id', '=', accountId).execute();
  await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('account_id', '=', accountId)
    .where('scope', '=', 'locked')
    .where('revoked_at', 'is', null)
    .execute();
}

/** The session's scope and last re-authentication while it is neither ended nor expired; undefined otherwise. */
export async function activeSession(
  db: Db,
  id: string,
  accountId: string,
  now: Date,
): Promise<{ scope: SessionScope; reauthenticatedAt: Date | null } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(['scope', 'reauthenticated_at'])
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row && { scope: row.scope, reauthenticatedAt: row.reauthenticated_at };
}

/**
 * Records that the holder proved the password (and the second factor when on) again in this open
 * session (issue 14, item 3); false when the session has ended or expired meanwhile.
 */
export async function markReauthenticated(db: Db, id: string, accountId: string, now: Date): Promise<boolean> {
  const res = await db
    .updateTable('sessions')
    .set({ reauthenticated_at: now })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Matches no account: ids are random (v4) UUIDs. */
export const NO_ACCOUNT_ID = '00000000-0000-0000-0000-000000000000';

/**
 * A login alert (issue 17, item 5): the accountNotice start to queue for the account, written only
 * when its `login_alerts` setting is one of `when`. The row is due at once (no writer lease): the
 * API never sends it itself, the worker's relay does within seconds, so a login known to have an
 * alert does no more work, and waits on nothing more, than an unknown one.
 */
export interface LoginAlert {
  when: readonly LoginAlerts[];
  command: (accountId: string) => Extract<WorkflowCommand, { kind: 'start' }>;
}

type WithLogin = Database & { login: { id: string; failed_logins: number; locked_at: Date | null; login_alerts: LoginAlerts } };

/** `insert into workflow_commands select … from login where login_alerts in (…)`: the same statement whether or not a row comes of it. */
function queueLoginAlert(qc: QueryCreator<WithLogin>, alert: LoginAlert, accountId: string) {
  const c = alert.command(accountId);
  return qc
    .insertInto('workflow_commands')
    .columns(['kind', 'workflow_id', 'workflow_type', 'task_queue', 'args', 'next_attempt_at'])
    .expression((eb) =>
      eb
        .selectFrom('login')
        .select([
          sql<string>`${c.kind}::text`.as('kind'),
          sql<string>`${c.workflowId}::text`.as('workflow_id'),
          sql<string>`${c.workflowType}::text`.as('workflow_type'),
          sql<string>`${c.taskQueue}::text`.as('task_queue'),
          sql<string>`${JSON.stringify(c.args)}::jsonb`.as('args'),
          sql<Date>`now()`.as('next_attempt_at'),
        ])
        .where('login.login_alerts', 'in', [...alert.when])
        // Locked (by this attempt or before), the account-locked notice speaks instead: a guesser
        // cannot make more alert emails than the threshold.
        .where('login.locked_at', 'is', null),
    );
}

/**
 * Counts a failed proof of the password or the second factor (a login, a re-authentication, the
 * current password of a change) and locks the account at its threshold (the holder's choice, else
 * `lockAfter`), in one statement whatever the concurrency (P7); the same statement queues the
 * holder's failed-login alert when they asked for one. Returns the count and the lock as they are now.
 *
 * A login that names no account runs the same transaction against no row (`accountId` null; the
 * result is undefined, and no alert is written), so an unknown login costs the round trips of a
 * wrong password. Neither waits for the WAL flush (synchronous_commit off, for this transaction
 * only): the flush of the row a wrong password writes was what still set it apart, 3–4 ms at p50 in
 * `npm run bench` (issue 14, item 1). A crash can lose the counts of its last second at most (and a
 * lock or an alert one of them wrote).
 */
export async function countFailedLogin(
  db: Kysely<Database>,
  accountId: string | null,
  e: { now: Date; lockAfter: number; alert: LoginAlert },
): Promise<{ failedLogins: number; lockedAt: Date | null } | undefined> {
  const id = accountId ?? NO_ACCOUNT_ID;
  return db.transaction().execute(async (trx) => {
    await sql`set local synchronous_commit = off`.execute(trx);
    const row = await trx
      .with('login', (qc) =>
        qc
          .updateTable('accounts')
          .set((eb) => ({
            failed_logins: eb('failed_logins', '+', 1),
            locked_at: sql<Date | null>`case when locked_at is null and failed_logins + 1 >= coalesce(lock_after_failed_logins, ${e.lockAfter}) then ${e.now}::timestamptz else locked_at end`,
          }))
          .where('id', '=', id)
          .returning(['id', 'failed_logins', 'locked_at', 'login_alerts']),
      )
      .with('alerted', (qc) => queueLoginAlert(qc, e.alert, id))
      .selectFrom('login')
      .select(['failed_logins', 'locked_at'])
      .executeTakeFirst();
    return row && { failedLogins: row.failed_logins, lockedAt: row.locked_at };
  });
}

/** A login that proved the password (and the second factor): the count starts again, and the holder's success alert is queued when asked for. */
export async function recordSuccessfulLogin(db: Db, accountId: string, alert: LoginAlert): Promise<void> {
  await db
    .with('login', (qc) =>
      qc.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', accountId).returning(['id', 'failed_logins', 'locked_at', 'login_alerts']),
    )
    .with('alerted', (qc) => queueLoginAlert(qc, alert, accountId))
    .selectFrom('login')
    .select('id')
    .execute();
}

/** An agent's session (issue 14, item 4); refused for an unknown or deactivated agent. */
export async function createAgentSession(db: Db, s: { agentId: string; now: Date; ttlMs: number }): Promise<{ id: string; expiresAt: Date } | undefined> {
  const agent = await db.selectFrom('agents').select('deactivated_at').where('id', '=', s.agentId).executeTakeFirst();
  if (!agent || agent.deactivated_at) return undefined;
  const id = randomUUID();
  const expiresAt = new Date(s.now.getTime() + s.ttlMs);
  await db.insertInto('agent_sessions').values({ id, agent_id: s.agentId, expires_at: expiresAt }).execute();
  return { id, expiresAt };
}

/** True while the session is neither ended nor expired and its agent is not deactivated. */
export async function activeAgentSession(db: Db, id: string, agentId: string, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom('agent_sessions')
    .innerJoin('agents', 'agents.id', 'agent_sessions.agent_id')
    .select('agent_sessions.id')
    .where('agent_sessions.id', '=', id)
    .where('agent_sessions.agent_id', '=', agentId)
    .where('agent_sessions.revoked_at', 'is', null)
    .where('agent_sessions.expires_at', '>', now)
    .where('agents.deactivated_at', 'is', null)
    .executeTakeFirst();
  return !!row;
}

/**
 * Deactivates an agent and ends every one of its sessions, audited; again: nothing new (the first
 * date is kept). Undefined for an unknown agent.
 */
export async function deactivateAgent(
  db: Db,
  agentId: string,
  e: { now: Date; actor: Pick<AuditEntry, 'actor_type' | 'actor_id'> },
): Promise<{ deactivatedAt: Date; sessionsEnded: number } | undefined> {
  const agent = await db.selectFrom('agents').select('deactivated_at').where('id', '=', agentId).forUpdate().executeTakeFirst();
  if (!agent) return undefined;
  const deactivatedAt = agent.deactivated_at ?? e.now;
  if (!agent.deactivated_at) await db.updateTable('agents').set({ deactivated_at: deactivatedAt }).where('id', '=', agentId).execute();
  const ended = await db
    .updateTable('agent_sessions')
    .set({ revoked_at: e.now })
    .where('agent_id', '=', agentId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const sessionsEnded = Number(ended.numUpdatedRows);
  if (!agent.deactivated_at || sessionsEnded > 0) {
    await audit(db, { ...e.actor, action: 'agent.deactivated', subject_type: 'agent', subject_id: agentId, decision: null, details: { sessionsEnded } });
  }
  return { deactivatedAt, sessionsEnded };
}

/** Ends every session of the account, or every one but `except`. */
export async function endSessions(db: Db, accountId: string, now: Date, except?: string): Promise<number> {
  let q = db.updateTable('sessions').set({ revoked_at: now }).where('account_id', '=', accountId).where('revoked_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** The events after which no credential of the account issued before survives (issue 14, item 2). */
export type CredentialRevocationReason =
  'password_reset' | 'two_factor_disabled_by_case' | 'unlocked_by_case' | 'login_address_lost' | 'login_email_changed' | 'password_compromised';

export interface RevokedCredentials {
  sessionsEnded: number;
  apiTokens: number;
  appPasswords: number;
}

/**
 * Ends every session and revokes every API token and application password of the account, and
 * audits it: the one place every recovery-grade event goes through, called inside the transaction
 * that records the event, so the change and the revocation commit together or not at all.
 *
 * Nothing survives, for every reason: each event either proves that someone else may have held the
 * password, the second factor or the login address (reset, approved 2FA-disable case, lost or
 * changed login address, compromised password), or re-establishes the holder by an identity check
 * after an attack on the password (approved unlock case). A credential minted before it may be the
 * other party's, and we cannot tell which. The only exception is `keepSession`: the compromised-
 * password wizard keeps the login that has just proved the current password and set the new one,
 * so its holder can review the settings (P8); that login is never an API token (the route refuses them).
 */
export async function revokeAllCredentials(
  trx: Db,
  accountId: string,
  e: { reason: CredentialRevocationReason; now: Date; actor: Pick<AuditEntry, 'actor_type' | 'actor_id'>; keepSession?: string; eventId?: string },
): Promise<RevokedCredentials> {
  const sessionsEnded = await endSessions(trx, accountId, e.now, e.keepSession);
  const revoked = await trx
    .updateTable('access_tokens')
    .set({ revoked_at: e.now })
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .returning('kind')
    .execute();
  const counts = {
    sessionsEnded,
    apiTokens: revoked.filter((r) => r.kind === 'api_token').length,
    appPasswords: revoked.filter((r) => r.kind === 'app_password').length,
  };
  await audit(trx, {
    ...e.actor,
    action: 'account.credentials_revoked',
    subject_type: 'account',
    subject_id: accountId,
    decision: null,
    details: { reason: e.reason, ...counts, ...(e.keepSession ? { keptSession: e.keepSession } : {}), ...(e.eventId ? { eventId: e.eventId } : {}) },
  });
  return counts;
}

/**
 * An API token or application password is usable while it is neither revoked, deactivated nor
 * expired, and while its account is neither locked (P7) nor restricted to choosing a new login
 * address (P5): a credential minted earlier must not work around the restriction.
 */
function usableCredential(db: Db, kind: 'api_token' | 'app_password', secret: string, now: Date) {
  return db
    .updateTable('access_tokens')
    .set({ last_used_at: now })
    .from('accounts')
    .whereRef('accounts.id', '=', 'access_tokens.account_id')
    .where('access_tokens.token_hash', '=', tokenHash(secret))
    .where('access_tokens.kind', '=', kind)
    .where('access_tokens.revoked_at', 'is', null)
    .where('access_tokens.deactivated_at', 'is', null)
    .where((eb) => eb.or([eb('access_tokens.expires_at', 'is', null), eb('access_tokens.expires_at', '>', now)]))
    .where('accounts.locked_at', 'is', null)
    .where('accounts.login_address_lost_at', 'is', null)
    .returning(['access_tokens.id', 'access_tokens.account_id']);
}

/** An API token as a bearer credential (see usableCredential); its use is recorded. */
export async function useApiToken(db: Db, token: string, now: Date): Promise<{ accountId: string; tokenId: string } | undefined> {
  const row = await usableCredential(db, 'api_token', token, now).executeTakeFirst();
  return row && { accountId: row.account_id, tokenId: row.id };
}

/**
 * An application password of this account, as the mail and calendar services check it (they are
 * not part of this API); the same rules as an API token, and its use is recorded.
 */
export async function useAppPassword(db: Db, accountId: string, password: string, now: Date): Promise<boolean> {
  const row = await usableCredential(db, 'app_password', password, now).where('access_tokens.account_id', '=', accountId).executeTakeFirst();
  return !!row;
}

/**
 * Accepts a TOTP time step once (issue 14, item 7): true only for a step later than every one
 * accepted before, in one statement, so a code replayed within its window, or raced, is refused.
 */
export async function acceptTotpStep(db: Db, accountId: string, step: number): Promise<boolean> {
  const res = await db
    .updateTable('accounts')
    .set({ totp_last_step: step })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The account's new set of backup codes, hashed under the current key and recorded with its id. */
export async function replaceBackupCodes(db: Db, secrets: AccountSecrets, accountId: string, codes: readonly string[]): Promise<void> {
  await db.deleteFrom('backup_codes').where('account_id', '=', accountId).execute();
  const rows = codes.map((c) => {
    const { keyId, hash } = secrets.backupCodeHash(accountId, normalizeBackupCode(c));
    return { account_id: accountId, code_hash: hash, key_id: keyId };
  });
  if (rows.length > 0) await db.insertInto('backup_codes').values(rows).execute();
}

/** Consumes an unused backup code, checked under the key each code was made with; true when it was one. */
export async function useBackupCode(db: Db, secrets: AccountSecrets, accountId: string, code: string, now: Date): Promise<boolean> {
  const keys = await db.selectFrom('backup_codes').select('key_id').distinct().where('account_id', '=', accountId).where('used_at', 'is', null).execute();
  const candidates = secrets.backupCodeCandidates(
    accountId,
    normalizeBackupCode(code),
    keys.map((k) => k.key_id),
  );
  if (candidates.length === 0) return false;
  const used = await db
    .updateTable('backup_codes')
    .set({ used_at: now })
    .where('account_id', '=', accountId)
    .where('code_hash', 'in', candidates)
    .where('used_at', 'is', null)
    .returning('account_id')
    .executeTakeFirst();
  return !!used;
}
