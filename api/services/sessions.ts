/**
 * Logins (P5, P6, P7). Every failure before the password is known to be right gets the same 401,
 * with the same hashing work, so the answer reveals no account. Failed logins in a row lock the
 * account; only the holder giving the right password learns that it is locked, and gets a login
 * restricted to asking for an identity check. With 2FA on, the right password alone gives a login
 * restricted to asking for 2FA to be disabled; the otp (authenticator code or a backup code) gives
 * a full one. While the login address is lost (P5), the SMS recovery username and the unchanged
 * password give a login restricted to choosing a new address.
 *
 * A login counts as re-authenticated at its start; a re-authentication proves the password (and the
 * second factor) again for an open one. Sensitive changes ask for that proof to be recent (routes
 * marked recentLogin, issue 14, item 3); a wrong password or second factor there counts toward the
 * lock exactly like a failed login.
 *
 * Login alerts (issue 17, item 5) are queued by the statements that count a failure or reset the
 * count, for the worker's relay to send: the login itself never calls Temporal for them.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import {
  acceptTotpStep,
  accountForLogin,
  accountForReauthentication,
  createSession,
  endSession,
  markReauthenticated,
  recordSuccessfulLogin,
  resetFailedLogins,
  unlockAccount,
  useBackupCode,
} from '../../db/repositories/sessions';
import type { SessionScope } from '../../db/tables/accounts.table';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { BACKUP_CODE_SHAPE, totpStep } from '../../lib/otp';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../lib/passwords';
import { REAUTHENTICATION_MAX_AGE_MS, RESTRICTED_SESSION_LIFETIME_MS, SESSION_LIFETIME_MS } from '../../lib/rules';
import { issueToken } from '../auth';
import { Problem } from '../problems';
import { recordFailedLogin } from './failedLogins';
import { loginAlert } from './loginAlerts';

export interface SessionDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  authSecret: string;
  lockAfterFailedLogins: number;
  secrets: AccountSecrets;
}

export interface OpenedSession {
  token: string;
  expiresIn: number;
  scope: SessionScope;
}

/**
 * A login session and its bearer token. `reauthenticatedAt`: when the holder proved the password
 * (and the second factor when on) for it; a login that proved them passes its own start. `device`
 * and `network`: where the login came from as known, listed to the holder (issue 17, item 2).
 */
export async function openSession(
  deps: Pick<SessionDeps, 'db' | 'clock' | 'authSecret'>,
  accountId: string,
  scope: SessionScope,
  from: { reauthenticatedAt?: Date | undefined; device?: string | null; network?: string | null } = {},
): Promise<OpenedSession> {
  const ttlMs = scope === 'full' ? SESSION_LIFETIME_MS : RESTRICTED_SESSION_LIFETIME_MS;
  const s = await createSession(deps.db, {
    accountId,
    scope,
    now: deps.clock.now(),
    ttlMs,
    ...(from.reauthenticatedAt ? { reauthenticatedAt: from.reauthenticatedAt } : {}),
    device: from.device ?? null,
    network: from.network ?? null,
  });
  const token = await issueToken(deps.authSecret, { sub: accountId, role: 'customer', sid: s.id, scope }, `${Math.floor(ttlMs / 1000)}s`);
  return { token, expiresIn: Math.floor(ttlMs / 1000), scope };
}

/**
 * The second factor: an authenticator code of a time step not accepted before, or an unused backup
 * code (consumed).
 */
export async function checkSecondFactor(
  deps: Pick<SessionDeps, 'db' | 'clock' | 'secrets'>,
  account: { id: string; totp_secret_sealed: Buffer | null },
  otp: string,
): Promise<boolean> {
  if (account.totp_secret_sealed) {
    const step = totpStep(deps.secrets.openTotp(account.id, account.totp_secret_sealed), otp, deps.clock.now().getTime());
    if (step !== null) return acceptTotpStep(deps.db, account.id, step);
  }
  if (!BACKUP_CODE_SHAPE.test(otp)) return false;
  return useBackupCode(deps.db, deps.secrets, account.id, otp, deps.clock.now());
}

export function sessionService(deps: SessionDeps) {
  const { db, clock } = deps;

  return {
    /** `client`: the device as described from its user agent, for alerts and the session list; `network`: see lib/network.ts. */
    async logIn(q: { login: string; password: string; otp?: string; client: string | null; network: string | null }): Promise<OpenedSession> {
      const from = { device: q.client, network: q.network };
      const login = q.login.toLowerCase();
      const account = await accountForLogin(db, login);
      const ok = await verifyPassword(q.password, account?.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!account || !account.password_hash) {
        // The failed-login count runs for no account: the same work as a wrong password.
        await recordFailedLogin(deps, null, 'login', q.client);
        throw new Problem('invalid-credentials');
      }
      if (!ok) {
        await recordFailedLogin(deps, account, 'login', q.client);
        throw new Problem('invalid-credentials');
      }
      if (account.locked_at) {
        const restricted = await openSession(deps, account.id, 'locked', from);
        throw new Problem('account-locked', 'Ask an administrator of your organization, or ask for an identity check with this restricted token', {
          restrictedToken: restricted.token,
          allowed: 'POST /v1/accounts/me/unlock-requests',
        });
      }
      if (account.two_factor_enabled_at) {
        if (!q.otp) {
          const restricted = await openSession(deps, account.id, 'second_factor', from);
          throw new Problem('second-factor-required', undefined, {
            restrictedToken: restricted.token,
            allowed: 'POST /v1/accounts/me/two-factor/disable-requests',
          });
        }
        if (!(await checkSecondFactor(deps, account, q.otp))) {
          await recordFailedLogin(deps, account, 'login', q.client);
          throw new Problem('invalid-second-factor');
        }
      }
      await recordSuccessfulLogin(db, account.id, loginAlert(deps.taskQueue, 'login_succeeded', { at: clock.now(), client: q.client }));
      // The login has just proved the password (and the second factor): privileged from its start.
      return openSession(deps, account.id, account.login_address_lost_at ? 'login_address_change' : 'full', { ...from, reauthenticatedAt: clock.now() });
    },

    async reauthenticate(
      principal: { sub: string; sid?: string },
      q: { password: string; otp?: string; client: string | null },
    ): Promise<{ reauthenticatedAt: Date; privilegedUntil: Date }> {
      const account = await accountForReauthentication(db, principal.sub);
      if (!account) throw new Problem('unauthenticated', 'This session has ended');
      const ok = await verifyPassword(q.password, account.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!account.password_hash) throw new Problem('invalid-credentials', 'This account has no password to prove');
      if (!ok) {
        await recordFailedLogin(deps, account, 'reauthentication', q.client);
        throw new Problem('invalid-credentials', 'The password is not right');
      }
      if (account.locked_at)
        throw new Problem('account-locked', 'Log in again (POST /v1/sessions) to ask for an identity check, or ask an administrator of your organization');
      if (account.two_factor_enabled_at) {
        if (!q.otp) throw new Problem('second-factor-required', 'Send the code of your authenticator app or a backup code as otp, with the password');
        if (!(await checkSecondFactor(deps, account, q.otp))) {
          await recordFailedLogin(deps, account, 'reauthentication', q.client);
          throw new Problem('invalid-second-factor');
        }
      }
      const now = clock.now();
      await resetFailedLogins(db, account.id);
      if (!principal.sid || !(await markReauthenticated(db, principal.sid, account.id, now))) throw new Problem('unauthenticated', 'This session has ended');
      await audit(db, {
        actor_type: 'customer',
        actor_id: account.id,
        action: 'session.reauthenticated',
        subject_type: 'account',
        subject_id: account.id,
        decision: null,
        details: { sessionId: principal.sid },
      });
      return { reauthenticatedAt: now, privilegedUntil: new Date(now.getTime() + REAUTHENTICATION_MAX_AGE_MS) };
    },

    async logOut(principal: { sub: string; sid?: string }): Promise<void> {
      if (!principal.sid) throw new Problem('conflict', 'This token was not issued by a login');
      await endSession(db, principal.sub, principal.sid, clock.now());
    },

    /** Administrators and legal representatives unlock a member locked by failed logins. */
    async unlockMember(principal: { sub: string }, organizationId: string, accountId: string): Promise<void> {
      const actor = await findMembership(db, organizationId, principal.sub);
      if (!actor) throw new Problem('not-found', 'No such organization');
      if (actor.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives unlock accounts');
      if (!(await findMembership(db, organizationId, accountId))) throw new Problem('not-found', 'No such member');
      await db.transaction().execute(async (trx) => {
        await unlockAccount(trx, accountId, clock.now());
        await audit(trx, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'account.unlocked',
          subject_type: 'account',
          subject_id: accountId,
          decision: null,
          details: { organizationId },
        });
      });
    },
  };
}
