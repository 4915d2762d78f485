/**
 * The holder's own security settings (P5–P8): 2FA with backup codes, identity checks to disable
 * 2FA or unlock the account, a new login address, application passwords and API tokens, the
 * compromised-password wizard. Every route acts on the caller's own account ("me"); support has
 * no route here, so it can never disable 2FA or unlock an account outside an approved case.
 *
 * Changes that hand the account to whoever holds the session (minting API tokens and application
 * passwords, the login email, the password, switching 2FA on or off) are `recentLogin`: a login
 * that proved the password, and the second factor when on, within the last 10 minutes (issue 14,
 * item 3). Their bodies carry no password or code, so that proof has one place and one failure
 * count; the password change alone also asks for the current password (OWASP ASVS V6.2.3), and a
 * wrong one counts toward the lock like a failed login.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { replaceBackupCodes, revokeAllCredentials } from '../../db/repositories/sessions';
import { tryRequestCode } from '../../db/repositories/recoveryRequests';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import { LOGIN_ALERTS } from '../../db/tables/accounts.table';
import { API_TOKEN_PREFIX } from '../auth';
import { newToken, tokenHash, type AccountSecrets } from '../../lib/accountSecrets';
import { maskEmail, maskPhone } from '../../lib/mask';
import { base32Encode, newBackupCode, otpauthUrl, totpStep } from '../../lib/otp';
import { hashPassword, verifyPassword } from '../../lib/passwords';
import { ACCOUNT_LOCK_FAILED_LOGINS_MAX, ACCOUNT_LOCK_FAILED_LOGINS_MIN, TWO_FACTOR_BACKUP_CODES } from '../../lib/rules';
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
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { openSession } from './sessions';
import { recordFailedLogin } from '../services/failedLogins';
import { setLockThreshold } from '../services/lockThreshold';
import { NEW_PASSWORD } from './recovery';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });

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

export function accountSecurityRoutes(deps: {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  authSecret: string;
  secrets: AccountSecrets;
  lockAfterFailedLogins: number;
}): AnyRoute[] {
  const { client, db, taskQueue, clock, secrets } = deps;

  const me = async (accountId: string) => {
    const a = await db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
    if (!a) throw new Problem('not-found', 'No such account');
    return a;
  };
  // Queued in the transaction of the change it reports: a notice sent after the commit was lost
  // when Temporal was unreachable then, and the retry found nothing left to do (issue 15).
  const notice = (trx: Transaction<Database>, n: AccountNoticeInput) =>
    queueWorkflowCommands(trx, [{ kind: 'start', workflowType: 'accountNotice', workflowId: accountNoticeWorkflowId(n), taskQueue, args: [n] }]);
  const securitySettings = async (accountId: string) => {
    const a = await me(accountId);
    const now = clock.now();
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
    const usable = (t: (typeof tokens)[number]) => !t.revoked_at && !t.deactivated_at && (!t.expires_at || t.expires_at > now);
    const backup = await db
      .selectFrom('backup_codes')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('account_id', '=', accountId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return {
      twoFactor: { enabled: !!a.two_factor_enabled_at, backupCodesLeft: Number(backup.n) },
      loginAlerts: a.login_alerts,
      lockAfterFailedLogins: a.lock_after_failed_logins ?? deps.lockAfterFailedLogins,
      recoveryEmail: a.recovery_email ? maskEmail(a.recovery_email) : null,
      mobilePhone: a.mobile_phone ? maskPhone(a.mobile_phone) : null,
      activeSessions: Number(sessions.n),
      activeApiTokens: tokens.filter((t) => t.kind === 'api_token' && usable(t)).length,
      activeAppPasswords: tokens.filter((t) => t.kind === 'app_password' && usable(t)).length,
      locked: !!a.locked_at,
    };
  };
  const settingsSchema = z.object({
    twoFactor: z.object({ enabled: z.boolean(), backupCodesLeft: z.number().int() }),
    loginAlerts: z.enum(LOGIN_ALERTS),
    lockAfterFailedLogins: z.number().int(),
    recoveryEmail: z.string().nullable(),
    mobilePhone: z.string().nullable(),
    activeSessions: z.number().int(),
    activeApiTokens: z.number().int(),
    activeAppPasswords: z.number().int(),
    locked: z.boolean(),
  });

  /** P6, P7: one identity check of each kind at a time; the case is opened by its process. */
  async function openSecurityCase(accountId: string, reason: SecurityCaseReason) {
    const caseId = randomUUID();
    try {
      await client.workflow.start('accountSecurityCase', {
        workflowId: securityCaseWorkflowId(accountId, reason),
        taskQueue,
        args: [{ accountId, reason, caseId } satisfies SecurityCaseInput],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new Problem('request-pending', 'An identity check of this kind is already under way; follow the link we emailed');
      throw err;
    }
    return { status: 202, body: { caseId, next: 'Follow the link we emailed to your login address to verify your identity; an agent decides.' } };
  }

  return [
    defineRoute({
      method: 'get',
      path: '/v1/accounts/me/security',
      tag: 'Account security',
      summary: 'Review the security settings (P8)',
      roles: ['customer'],
      responses: { 200: { description: 'The settings', schema: settingsSchema } },
      async handler({ principal }) {
        return { status: 200, body: await securitySettings(principal.sub) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/accounts/me/login-alerts',
      tag: 'Account security',
      summary: 'P7: an email per failed login (failures), per successful login (successes), both (all), or none (off)',
      roles: ['customer'],
      body: z.object({ loginAlerts: z.enum(LOGIN_ALERTS) }).strict(),
      responses: { 204: { description: 'Saved' } },
      async handler({ principal, body }) {
        await db.updateTable('accounts').set({ login_alerts: body.loginAlerts }).where('id', '=', principal.sub).execute();
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/accounts/me/lock-threshold',
      // A higher threshold gives a password guesser more tries: only a login that proved the password recently.
      recentLogin: true,
      tag: 'Account security',
      summary: `P7: lock the account after this many failed logins in a row (${ACCOUNT_LOCK_FAILED_LOGINS_MIN} to ${ACCOUNT_LOCK_FAILED_LOGINS_MAX}; null: the platform's, ${deps.lockAfterFailedLogins})`,
      roles: ['customer'],
      body: z.object({ failedLogins: z.number().int().nullable() }).strict(),
      responses: { 204: { description: 'Saved; it applies from the next failed login' }, 422: { description: 'Outside the bounds', schema: problem } },
      async handler({ principal, body }) {
        await setLockThreshold(db, principal.sub, body.failedLogins);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/two-factor',
      tag: 'Account security',
      summary: 'Start switching 2FA on (a login that proved the password within 10 minutes): a new authenticator secret, confirmed with its first code',
      roles: ['customer'],
      recentLogin: true,
      responses: {
        201: { description: 'Add the secret to an authenticator app', schema: z.object({ secret: z.string(), otpauthUrl: z.string() }) },
        409: { description: 'Already on', schema: problem },
      },
      async handler({ principal }) {
        const a = await me(principal.sub);
        if (a.two_factor_enabled_at) throw new Problem('two-factor-already-enabled');
        const secret = randomBytes(20);
        await db
          .updateTable('accounts')
          .set({ totp_pending_sealed: secrets.sealTotp(a.id, secret) })
          .where('id', '=', a.id)
          .execute();
        return { status: 201, body: { secret: base32Encode(secret), otpauthUrl: otpauthUrl(secret, a.login_email) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/two-factor/confirm',
      tag: 'Account security',
      summary: 'Switch 2FA on with the first authenticator code; the answer holds the 10 single-use backup codes, shown once',
      roles: ['customer'],
      body: z
        .object({
          otp: z
            .string()
            .trim()
            .regex(/^\d{6}$/),
        })
        .strict(),
      responses: {
        200: { description: 'On', schema: z.object({ backupCodes: z.array(z.string()) }) },
        422: { description: 'Wrong code', schema: problem },
        409: { description: 'Nothing to confirm', schema: problem },
      },
      async handler({ principal, body }) {
        const a = await me(principal.sub);
        if (a.two_factor_enabled_at) throw new Problem('two-factor-already-enabled');
        if (!a.totp_pending_sealed) throw new Problem('recovery-step-out-of-order', 'Start with POST /v1/accounts/me/two-factor');
        const step = totpStep(secrets.openTotp(a.id, a.totp_pending_sealed), body.otp, clock.now().getTime());
        if (step === null) throw new Problem('code-rejected', 'The authenticator code is not right');
        const codes = Array.from({ length: TWO_FACTOR_BACKUP_CODES }, newBackupCode);
        await db.transaction().execute(async (trx) => {
          // The confirming code is spent too: its step cannot log in afterwards.
          await trx
            .updateTable('accounts')
            .set({ totp_secret_sealed: a.totp_pending_sealed, totp_pending_sealed: null, two_factor_enabled_at: clock.now(), totp_last_step: step })
            .where('id', '=', a.id)
            .execute();
          await replaceBackupCodes(trx, secrets, a.id, codes);
          await audit(trx, {
            actor_type: 'customer',
            actor_id: a.id,
            action: 'account.two_factor_enabled',
            subject_type: 'account',
            subject_id: a.id,
            decision: null,
            details: {},
          });
        });
        return { status: 200, body: { backupCodes: codes } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/accounts/me/two-factor',
      recentLogin: true,
      tag: 'Account security',
      summary:
        'P6 with the device: switch 2FA off from a login that proved the password and a current code within 10 minutes; the holder is urged to re-secure',
      roles: ['customer'],
      responses: { 204: { description: 'Off' }, 409: { description: 'Not on', schema: problem } },
      async handler({ principal }) {
        const a = await me(principal.sub);
        if (!a.two_factor_enabled_at) throw new Problem('two-factor-not-enabled');
        const eventId = randomUUID();
        const commands = await db.transaction().execute(async (trx) => {
          await trx
            .updateTable('accounts')
            .set({ totp_secret_sealed: null, totp_pending_sealed: null, two_factor_enabled_at: null })
            .where('id', '=', a.id)
            .execute();
          await trx.deleteFrom('backup_codes').where('account_id', '=', a.id).execute();
          await audit(trx, {
            actor_type: 'customer',
            actor_id: a.id,
            action: 'account.two_factor_disabled',
            subject_type: 'account',
            subject_id: a.id,
            decision: null,
            details: { eventId },
          });
          return notice(trx, { accountId: a.id, kind: 'two_factor_disabled', eventId });
        });
        await sendCommitted({ client, db }, commands);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/two-factor/disable-requests',
      tag: 'Account security',
      summary: 'P6 without the device: an identity check (reason disable_2fa); 2FA goes off only when an agent approves it',
      roles: ['customer'],
      scopes: ['second_factor'],
      responses: {
        202: { description: 'The case is opened; its link is emailed', schema: z.object({ caseId: z.uuid(), next: z.string() }) },
        409: { description: 'Not on, or a request is pending', schema: problem },
      },
      async handler({ principal }) {
        const a = await me(principal.sub);
        if (!a.two_factor_enabled_at) throw new Problem('two-factor-not-enabled');
        return openSecurityCase(a.id, 'disable_2fa');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/unlock-requests',
      tag: 'Account security',
      summary: 'P7: a locked holder asks for an identity check (reason account_unblock); approval unlocks',
      roles: ['customer'],
      scopes: ['locked'],
      responses: {
        202: { description: 'The case is opened; its link is emailed', schema: z.object({ caseId: z.uuid(), next: z.string() }) },
        409: { description: 'Not locked, or a request is pending', schema: problem },
      },
      async handler({ principal }) {
        const a = await me(principal.sub);
        if (!a.locked_at) throw new Problem('conflict', 'The account is not locked');
        return openSecurityCase(a.id, 'account_unblock');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/login-email',
      recentLogin: true,
      tag: 'Account security',
      summary: 'Choose a new login address (P5: the one thing the recovery username allows); a code goes to it',
      roles: ['customer'],
      scopes: ['login_address_change'],
      body: z.object({ email: z.email().max(254) }).strict(),
      responses: { 202: { description: 'A code is on its way to the new address (unless it already is a login)', schema: z.object({ requestId: z.uuid() }) } },
      async handler({ principal, body }) {
        const requestId = randomUUID();
        await db
          .insertInto('recovery_requests')
          .values({ id: requestId, kind: 'login_address', account_id: principal.sub, channel: 'email', pending_email: body.email })
          .execute();
        await client.workflow.start('loginEmailChange', { workflowId: loginEmailChangeWorkflowId(requestId), taskQueue, args: [{ requestId }] });
        return { status: 202, body: { requestId } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/login-email/confirm',
      recentLogin: true,
      tag: 'Account security',
      summary: 'Confirm the new login address with its code; the recovery username stops working and a full login is returned',
      roles: ['customer'],
      scopes: ['login_address_change'],
      body: z
        .object({
          requestId: z.uuid(),
          code: z
            .string()
            .trim()
            .regex(/^\d{6}$/),
        })
        .strict(),
      responses: {
        200: {
          description: 'The new login is in force; every other session ended',
          schema: z.object({ token: z.string(), expiresIn: z.number().int(), scope: z.literal('full') }),
        },
        422: { description: 'Wrong, expired or used code (one answer)', schema: problem },
      },
      async handler({ principal, body }) {
        const now = clock.now();
        const outcome = await db.transaction().execute(async (trx) => {
          const tried = await tryRequestCode(trx, secrets, {
            requestId: body.requestId,
            kind: 'login_address',
            accountId: principal.sub,
            code: body.code,
            now,
          });
          if (!tried.found || !tried.ok) return { ok: false as const, attemptsLeft: tried.found && !tried.ok ? tried.attemptsLeft : 0 };
          await trx.updateTable('recovery_requests').set({ closed_at: now }).where('id', '=', body.requestId).execute();
          await trx
            .updateTable('accounts')
            .set({ login_email: tried.pendingEmail!, recovery_username: null, login_address_lost_at: null })
            .where('id', '=', principal.sub)
            .execute();
          await audit(trx, {
            actor_type: 'customer',
            actor_id: principal.sub,
            action: 'account.login_email_changed',
            subject_type: 'account',
            subject_id: principal.sub,
            decision: null,
            details: { requestId: body.requestId },
          });
          await revokeAllCredentials(trx, principal.sub, {
            reason: 'login_email_changed',
            now,
            actor: { actor_type: 'customer', actor_id: principal.sub },
            eventId: body.requestId,
          });
          // A signal to no recovery (a plain change, or one that has ended) is done: nothing waits for it.
          const restored = await queueWorkflowCommands(trx, [
            { kind: 'signal', workflowId: loginAddressRecoveryWorkflowId(principal.sub), signal: loginAddressRestoredSignal.name },
          ]);
          return {
            ok: true as const,
            commands: [...restored, ...(await notice(trx, { accountId: principal.sub, kind: 'login_email_changed', eventId: body.requestId }))],
          };
        });
        if (!outcome.ok) throw new Problem('code-rejected', undefined, { attemptsLeft: outcome.attemptsLeft });
        await sendCommitted({ client, db }, outcome.commands);
        // The new login carries this one's proof of the password, not a fresh one.
        return { status: 200, body: await openSession(deps, principal.sub, 'full', principal.reauthenticatedAt) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/:id/login-address-lost',
      tag: 'Account security',
      summary: 'P5 (system): the hosted mailbox used as login was deleted or its Mail Service cancelled; the holder gets an SMS recovery username',
      roles: ['system'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ reason: z.enum(['mailbox_deleted', 'mail_service_cancelled']) }).strict(),
      responses: {
        202: {
          description: 'The account is in the "login address being changed" state (again: nothing new)',
          schema: z.object({ state: z.literal('login_address_lost'), since: z.string() }),
        },
        404: { description: 'No such account', schema: problem },
        409: { description: 'The login address is not hosted by us', schema: problem },
      },
      async handler({ params, body }) {
        const a = await me(params.id);
        const domain = a.login_email.slice(a.login_email.lastIndexOf('@') + 1).toLowerCase();
        const hosted = await db.selectFrom('organization_mail_domains').select('domain').where('domain', '=', domain).executeTakeFirst();
        if (!hosted) throw new Problem('login-address-not-hosted');
        const now = clock.now();
        let since = a.login_address_lost_at;
        for (let attempt = 0; !since && attempt < 10; attempt += 1) {
          try {
            await db.transaction().execute(async (trx) => {
              const row = await trx
                .updateTable('accounts')
                .set({ recovery_username: recoveryUsernameCandidate(a.display_name), login_address_lost_at: now })
                .where('id', '=', a.id)
                .where('login_address_lost_at', 'is', null)
                .returning('login_address_lost_at')
                .executeTakeFirst();
              if (!row) return;
              await audit(trx, {
                actor_type: 'system',
                actor_id: 'mail',
                action: 'account.login_address_lost',
                subject_type: 'account',
                subject_id: a.id,
                decision: null,
                details: { reason: body.reason },
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
        try {
          await client.workflow.start('loginAddressRecovery', {
            workflowId: loginAddressRecoveryWorkflowId(a.id),
            taskQueue,
            args: [{ accountId: a.id }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        return { status: 202, body: { state: 'login_address_lost' as const, since: since.toISOString() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/api-tokens',
      recentLogin: true,
      tag: 'Account security',
      summary: 'P8: an API token with an unlimited or a chosen lifetime; shown once. Unused for a year, it is deactivated',
      roles: ['customer'],
      body: z.object({ name: z.string().trim().min(1).max(100), lifetimeDays: z.number().int().min(1).max(3650).optional() }).strict(),
      responses: { 201: { description: 'The token', schema: z.object({ id: z.uuid(), token: z.string(), expiresAt: z.string().nullable() }) } },
      async handler({ principal, body }) {
        const token = newToken(API_TOKEN_PREFIX);
        const now = clock.now();
        const expiresAt = body.lifetimeDays ? new Date(now.getTime() + body.lifetimeDays * 86_400_000) : null;
        const id = randomUUID();
        await db
          .insertInto('access_tokens')
          .values({ id, account_id: principal.sub, kind: 'api_token', name: body.name, token_hash: tokenHash(token), created_at: now, expires_at: expiresAt })
          .execute();
        return { status: 201, body: { id, token, expiresAt: expiresAt?.toISOString() ?? null } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/app-passwords',
      recentLogin: true,
      tag: 'Account security',
      summary: 'P8: an application password (for a mail or calendar app); shown once',
      roles: ['customer'],
      body: z.object({ name: z.string().trim().min(1).max(100) }).strict(),
      responses: { 201: { description: 'The password', schema: z.object({ id: z.uuid(), password: z.string() }) } },
      async handler({ principal, body }) {
        const password = randomBytes(12).toString('base64url');
        const id = randomUUID();
        await db
          .insertInto('access_tokens')
          .values({
            id,
            account_id: principal.sub,
            kind: 'app_password',
            name: body.name,
            token_hash: tokenHash(password),
            created_at: clock.now(),
            expires_at: null,
          })
          .execute();
        return { status: 201, body: { id, password } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/accounts/me/access-tokens',
      tag: 'Account security',
      summary: 'P8: application passwords and API tokens, with last use and lifetime',
      roles: ['customer'],
      responses: {
        200: {
          description: 'The list',
          schema: z.object({
            items: z.array(
              z.object({
                id: z.uuid(),
                kind: z.enum(['api_token', 'app_password']),
                name: z.string(),
                createdAt: z.string(),
                expiresAt: z.string().nullable(),
                lastUsedAt: z.string().nullable(),
                state: z.enum(['active', 'expired', 'revoked', 'deactivated']),
              }),
            ),
          }),
        },
      },
      async handler({ principal }) {
        const now = clock.now();
        const rows = await db.selectFrom('access_tokens').selectAll().where('account_id', '=', principal.sub).orderBy('created_at', 'desc').execute();
        return {
          status: 200,
          body: {
            items: rows.map((r) => ({
              id: r.id,
              kind: r.kind,
              name: r.name,
              createdAt: r.created_at.toISOString(),
              expiresAt: r.expires_at?.toISOString() ?? null,
              lastUsedAt: r.last_used_at?.toISOString() ?? null,
              state: r.revoked_at ? 'revoked' : r.deactivated_at ? 'deactivated' : r.expires_at && r.expires_at <= now ? 'expired' : 'active',
            })),
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/accounts/me/access-tokens/:id',
      tag: 'Account security',
      summary: 'P8: revoke one application password or API token',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 204: { description: 'Revoked' }, 404: { description: 'Not yours', schema: problem } },
      async handler({ principal, params }) {
        const r = await db
          .updateTable('access_tokens')
          .set({ revoked_at: clock.now() })
          .where('id', '=', params.id)
          .where('account_id', '=', principal.sub)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw new Problem('not-found', 'No such token of yours');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/compromised',
      recentLogin: true,
      tag: 'Account security',
      summary: 'P8 wizard: change the password, revoke every application password and API token, end the other sessions, then review the settings',
      roles: ['customer'],
      body: z.object({ currentPassword: z.string().min(1).max(1024), newPassword: NEW_PASSWORD }).strict(),
      responses: {
        200: {
          description: 'Done; review these settings',
          schema: z.object({
            revoked: z.object({ apiTokens: z.number().int(), appPasswords: z.number().int() }),
            sessionsEnded: z.number().int(),
            review: settingsSchema,
          }),
        },
        401: { description: 'Wrong current password', schema: problem },
      },
      async handler({ principal, body }) {
        const a = await me(principal.sub);
        if (!a.password_hash || !(await verifyPassword(body.currentPassword, a.password_hash))) {
          // A wrong current password counts toward the lock like a failed login (issue 14, item 3).
          if (a.password_hash) await recordFailedLogin(deps, a, 'current_password');
          throw new Problem('invalid-credentials', 'The current password is not right');
        }
        const hash = await hashPassword(body.newPassword);
        const now = clock.now();
        const eventId = randomUUID();
        const result = await db.transaction().execute(async (trx) => {
          await trx.updateTable('accounts').set({ password_hash: hash, failed_logins: 0 }).where('id', '=', a.id).execute();
          await audit(trx, {
            actor_type: 'customer',
            actor_id: a.id,
            action: 'account.password_compromised',
            subject_type: 'account',
            subject_id: a.id,
            decision: null,
            details: { eventId },
          });
          // The login running the wizard is kept (see revokeAllCredentials); it is a session, never an API token.
          const r = await revokeAllCredentials(trx, a.id, {
            reason: 'password_compromised',
            now,
            actor: { actor_type: 'customer', actor_id: a.id },
            keepSession: principal.sid,
            eventId,
          });
          return {
            revoked: { apiTokens: r.apiTokens, appPasswords: r.appPasswords },
            sessionsEnded: r.sessionsEnded,
            commands: await notice(trx, { accountId: a.id, kind: 'password_changed', eventId }),
          };
        });
        await sendCommitted({ client, db }, result.commands);
        return { status: 200, body: { revoked: result.revoked, sessionsEnded: result.sessionsEnded, review: await securitySettings(a.id) } };
      },
    }),
  ];
}
