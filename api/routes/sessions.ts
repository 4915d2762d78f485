/**
 * Logins (P5, P6, P7). Every failure before the password is known to be right gets the same 401,
 * with the same hashing work, so the answer reveals no account. Failed logins in a row lock the
 * account; only the holder giving the right password learns that it is locked, and gets a login
 * restricted to asking for an identity check. With 2FA on, the right password alone gives a login
 * restricted to asking for 2FA to be disabled; the otp (authenticator code or a backup code) gives
 * a full one. While the login address is lost (P5), the SMS recovery username and the unchanged
 * password give a login restricted to choosing a new address.
 *
 * A login counts as re-authenticated at its start; POST /v1/sessions/current/reauthentication
 * proves the password (and the second factor) again for an open one. Sensitive changes ask for
 * that proof to be recent (routes marked recentLogin, issue 14, item 3); a wrong password or
 * second factor there counts toward the lock exactly like a failed login.
 *
 * Login alerts (issue 17, item 5) are queued by the statements that count a failure or reset the
 * count, for the worker's relay to send: the login itself never calls Temporal for them.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { acceptTotpStep, createSession, markReauthenticated, recordSuccessfulLogin, useBackupCode } from '../../db/repositories/sessions';
import type { SessionScope } from '../../db/tables/accounts.table';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { BACKUP_CODE_SHAPE, totpStep } from '../../lib/otp';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../lib/passwords';
import { REAUTHENTICATION_MAX_AGE_MS, RESTRICTED_SESSION_LIFETIME_MS, SESSION_LIFETIME_MS } from '../../lib/rules';
import { issueToken } from '../auth';
import { recordFailedLogin } from '../services/failedLogins';
import { describeClient, loginAlert } from '../services/loginAlerts';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const session = z.object({ token: z.string(), expiresIn: z.number().int(), scope: z.enum(['full', 'login_address_change']) });

export interface SessionDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  authSecret: string;
  lockAfterFailedLogins: number;
  secrets: AccountSecrets;
}

/**
 * A login session and its bearer token. `reauthenticatedAt`: when the holder proved the password
 * (and the second factor when on) for it; a login that proved them passes its own start.
 */
export async function openSession(deps: Pick<SessionDeps, 'db' | 'clock' | 'authSecret'>, accountId: string, scope: SessionScope, reauthenticatedAt?: Date) {
  const ttlMs = scope === 'full' ? SESSION_LIFETIME_MS : RESTRICTED_SESSION_LIFETIME_MS;
  const s = await createSession(deps.db, { accountId, scope, now: deps.clock.now(), ttlMs, ...(reauthenticatedAt ? { reauthenticatedAt } : {}) });
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

export function sessionRoutes(deps: SessionDeps): AnyRoute[] {
  const { db, clock } = deps;

  const countFailure = (account: { id: string; locked_at: Date | null } | null, source: 'login' | 'reauthentication', client: string | null) =>
    recordFailedLogin(deps, account, source, client);

  return [
    defineRoute({
      method: 'post',
      path: '/v1/sessions',
      tag: 'Accounts',
      summary: 'Log in with the login email (or the SMS recovery username) and password, plus otp when 2FA is on',
      roles: [],
      body: z
        .object({
          login: z.string().trim().min(3).max(254),
          password: z.string().min(1).max(1024),
          otp: z
            .string()
            .trim()
            .regex(/^(\d{6}|\d{5}-?\d{5})$/, 'a 6-digit authenticator code or a backup code')
            .optional(),
        })
        .strict(),
      responses: {
        201: { description: 'A bearer token: full, or restricted to choosing a new login address (P5)', schema: session },
        401: {
          description:
            'Unknown login or wrong password (the same answer); or the second factor is missing or wrong, with a token restricted to asking for 2FA to be disabled',
          schema: problem,
        },
        423: { description: 'The right password, but the account is locked; with a token restricted to asking for an identity check', schema: problem },
      },
      async handler({ body, req }) {
        const login = body.login.toLowerCase();
        const client = describeClient(req.get('user-agent'));
        const byUsername = !login.includes('@');
        const account = await db
          .selectFrom('accounts')
          .select(['id', 'password_hash', 'locked_at', 'totp_secret_sealed', 'two_factor_enabled_at', 'login_address_lost_at'])
          .where((eb) =>
            byUsername
              ? eb.and([eb('recovery_username', '=', login), eb('login_address_lost_at', 'is not', null)])
              : // A lost login address no longer logs in (P5): only the recovery username does.
                eb.and([eb(eb.fn('lower', ['login_email']), '=', login), eb('login_address_lost_at', 'is', null)]),
          )
          .executeTakeFirst();
        const ok = await verifyPassword(body.password, account?.password_hash ?? DUMMY_PASSWORD_HASH);
        if (!account || !account.password_hash) {
          // The failed-login count runs for no account: the same work as a wrong password.
          await countFailure(null, 'login', client);
          throw new Problem('invalid-credentials');
        }
        if (!ok) {
          await countFailure(account, 'login', client);
          throw new Problem('invalid-credentials');
        }
        if (account.locked_at) {
          const restricted = await openSession(deps, account.id, 'locked');
          throw new Problem('account-locked', 'Ask an administrator of your organization, or ask for an identity check with this restricted token', {
            restrictedToken: restricted.token,
            allowed: 'POST /v1/accounts/me/unlock-requests',
          });
        }
        if (account.two_factor_enabled_at) {
          if (!body.otp) {
            const restricted = await openSession(deps, account.id, 'second_factor');
            throw new Problem('second-factor-required', undefined, {
              restrictedToken: restricted.token,
              allowed: 'POST /v1/accounts/me/two-factor/disable-requests',
            });
          }
          if (!(await checkSecondFactor(deps, account, body.otp))) {
            await countFailure(account, 'login', client);
            throw new Problem('invalid-second-factor');
          }
        }
        await recordSuccessfulLogin(db, account.id, loginAlert(deps.taskQueue, 'login_succeeded', { at: clock.now(), client }));
        // The login has just proved the password (and the second factor): privileged from its start.
        return { status: 201, body: await openSession(deps, account.id, account.login_address_lost_at ? 'login_address_change' : 'full', clock.now()) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/sessions/current/reauthentication',
      tag: 'Accounts',
      summary: `Prove the password again (and otp when 2FA is on): for ${REAUTHENTICATION_MAX_AGE_MS / 60_000} minutes this login may then mint credentials and change the login email, the password or 2FA`,
      roles: ['customer'],
      loginOnly: true,
      scopes: ['login_address_change'],
      body: z
        .object({
          password: z.string().min(1).max(1024),
          otp: z
            .string()
            .trim()
            .regex(/^(\d{6}|\d{5}-?\d{5})$/, 'a 6-digit authenticator code or a backup code')
            .optional(),
        })
        .strict(),
      responses: {
        200: {
          description: 'Re-authenticated: sensitive changes are allowed until privilegedUntil',
          schema: z.object({ reauthenticatedAt: z.string(), privilegedUntil: z.string() }),
        },
        401: { description: 'Wrong password, or the second factor missing or wrong; a wrong one counts toward the lock like a failed login', schema: problem },
        423: { description: 'The right password, but the account is locked', schema: problem },
      },
      async handler({ principal, body, req }) {
        const client = describeClient(req.get('user-agent'));
        const account = await db
          .selectFrom('accounts')
          .select(['id', 'password_hash', 'locked_at', 'totp_secret_sealed', 'two_factor_enabled_at'])
          .where('id', '=', principal.sub)
          .executeTakeFirst();
        if (!account) throw new Problem('unauthenticated', 'This session has ended');
        const ok = await verifyPassword(body.password, account.password_hash ?? DUMMY_PASSWORD_HASH);
        if (!account.password_hash) throw new Problem('invalid-credentials', 'This account has no password to prove');
        if (!ok) {
          await countFailure(account, 'reauthentication', client);
          throw new Problem('invalid-credentials', 'The password is not right');
        }
        if (account.locked_at)
          throw new Problem('account-locked', 'Log in again (POST /v1/sessions) to ask for an identity check, or ask an administrator of your organization');
        if (account.two_factor_enabled_at) {
          if (!body.otp) throw new Problem('second-factor-required', 'Send the code of your authenticator app or a backup code as otp, with the password');
          if (!(await checkSecondFactor(deps, account, body.otp))) {
            await countFailure(account, 'reauthentication', client);
            throw new Problem('invalid-second-factor');
          }
        }
        const now = clock.now();
        await db.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', account.id).execute();
        if (!(await markReauthenticated(db, principal.sid!, account.id, now))) throw new Problem('unauthenticated', 'This session has ended');
        await audit(db, {
          actor_type: 'customer',
          actor_id: account.id,
          action: 'session.reauthenticated',
          subject_type: 'account',
          subject_id: account.id,
          decision: null,
          details: { sessionId: principal.sid },
        });
        return {
          status: 200,
          body: { reauthenticatedAt: now.toISOString(), privilegedUntil: new Date(now.getTime() + REAUTHENTICATION_MAX_AGE_MS).toISOString() },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/sessions/current',
      tag: 'Accounts',
      summary: 'Log out: the session ends and its token stops working',
      roles: ['customer'],
      scopes: ['second_factor', 'locked', 'login_address_change'],
      responses: { 204: { description: 'Ended' }, 409: { description: 'The token is not a login session', schema: problem } },
      async handler({ principal }) {
        if (!principal.sid) throw new Problem('conflict', 'This token was not issued by a login');
        await db.updateTable('sessions').set({ revoked_at: clock.now() }).where('id', '=', principal.sid).where('revoked_at', 'is', null).execute();
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/members/:accountId/unlock',
      tag: 'Accounts',
      summary: "Unlock a member's account locked by failed logins (administrators and legal representatives)",
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      responses: {
        204: { description: 'Unlocked' },
        403: { description: 'Collaborators may not', schema: problem },
        404: { description: 'No such member of yours', schema: problem },
      },
      async handler({ params, principal }) {
        const actor = await findMembership(db, params.id, principal.sub);
        if (!actor) throw new Problem('not-found', 'No such organization');
        if (actor.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives unlock accounts');
        if (!(await findMembership(db, params.id, params.accountId))) throw new Problem('not-found', 'No such member');
        await db.updateTable('accounts').set({ failed_logins: 0, locked_at: null }).where('id', '=', params.accountId).execute();
        // The restricted logins handed out while it was locked have nothing left to do.
        await db
          .updateTable('sessions')
          .set({ revoked_at: clock.now() })
          .where('account_id', '=', params.accountId)
          .where('scope', '=', 'locked')
          .where('revoked_at', 'is', null)
          .execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'account.unlocked',
          subject_type: 'account',
          subject_id: params.accountId,
          decision: null,
          details: { organizationId: params.id },
        });
        return { status: 204 };
      },
    }),
  ];
}
