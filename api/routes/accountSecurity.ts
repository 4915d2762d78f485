/**
 * The holder's own security settings (P5–P8): 2FA with backup codes, identity checks to disable
 * 2FA or unlock the account, a new login address, application passwords and API tokens, the
 * compromised-password wizard. Every route acts on the caller's own account ("me"); support has
 * no route here, so it can never disable 2FA or unlock an account outside an approved case.
 *
 * Changes that hand the account to whoever holds the session (minting API tokens and application
 * passwords, the login email, the password, switching 2FA on or off) are `recentLogin`: a login
 * that proved the password, and the second factor when on, within the last few minutes (issue 14,
 * item 3). Their bodies carry no password or code, so that proof has one place and one failure
 * count; the password change alone also asks for the current password (OWASP ASVS V6.2.3), and a
 * wrong one counts toward the lock like a failed login.
 */
import { z } from 'zod';
import { LOGIN_ALERTS } from '../../db/tables/accounts.table';
import {
  ACCOUNT_LOCK_FAILED_LOGINS_MAX,
  ACCOUNT_LOCK_FAILED_LOGINS_MIN,
  API_TOKEN_IDLE_DEACTIVATION_MS,
  describeDuration,
  describePeriod,
  RECOVERY_CODE_VALIDITY_MS,
  REAUTHENTICATION_MAX_AGE_MS,
  TWO_FACTOR_BACKUP_CODES,
} from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { NEW_PASSWORD, phoneNumber } from '../schemas';
import { accountSecurityService, type AccountSecurityDeps } from '../services/accountSecurity';

export { recoveryUsernameCandidate } from '../services/accountSecurity';

export function accountSecurityRoutes(deps: AccountSecurityDeps): AnyRoute[] {
  const security = accountSecurityService(deps);
  const recent = describeDuration(REAUTHENTICATION_MAX_AGE_MS);
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
  const caseOpened = z.object({ caseId: z.uuid(), next: z.string() });
  const sixDigits = z
    .string()
    .trim()
    .regex(/^\d{6}$/);
  const contactChange = z.object({ requestId: z.uuid(), sentTo: z.string() });
  const confirmBody = z.object({ requestId: z.uuid(), code: sixDigits }).strict();

  return [
    defineRoute({
      method: 'get',
      path: '/v1/accounts/me/security',
      tag: 'Account security',
      summary: 'Review the security settings (P8)',
      roles: ['customer'],
      responses: { 200: { description: 'The settings', schema: settingsSchema } },
      async handler({ principal }) {
        return { status: 200, body: await security.settings(principal.sub) };
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
        await security.setLoginAlerts(principal, body.loginAlerts);
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
        await security.setLockThreshold(principal, body.failedLogins);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/two-factor',
      tag: 'Account security',
      summary: `Start switching 2FA on (a login that proved the password within ${recent}): a new authenticator secret, confirmed with its first code`,
      roles: ['customer'],
      recentLogin: true,
      responses: {
        201: { description: 'Add the secret to an authenticator app', schema: z.object({ secret: z.string(), otpauthUrl: z.string() }) },
        409: { description: 'Already on', schema: problem },
      },
      async handler({ principal }) {
        return { status: 201, body: await security.startTwoFactor(principal) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/two-factor/confirm',
      tag: 'Account security',
      summary: `Switch 2FA on with the first authenticator code; the answer holds the ${TWO_FACTOR_BACKUP_CODES} single-use backup codes, shown once`,
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
        return { status: 200, body: await security.confirmTwoFactor(principal, body.otp) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/accounts/me/two-factor',
      recentLogin: true,
      tag: 'Account security',
      summary: `P6 with the device: switch 2FA off from a login that proved the password and a current code within ${recent}; the holder is urged to re-secure`,
      roles: ['customer'],
      responses: { 204: { description: 'Off' }, 409: { description: 'Not on', schema: problem } },
      async handler({ principal }) {
        await security.disableTwoFactor(principal);
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
        return { status: 202, body: await security.askToDisableTwoFactor(principal) };
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
        return { status: 202, body: await security.askToUnlock(principal) };
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
        return { status: 202, body: await security.changeLoginEmail(principal, body.email) };
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
        return { status: 200, body: await security.confirmLoginEmail(principal, body.requestId, body.code) };
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
        const { since } = await security.loginAddressLost(params.id, body.reason);
        return { status: 202, body: { state: 'login_address_lost' as const, since: since.toISOString() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/api-tokens',
      recentLogin: true,
      tag: 'Account security',
      summary: `P8: an API token with an unlimited or a chosen lifetime; shown once. Unused for a ${describePeriod(API_TOKEN_IDLE_DEACTIVATION_MS)}, it is deactivated`,
      roles: ['customer'],
      body: z.object({ name: z.string().trim().min(1).max(100), lifetimeDays: z.number().int().min(1).max(3650).optional() }).strict(),
      responses: { 201: { description: 'The token', schema: z.object({ id: z.uuid(), token: z.string(), expiresAt: z.string().nullable() }) } },
      async handler({ principal, body }) {
        const t = await security.createApiToken(principal, body.name, body.lifetimeDays);
        return { status: 201, body: { ...t, expiresAt: t.expiresAt?.toISOString() ?? null } };
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
        return { status: 201, body: await security.createAppPassword(principal, body.name) };
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
        const items = await security.listAccessTokens(principal);
        return {
          status: 200,
          body: {
            items: items.map((t) => ({
              ...t,
              createdAt: t.createdAt.toISOString(),
              expiresAt: t.expiresAt?.toISOString() ?? null,
              lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
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
        await security.revokeAccessToken(principal, params.id);
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
        return { status: 200, body: await security.compromised(principal, body.currentPassword, body.newPassword) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/accounts/me/recovery-email',
      recentLogin: true,
      tag: 'Account security',
      summary: `Change the recovery email (P3, P4): a code goes to the new address, valid ${describeDuration(RECOVERY_CODE_VALIDITY_MS)}; the old one is told once it is confirmed`,
      roles: ['customer'],
      body: z.object({ email: z.email().max(254) }).strict(),
      responses: { 202: { description: 'A code is on its way to the new address', schema: contactChange } },
      async handler({ principal, body }) {
        return { status: 202, body: await security.changeRecoveryDetail(principal, { recoveryEmail: body.email }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/recovery-email/confirm',
      recentLogin: true,
      tag: 'Account security',
      summary: 'Confirm the new recovery email with its code: recovery uses it at once',
      roles: ['customer'],
      body: confirmBody,
      responses: { 204: { description: 'In force' }, 422: { description: 'Wrong, expired or used code (one answer)', schema: problem } },
      async handler({ principal, body }) {
        await security.confirmRecoveryDetail(principal, 'recovery_email', body.requestId, body.code);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/accounts/me/mobile-phone',
      recentLogin: true,
      tag: 'Account security',
      summary: `Change the mobile number (P3, P5): a code goes to it by SMS, valid ${describeDuration(RECOVERY_CODE_VALIDITY_MS)}; the old number is told once it is confirmed`,
      roles: ['customer'],
      body: z.object({ mobilePhone: phoneNumber }).strict(),
      responses: { 202: { description: 'A code is on its way to the new number', schema: contactChange } },
      async handler({ principal, body }) {
        return { status: 202, body: await security.changeRecoveryDetail(principal, { mobilePhone: body.mobilePhone }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/accounts/me/mobile-phone/confirm',
      recentLogin: true,
      tag: 'Account security',
      summary: 'Confirm the new mobile number with its code: recovery uses it at once',
      roles: ['customer'],
      body: confirmBody,
      responses: { 204: { description: 'In force' }, 422: { description: 'Wrong, expired or used code (one answer)', schema: problem } },
      async handler({ principal, body }) {
        await security.confirmRecoveryDetail(principal, 'mobile_phone', body.requestId, body.code);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/accounts/me/password',
      recentLogin: true,
      tag: 'Account security',
      summary: 'Change the password with the current one: the other sessions end, applications keep their passwords and tokens, the holder is told by email',
      roles: ['customer'],
      body: z.object({ currentPassword: z.string().min(1).max(1024), newPassword: NEW_PASSWORD }).strict(),
      responses: {
        200: { description: 'Changed', schema: z.object({ sessionsEnded: z.number().int() }) },
        401: { description: 'Wrong current password (it counts toward the lock)', schema: problem },
      },
      async handler({ principal, body }) {
        return { status: 200, body: await security.changePassword(principal, body.currentPassword, body.newPassword) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/accounts/me/sessions',
      tag: 'Account security',
      summary: 'The open sessions: device and network as known, when each started and last proved the password; the current one marked',
      roles: ['customer'],
      responses: {
        200: {
          description: 'Newest first',
          schema: z.object({
            items: z.array(
              z.object({
                id: z.uuid(),
                scope: z.string(),
                device: z.string().nullable(),
                network: z.string().nullable(),
                startedAt: z.string(),
                expiresAt: z.string(),
                lastProvedAt: z.string().nullable(),
                current: z.boolean(),
              }),
            ),
          }),
        },
      },
      async handler({ principal }) {
        const items = await security.listSessions(principal);
        return {
          status: 200,
          body: {
            items: items.map((s) => ({
              ...s,
              startedAt: s.startedAt.toISOString(),
              expiresAt: s.expiresAt.toISOString(),
              lastProvedAt: s.lastProvedAt?.toISOString() ?? null,
            })),
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/accounts/me/sessions/:id',
      tag: 'Account security',
      summary: 'End one open session (on a lost phone, a shared computer); its token stops working at once',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 204: { description: 'Ended' }, 404: { description: 'No such open session of yours', schema: problem } },
      async handler({ principal, params }) {
        await security.endSession(principal, params.id);
        return { status: 204 };
      },
    }),
  ];
}
