/**
 * Logins (P5, P6, P7). Every failure before the password is known to be right gets the same 401,
 * with the same hashing work, so the answer reveals no account. Failed logins in a row lock the
 * account; only the holder giving the right password learns that it is locked, and gets a login
 * restricted to asking for an identity check. With 2FA on, the right password alone gives a login
 * restricted to asking for 2FA to be disabled; the otp (authenticator code or a backup code) gives
 * a full one. While the login address is lost (P5), the SMS recovery username and the unchanged
 * password give a login restricted to choosing a new address.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { acceptTotpStep, createSession, useBackupCode } from '../../db/repositories/sessions';
import type { SessionScope } from '../../db/tables/accounts.table';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { BACKUP_CODE_SHAPE, totpStep } from '../../lib/otp';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../lib/passwords';
import { RESTRICTED_SESSION_LIFETIME_MS, SESSION_LIFETIME_MS } from '../../lib/rules';
import { issueToken } from '../auth';
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

/** A login session and its bearer token. */
export async function openSession(deps: Pick<SessionDeps, 'db' | 'clock' | 'authSecret'>, accountId: string, scope: SessionScope) {
  const ttlMs = scope === 'full' ? SESSION_LIFETIME_MS : RESTRICTED_SESSION_LIFETIME_MS;
  const s = await createSession(deps.db, { accountId, scope, now: deps.clock.now(), ttlMs });
  const token = await issueToken(deps.authSecret, { sub: accountId, role: 'customer', sid: s.id, scope }, `${Math.floor(ttlMs / 1000)}s`);
  return { token, expiresIn: Math.floor(ttlMs / 1000), scope };
}

/**
 * The second factor: an authenticator code of a time step not accepted before, or an unused backup
 * code (consumed).
 */
export async function checkSecondFactor(deps: Pick<SessionDeps, 'db' | 'clock' | 'secrets'>, account: { id: string; totp_secret_sealed: Buffer | null }, otp: string): Promise<boolean> {
  if (account.totp_secret_sealed) {
    const step = totpStep(deps.secrets.openTotp(account.id, account.totp_secret_sealed), otp, deps.clock.now().getTime());
    if (step !== null) return acceptTotpStep(deps.db, account.id, step);
  }
  if (!BACKUP_CODE_SHAPE.test(otp)) return false;
  return useBackupCode(deps.db, deps.secrets, account.id, otp, deps.clock.now());
}

export function sessionRoutes(deps: SessionDeps): AnyRoute[] {
  const { client, db, taskQueue, clock } = deps;

  /** One statement counts the failure and locks at the threshold, whatever the concurrency. */
  async function countFailure(account: { id: string; locked_at: Date | null }): Promise<void> {
    const now = clock.now();
    const row = await db
      .updateTable('accounts')
      .set((eb) => ({
        failed_logins: eb('failed_logins', '+', 1),
        locked_at: sql<Date | null>`case when locked_at is null and failed_logins + 1 >= ${deps.lockAfterFailedLogins} then ${now}::timestamptz else locked_at end`,
      }))
      .where('id', '=', account.id)
      .returning(['failed_logins', 'locked_at'])
      .executeTakeFirstOrThrow();
    if (!account.locked_at && row.locked_at) {
      await audit(db, { actor_type: 'system', actor_id: 'login', action: 'account.locked', subject_type: 'account', subject_id: account.id, decision: null, details: { failedLogins: row.failed_logins } });
      await client.workflow.start('accountLocked', { workflowId: `account-locked:${account.id}:${row.locked_at.getTime()}`, taskQueue, args: [{ accountId: account.id, lockedAt: row.locked_at.toISOString() }] });
    }
  }

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
          otp: z.string().trim().regex(/^(\d{6}|\d{5}-?\d{5})$/, 'a 6-digit authenticator code or a backup code').optional(),
        })
        .strict(),
      responses: {
        201: { description: 'A bearer token: full, or restricted to choosing a new login address (P5)', schema: session },
        401: { description: 'Unknown login or wrong password (the same answer); or the second factor is missing or wrong, with a token restricted to asking for 2FA to be disabled', schema: problem },
        423: { description: 'The right password, but the account is locked; with a token restricted to asking for an identity check', schema: problem },
      },
      async handler({ body }) {
        const login = body.login.toLowerCase();
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
        if (!account || !account.password_hash) throw new Problem('invalid-credentials');
        if (!ok) {
          await countFailure(account);
          throw new Problem('invalid-credentials');
        }
        if (account.locked_at) {
          const restricted = await openSession(deps, account.id, 'locked');
          throw new Problem('account-locked', 'Ask an administrator of your organization, or ask for an identity check with this restricted token', { restrictedToken: restricted.token, allowed: 'POST /v1/accounts/me/unlock-requests' });
        }
        if (account.two_factor_enabled_at) {
          if (!body.otp) {
            const restricted = await openSession(deps, account.id, 'second_factor');
            throw new Problem('second-factor-required', undefined, { restrictedToken: restricted.token, allowed: 'POST /v1/accounts/me/two-factor/disable-requests' });
          }
          if (!(await checkSecondFactor(deps, account, body.otp))) {
            await countFailure(account);
            throw new Problem('invalid-second-factor');
          }
        }
        await db.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', account.id).execute();
        return { status: 201, body: await openSession(deps, account.id, account.login_address_lost_at ? 'login_address_change' : 'full') };
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
      responses: { 204: { description: 'Unlocked' }, 403: { description: 'Collaborators may not', schema: problem }, 404: { description: 'No such member of yours', schema: problem } },
      async handler({ params, principal }) {
        const actor = await findMembership(db, params.id, principal.sub);
        if (!actor) throw new Problem('not-found', 'No such organization');
        if (actor.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives unlock accounts');
        if (!(await findMembership(db, params.id, params.accountId))) throw new Problem('not-found', 'No such member');
        await db.updateTable('accounts').set({ failed_logins: 0, locked_at: null }).where('id', '=', params.accountId).execute();
        // The restricted logins handed out while it was locked have nothing left to do.
        await db.updateTable('sessions').set({ revoked_at: clock.now() }).where('account_id', '=', params.accountId).where('scope', '=', 'locked').where('revoked_at', 'is', null).execute();
        await audit(db, { actor_type: 'customer', actor_id: principal.sub, action: 'account.unlocked', subject_type: 'account', subject_id: params.accountId, decision: null, details: { organizationId: params.id } });
        return { status: 204 };
      },
    }),
  ];
}

