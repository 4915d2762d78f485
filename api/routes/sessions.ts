/**
 * Logins (P5, P6, P7). Every failure before the password is known to be right gets the same 401,
 * with the same hashing work, so the answer reveals no account. Failed logins in a row lock the
 * account; only the holder giving the right password learns that it is locked, and gets a login
 * restricted to asking for an identity check. With 2FA on, the right password alone gives a login
 * restricted to asking for 2FA to be disabled; the otp (authenticator code or a backup code) gives
 * a full one. While the login address is lost (P5), the SMS recovery username and the unchanged
 * password give a login restricted to choosing a new address.
 *
 * The rules are api/services/sessions.ts; this file translates HTTP.
 *
 * A login counts as re-authenticated at its start; POST /v1/sessions/current/reauthentication
 * proves the password (and the second factor) again for an open one. Sensitive changes ask for
 * that proof to be recent (routes marked recentLogin, issue 14, item 3); a wrong password or
 * second factor there counts toward the lock exactly like a failed login.
 *
 * Login alerts (issue 17, item 5) are queued by the statements that count a failure or reset the
 * count, for the worker's relay to send: the login itself never calls Temporal for them.
 */
import { z } from 'zod';
import { networkOf } from '../../lib/network';
import { describeDuration, REAUTHENTICATION_MAX_AGE_MS } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { describeClient } from '../services/loginAlerts';
import { sessionService, type SessionDeps } from '../services/sessions';

export type { SessionDeps } from '../services/sessions';

const session = z.object({ token: z.string(), expiresIn: z.number().int(), scope: z.enum(['full', 'login_address_change']) });
const otp = z
  .string()
  .trim()
  .regex(/^(\d{6}|\d{5}-?\d{5})$/, 'a 6-digit authenticator code or a backup code')
  .optional();

export function sessionRoutes(deps: SessionDeps): AnyRoute[] {
  const sessions = sessionService(deps);

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
          otp,
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
        const where = { client: describeClient(req.get('user-agent')), network: networkOf(req.ip) };
        return { status: 201, body: await sessions.logIn({ login: body.login, password: body.password, ...(body.otp ? { otp: body.otp } : {}), ...where }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/sessions/current/reauthentication',
      tag: 'Accounts',
      summary: `Prove the password again (and otp when 2FA is on): for ${describeDuration(REAUTHENTICATION_MAX_AGE_MS)} this login may then mint credentials and change the login email, the password or 2FA`,
      roles: ['customer'],
      loginOnly: true,
      scopes: ['login_address_change'],
      body: z
        .object({
          password: z.string().min(1).max(1024),
          otp,
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
        const r = await sessions.reauthenticate(principal, { password: body.password, ...(body.otp ? { otp: body.otp } : {}), client });
        return { status: 200, body: { reauthenticatedAt: r.reauthenticatedAt.toISOString(), privilegedUntil: r.privilegedUntil.toISOString() } };
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
        await sessions.logOut(principal);
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
        await sessions.unlockMember(principal, params.id, params.accountId);
        return { status: 204 };
      },
    }),
  ];
}
