/**
 * The holder's own security settings (P5–P8): 2FA with backup codes, identity checks to disable 2FA
 * or unlock the account, a new login address, the recovery email and mobile number, the password,
 * the open sessions, application passwords and API tokens, the compromised-password wizard. Every
 * call acts on the caller's own account; support has none here, so it can never disable 2FA or
 * unlock an account outside an approved case.
 *
 * Notices of a change are queued in the transaction of the change (issue 15): one sent after the
 * commit was lost when Temporal was unreachable then, and the retry found nothing left to do.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/database';
import {
  closeRequest,
  createAccessToken,
  createLoginEmailRequest,
  createRecoveryDetailRequest,
  disableTwoFactor,
  enableTwoFactor,
  findAccount,
  isHostedMailDomain,
  listAccessTokens,
  markLoginAddressLost,
  revokeAccessToken,
  securityCounts,
  setLoginAlerts,
  setLoginEmail,
  setPassword,
  setPendingTotp,
  setRecoveryDetail,
} from '../../db/repositories/accountSecurity';
import { audit } from '../../db/repositories/audit';
import { tryRequestCode } from '../../db/repositories/recovery';
import { endSession, endSessions, openSessions, replaceBackupCodes, revokeAllCredentials } from '../../db/repositories/sessions';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import type { LoginAlerts } from '../../db/tables/accounts.table';
import { newToken, tokenHash, type AccountSecrets } from '../../lib/accountSecrets';
import { maskEmail, maskPhone } from '../../lib/mask';
import { base32Encode, newBackupCode, otpauthUrl, totpStep } from '../../lib/otp';
import { hashPassword, verifyPassword } from '../../lib/passwords';
import { TWO_FACTOR_BACKUP_CODES } from '../../lib/rules';
import { sendCommitted } from '../../temporal/workflowCommands';
import {
  accountNoticeWorkflowId,
  loginAddressRecoveryWorkflowId,
  loginAddressRestoredSignal,
  loginEmailChangeWorkflowId,
  securityCaseWorkflowId,
  type AccountNoticeInput,
  type SecurityCaseInput,
  type SecurityCaseReason,
} from '../../workflows/shared/recovery';
import { API_TOKEN_PREFIX } from '../auth';
import { Problem } from '../problems';
import { recordFailedLogin } from './failedLogins';
import { setLockThreshold } from './lockThreshold';
import { startProcess } from './processes';
import { openSession, type OpenedSession } from './sessions';

export interface AccountSecurityDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  authSecret: string;
  secrets: AccountSecrets;
  lockAfterFailedLogins: number;
}

/** The caller: the account, and the login session it acts through (none for an API token). */
export interface Holder {
  sub: string;
  sid?: string;
  reauthenticatedAt?: Date;
}

/** P5: the account's initials followed by digits, lower case (logins are matched in lower case). */
export function recoveryUsernameCandidate(displayName: string): string {
  const letters = displayName
    .normalize('NFD')
    .replace(/[^\p{L}\s]/gu, '')
    .split(/\s+/)
    .map((w) => w.replace(/[^a-zA-Z]/g, '')[0] ?? '')
    .join('')
    .toLowerCase()
    .slice(0, 3);
  return (letters || 'u') + String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export type AccessTokenState = 'active' | 'expired' | 'revoked' | 'deactivated';

export function accountSecurityService(deps: AccountSecurityDeps) {
  const { client, db, taskQueue, clock, secrets } = deps;

  const me = async (accountId: string) => {
    const a = await findAccount(db, accountId);
    if (!a) throw new Problem('not-found', 'No such account');
    return a;
  };
  const notice = (trx: Transaction<Database>, n: AccountNoticeInput) =>
    queueWorkflowCommands(trx, [{ kind: 'start', workflowType: 'accountNotice', workflowId: accountNoticeWorkflowId(n), taskQueue, args: [n] }]);
  const customer = (accountId: string) => ({ actor_type: 'customer' as const, actor_id: accountId });
  const auditOwn = (trx: Transaction<Database>, accountId: string, action: string, details: Record<string, unknown>) =>
    audit(trx, { ...customer(accountId), action, subject_type: 'account', subject_id: accountId, decision: null, details });

  async function settings(accountId: string) {
    const a = await me(accountId);
    const now = clock.now();
    const c = await securityCounts(db, accountId, now);
    const usable = (t: (typeof c.tokens)[number]) => !t.revoked_at && !t.deactivated_at && (!t.expires_at || t.expires_at > now);
    return {
      twoFactor: { enabled: !!a.two_factor_enabled_at, backupCodesLeft: c.backupCodesLeft },
      loginAlerts: a.login_alerts,
      lockAfterFailedLogins: a.lock_after_failed_logins ?? deps.lockAfterFailedLogins,
      recoveryEmail: a.recovery_email ? maskEmail(a.recovery_email) : null,
      mobilePhone: a.mobile_phone ? maskPhone(a.mobile_phone) : null,
      activeSessions: c.activeSessions,
      activeApiTokens: c.tokens.filter((t) => t.kind === 'api_token' && usable(t)).length,
      activeAppPasswords: c.tokens.filter((t) => t.kind === 'app_password' && usable(t)).length,
      locked: !!a.locked_at,
    };
  }

  /** P6, P7: one identity check of each kind at a time; the case is opened by its process. */
  async function openSecurityCase(accountId: string, reason: SecurityCaseReason) {
    const caseId = randomUUID();
    await startProcess(
      { client, taskQueue },
      'accountSecurityCase',
      securityCaseWorkflowId(accountId, reason),
      { accountId, reason, caseId } satisfies SecurityCaseInput,
      {
        policy: 'one-at-a-time',
        ifTaken: new Problem('request-pending', 'An identity check of this kind is already under way; follow the link we emailed'),
      },
    );
    return { caseId, next: 'Follow the link we emailed to your login address to verify your identity; an agent decides.' };
  }

  /** A wrong current password counts toward the lock like a failed login (issue 14, item 3). */
  async function proveCurrentPassword(a: Awaited<ReturnType<typeof me>>, password: string) {
    if (a.password_hash && (await verifyPassword(password, a.password_hash))) return;
    if (a.password_hash) await recordFailedLogin(deps, a, 'current_password');
    throw new Problem('invalid-credentials', 'The current password is not right');
  }

  return {
    settings,

    async setLoginAlerts(holder: Holder, loginAlerts: LoginAlerts): Promise<void> {
      await setLoginAlerts(db, holder.sub, loginAlerts);
    },

    async setLockThreshold(holder: Holder, failedLogins: number | null): Promise<void> {
      await setLockThreshold(db, holder.sub, failedLogins);
    },

    async startTwoFactor(holder: Holder): Promise<{ secret: string; otpauthUrl: string }> {
      const a = await me(holder.sub);
      if (a.two_factor_enabled_at) throw new Problem('two-factor-already-enabled');
      const secret = randomBytes(20);
      await setPendingTotp(db, a.id, secrets.sealTotp(a.id, secret));
      return { secret: base32Encode(secret), otpauthUrl: otpauthUrl(secret, a.login_email) };
    },

    async confirmTwoFactor(holder: Holder, otp: string): Promise<{ backupCodes: string[] }> {
      const a = await me(holder.sub);
      if (a.two_factor_enabled_at) throw new Problem('two-factor-already-enabled');
      const pending = a.totp_pending_sealed;
      if (!pending) throw new Problem('recovery-step-out-of-order', 'Start with POST /v1/accounts/me/two-factor');
      const step = totpStep(secrets.openTotp(a.id, pending), otp, clock.now().getTime());
      if (step === null) throw new Problem('code-rejected', 'The authenticator code is not right');
      const codes = Array.from({ length: TWO_FACTOR_BACKUP_CODES }, newBackupCode);
      await db.transaction().execute(async (trx) => {
        // The confirming code is spent too: its step cannot log in afterwards.
        await enableTwoFactor(trx, a.id, { sealed: pending, step, now: clock.now() });
        await replaceBackupCodes(trx, secrets, a.id, codes);
        await auditOwn(trx, a.id, 'account.two_factor_enabled', {});
      });
      return { backupCodes: codes };
    },

    async disableTwoFactor(holder: Holder): Promise<void> {
      const a = await me(holder.sub);
      if (!a.two_factor_enabled_at) throw new Problem('two-factor-not-enabled');
      const eventId = randomUUID();
      const commands = await db.transaction().execute(async (trx) => {
        await disableTwoFactor(trx, a.id);
        await auditOwn(trx, a.id, 'account.two_factor_disabled', { eventId });
        return notice(trx, { accountId: a.id, kind: 'two_factor_disabled', eventId });
      });
      await sendCommitted({ client, db }, commands);
    },

    async askToDisableTwoFactor(holder: Holder) {
      const a = await me(holder.sub);
      if (!a.two_factor_enabled_at) throw new Problem('two-factor-not-enabled');
      return openSecurityCase(a.id, 'disable_2fa');
    },

    async askToUnlock(holder: Holder) {
      const a = await me(holder.sub);
      if (!a.locked_at) throw new Problem('conflict', 'The account is not locked');
      return openSecurityCase(a.id, 'account_unblock');
    },

    async changeLoginEmail(holder: Holder, email: string): Promise<{ requestId: string }> {
      const requestId = randomUUID();
      await createLoginEmailRequest(db, { id: requestId, accountId: holder.sub, email });
      await startProcess({ client, taskQueue }, 'loginEmailChange', loginEmailChangeWorkflowId(requestId), { requestId });
      return { requestId };
    },

    /** The new login address is in force; every credential issued before it ends, and a full login is returned. */
    async confirmLoginEmail(holder: Holder, requestId: string, code: string): Promise<OpenedSession> {
      const now = clock.now();
      const outcome = await db.transaction().execute(async (trx) => {
        const tried = await tryRequestCode(trx, secrets, { requestId, kind: 'login_address', accountId: holder.sub, code, now });
        if (!tried.found || !tried.ok) return { ok: false as const, attemptsLeft: tried.found && !tried.ok ? tried.attemptsLeft : 0 };
        await closeRequest(trx, requestId, now);
        await setLoginEmail(trx, holder.sub, tried.pendingEmail!);
        await auditOwn(trx, holder.sub, 'account.login_email_changed', { requestId });
        await revokeAllCredentials(trx, holder.sub, { reason: 'login_email_changed', now, actor: customer(holder.sub), eventId: requestId });
        // A signal to no recovery (a plain change, or one that has ended) is done: nothing waits for it.
        const restored = await queueWorkflowCommands(trx, [
          { kind: 'signal', workflowId: loginAddressRecoveryWorkflowId(holder.sub), signal: loginAddressRestoredSignal.name },
        ]);
        return {
          ok: true as const,
          commands: [...restored, ...(await notice(trx, { accountId: holder.sub, kind: 'login_email_changed', eventId: requestId }))],
        };
      });
      if (!outcome.ok) throw new Problem('code-rejected', undefined, { attemptsLeft: outcome.attemptsLeft });
      await sendCommitted({ client, db }, outcome.commands);
      // The new login carries this one's proof of the password, not a fresh one.
      return openSession(deps, holder.sub, 'full', { reauthenticatedAt: holder.reauthenticatedAt });
    },

    /**
     * Issue 17, item 2 [003, 004]: a new recovery email or mobile number, in force once the code
     * sent to it comes back; P3–P5 read the account's details when they run, so they use it at once.
     */
    async changeRecoveryDetail(holder: Holder, detail: { recoveryEmail: string } | { mobilePhone: string }): Promise<{ requestId: string; sentTo: string }> {
      const requestId = randomUUID();
      const byPhone = 'mobilePhone' in detail;
      await createRecoveryDetailRequest(db, {
        id: requestId,
        accountId: holder.sub,
        ...(byPhone ? { kind: 'mobile_phone', phone: detail.mobilePhone } : { kind: 'recovery_email', email: detail.recoveryEmail }),
      });
      // The process of a new login address sends the code of any new contact: its steps are the same.
      await startProcess({ client, taskQueue }, 'loginEmailChange', loginEmailChangeWorkflowId(requestId), { requestId });
      return { requestId, sentTo: byPhone ? maskPhone(detail.mobilePhone) : maskEmail(detail.recoveryEmail) };
    },

    /** The new detail replaces the old, which is told (kept on the request until its notice is queued). */
    async confirmRecoveryDetail(holder: Holder, kind: 'recovery_email' | 'mobile_phone', requestId: string, code: string): Promise<void> {
      const now = clock.now();
      const outcome = await db.transaction().execute(async (trx) => {
        const tried = await tryRequestCode(trx, secrets, { requestId, kind, accountId: holder.sub, code, now });
        if (!tried.found || !tried.ok) return { ok: false as const, attemptsLeft: tried.found && !tried.ok ? tried.attemptsLeft : 0 };
        await closeRequest(trx, requestId, now);
        await setRecoveryDetail(trx, holder.sub, requestId, kind);
        await auditOwn(trx, holder.sub, kind === 'recovery_email' ? 'account.recovery_email_changed' : 'account.mobile_phone_changed', { requestId });
        const n = await notice(trx, {
          accountId: holder.sub,
          kind: kind === 'recovery_email' ? 'recovery_email_changed' : 'mobile_phone_changed',
          eventId: requestId,
        });
        return { ok: true as const, commands: n };
      });
      if (!outcome.ok) throw new Problem('code-rejected', undefined, { attemptsLeft: outcome.attemptsLeft });
      await sendCommitted({ client, db }, outcome.commands);
    },

    /**
     * Issue 17, item 2 [003]: a new password, proved by the current one. The other sessions end
     * (they were opened with the old password); application passwords and API tokens stay, since
     * they never depended on it. A suspected theft is the compromised-password wizard's.
     */
    async changePassword(holder: Holder, currentPassword: string, newPassword: string): Promise<{ sessionsEnded: number }> {
      const a = await me(holder.sub);
      await proveCurrentPassword(a, currentPassword);
      const hash = await hashPassword(newPassword);
      const now = clock.now();
      const eventId = randomUUID();
      const result = await db.transaction().execute(async (trx) => {
        await setPassword(trx, a.id, hash);
        const sessionsEnded = await endSessions(trx, a.id, now, holder.sid);
        await auditOwn(trx, a.id, 'account.password_changed', { eventId, sessionsEnded });
        return { sessionsEnded, commands: await notice(trx, { accountId: a.id, kind: 'password_updated', eventId }) };
      });
      await sendCommitted({ client, db }, result.commands);
      return { sessionsEnded: result.sessionsEnded };
    },

    /** Issue 17, item 2 [003]: the open sessions, the caller's marked. */
    async listSessions(holder: Holder) {
      const rows = await openSessions(db, holder.sub, clock.now());
      return rows.map((s) => ({
        id: s.id,
        scope: s.scope,
        device: s.device,
        network: s.network,
        startedAt: s.created_at,
        expiresAt: s.expires_at,
        lastProvedAt: s.reauthenticated_at,
        current: s.id === holder.sid,
      }));
    },

    async endSession(holder: Holder, sessionId: string): Promise<void> {
      const now = clock.now();
      const ended = await db.transaction().execute(async (trx) => {
        if (!(await endSession(trx, holder.sub, sessionId, now))) return false;
        await auditOwn(trx, holder.sub, 'session.ended_by_holder', { sessionId });
        return true;
      });
      if (!ended) throw new Problem('not-found', 'No such open session of yours');
    },

    /** P5 (system): the hosted mailbox used as login is gone; the holder gets an SMS recovery username. */
    async loginAddressLost(accountId: string, reason: 'mailbox_deleted' | 'mail_service_cancelled'): Promise<{ since: Date }> {
      const a = await me(accountId);
      const domain = a.login_email.slice(a.login_email.lastIndexOf('@') + 1).toLowerCase();
      if (!(await isHostedMailDomain(db, domain))) throw new Problem('login-address-not-hosted');
      const now = clock.now();
      let since = a.login_address_lost_at;
      for (let attempt = 0; !since && attempt < 10; attempt += 1) {
        try {
          await db.transaction().execute(async (trx) => {
            if (!(await markLoginAddressLost(trx, a.id, { username: recoveryUsernameCandidate(a.display_name), now }))) return;
            await audit(trx, {
              actor_type: 'system',
              actor_id: 'mail',
              action: 'account.login_address_lost',
              subject_type: 'account',
              subject_id: a.id,
              decision: null,
              details: { reason },
            });
            await revokeAllCredentials(trx, a.id, { reason: 'login_address_lost', now, actor: { actor_type: 'system', actor_id: 'mail' } });
          });
          since = (await me(a.id)).login_address_lost_at;
        } catch (err) {
          // Another account drew the same username: draw again.
          if ((err as { code?: string }).code !== '23505') throw err;
        }
      }
      if (!since) throw new Problem('unavailable', 'No free recovery username was found; try again');
      await startProcess({ client, taskQueue }, 'loginAddressRecovery', loginAddressRecoveryWorkflowId(a.id), { accountId: a.id }, { policy: 'attach' });
      return { since };
    },

    async createApiToken(holder: Holder, name: string, lifetimeDays?: number): Promise<{ id: string; token: string; expiresAt: Date | null }> {
      const token = newToken(API_TOKEN_PREFIX);
      const now = clock.now();
      const expiresAt = lifetimeDays ? new Date(now.getTime() + lifetimeDays * 86_400_000) : null;
      const id = randomUUID();
      await createAccessToken(db, { id, accountId: holder.sub, kind: 'api_token', name, hash: tokenHash(token), now, expiresAt });
      return { id, token, expiresAt };
    },

    async createAppPassword(holder: Holder, name: string): Promise<{ id: string; password: string }> {
      const password = randomBytes(12).toString('base64url');
      const id = randomUUID();
      await createAccessToken(db, { id, accountId: holder.sub, kind: 'app_password', name, hash: tokenHash(password), now: clock.now(), expiresAt: null });
      return { id, password };
    },

    async listAccessTokens(holder: Holder) {
      const now = clock.now();
      const rows = await listAccessTokens(db, holder.sub);
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        name: r.name,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        lastUsedAt: r.last_used_at,
        state: (r.revoked_at ? 'revoked' : r.deactivated_at ? 'deactivated' : r.expires_at && r.expires_at <= now ? 'expired' : 'active') as AccessTokenState,
      }));
    },

    async revokeAccessToken(holder: Holder, tokenId: string): Promise<void> {
      if (!(await revokeAccessToken(db, holder.sub, tokenId, clock.now()))) throw new Problem('not-found', 'No such token of yours');
    },

    /** P8 wizard: a new password, every application password and API token revoked, the other sessions ended. */
    async compromised(holder: Holder, currentPassword: string, newPassword: string) {
      const a = await me(holder.sub);
      await proveCurrentPassword(a, currentPassword);
      const hash = await hashPassword(newPassword);
      const now = clock.now();
      const eventId = randomUUID();
      const result = await db.transaction().execute(async (trx) => {
        await setPassword(trx, a.id, hash);
        await auditOwn(trx, a.id, 'account.password_compromised', { eventId });
        // The login running the wizard is kept (see revokeAllCredentials); it is a session, never an API token.
        const r = await revokeAllCredentials(trx, a.id, {
          reason: 'password_compromised',
          now,
          actor: customer(a.id),
          ...(holder.sid ? { keepSession: holder.sid } : {}),
          eventId,
        });
        return {
          revoked: { apiTokens: r.apiTokens, appPasswords: r.appPasswords },
          sessionsEnded: r.sessionsEnded,
          commands: await notice(trx, { accountId: a.id, kind: 'password_changed', eventId }),
        };
      });
      await sendCommitted({ client, db }, result.commands);
      return { revoked: result.revoked, sessionsEnded: result.sessionsEnded, review: await settings(a.id) };
    },
  };
}
