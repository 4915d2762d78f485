/**
 * Recovery routes (P3, P4), for people who cannot log in: no bearer token, rate-limited per phone
 * number, per login and per client address. They parse, call api/services/recovery.ts and present:
 * every answer before the right code is the same whether or not an account matches (the service
 * and db/repositories/recovery.ts keep that contract), so the routes add nothing that depends on it.
 */
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { describeDuration, PASSWORD_RESET_LINK_VALIDITY_MS } from '../../lib/rules';
import type { RecoveryKind } from '../../workflows/shared/recovery';
import { problemSchema } from '../problems';
import type { RecoveryLimiter } from '../recoveryLimits';
import { defineRoute, type AnyRoute } from '../routing';
import { NEW_PASSWORD, phoneNumber } from '../schemas';
import { recoveryService } from '../services/recovery';

/** Also the new password of accountSecurity's routes: one rule for every new password. */
export { NEW_PASSWORD };

const accepted = z.object({ requestId: z.uuid(), next: z.string() });
const code = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^\d{6}$/, '6 digits'),
  })
  .strict();
const RESET_LINK_VALIDITY = describeDuration(PASSWORD_RESET_LINK_VALIDITY_MS);

const NEXT = {
  login_email:
    'If this number belongs to one account, an SMS code is on its way: confirm it at …/confirm. If several accounts share the number, start again with the recovery email address. Without access to the phone, ask for an identity check at …/verification.',
  password:
    'If this login exists and has the chosen recovery option, a reset link or an SMS code is on its way. Without any option left, ask for an identity check at …/verification.',
  verification: 'If the request matches an account, its holder receives a link to the identity check on the contact details we have.',
} as const;

export function recoveryRoutes(deps: {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  secrets: AccountSecrets;
  limits: RecoveryLimiter;
}): AnyRoute[] {
  const svc = recoveryService(deps);

  const requestVerification = (kind: RecoveryKind) =>
    defineRoute({
      method: 'post',
      path: `/v1/recovery/${kind === 'login_email' ? 'login-email' : 'password'}/:requestId/verification`,
      tag: 'Recovery',
      summary: `Ask for an identity check instead (reason ${kind === 'login_email' ? 'forgotten_login_email' : 'forgotten_password'}); the same answer whether or not an account matched`,
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      responses: {
        202: { description: 'Accepted', schema: accepted },
        404: { description: 'No such request', schema: problemSchema },
        409: { description: 'The request is closed', schema: problemSchema },
      },
      async handler({ params }) {
        await svc.requestVerification(kind, params.requestId);
        return { status: 202, body: { requestId: params.requestId, next: NEXT.verification } };
      },
    });

  return [
    defineRoute({
      method: 'post',
      path: '/v1/recovery/login-email',
      tag: 'Recovery',
      summary: 'P3: forgotten login email, found from the mobile number (and the recovery email when several accounts share it)',
      roles: [],
      body: z.object({ phone: phoneNumber, recoveryEmail: z.email().max(254).optional() }).strict(),
      responses: {
        202: { description: 'The same answer whether or not an account matched', schema: accepted },
        429: { description: 'Too many requests for this number or client address', schema: problemSchema },
      },
      async handler({ body }) {
        const { requestId } = await svc.requestLoginEmail(body.phone, body.recoveryEmail);
        return { status: 202, body: { requestId, next: NEXT.login_email } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/login-email/:requestId/confirm',
      tag: 'Recovery',
      summary: 'P3: confirm the SMS code; the answer offers the masked channels the login can be sent to',
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      body: code,
      responses: {
        200: { description: 'Confirmed', schema: z.object({ channels: z.array(z.object({ channel: z.enum(['sms', 'email']), to: z.string() })) }) },
        422: { description: 'Wrong, expired or used code, or no tries left (one answer)', schema: problemSchema },
      },
      async handler({ params, body }) {
        return { status: 200, body: { channels: await svc.confirmLoginEmail(params.requestId, body.code) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/login-email/:requestId/deliver',
      tag: 'Recovery',
      summary: 'P3: send the login identifier by SMS or to the recovery email, once the code is confirmed',
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      body: z.object({ channel: z.enum(['sms', 'email']) }).strict(),
      responses: {
        202: { description: 'On its way', schema: accepted },
        409: { description: 'The code is not confirmed, or the request is closed', schema: problemSchema },
      },
      async handler({ params, body }) {
        await svc.deliverLogin(params.requestId, body.channel);
        return { status: 202, body: { requestId: params.requestId, next: 'The login identifier is on its way.' } };
      },
    }),
    requestVerification('login_email'),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/password',
      tag: 'Recovery',
      summary: 'P4: forgotten password; a reset link to the recovery email, or an SMS code',
      roles: [],
      body: z.object({ login: z.string().trim().min(3).max(254), channel: z.enum(['email', 'sms']).default('email') }).strict(),
      responses: {
        202: { description: 'The same answer for every login', schema: accepted },
        429: { description: 'Too many requests for this login or client address', schema: problemSchema },
      },
      async handler({ body }) {
        const { requestId } = await svc.requestPasswordReset(body.login, body.channel);
        return { status: 202, body: { requestId, next: NEXT.password } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/password/:requestId/confirm',
      tag: 'Recovery',
      summary: `P4: confirm the SMS code; the answer carries a reset token valid ${RESET_LINK_VALIDITY}, once`,
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      body: code,
      responses: {
        200: { description: 'Confirmed', schema: z.object({ resetToken: z.string(), expiresIn: z.number().int() }) },
        422: { description: 'Wrong, expired or used code (one answer)', schema: problemSchema },
      },
      async handler({ params, body }) {
        const { resetToken, validForMs } = await svc.confirmPasswordCode(params.requestId, body.code);
        return { status: 200, body: { resetToken, expiresIn: validForMs / 1000 } };
      },
    }),
    requestVerification('password'),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/password/:token',
      tag: 'Recovery',
      summary: `P4: set a new password with the reset link (once, within ${RESET_LINK_VALIDITY}); every session ends and the holder is told`,
      roles: [],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }),
      body: z.object({ newPassword: NEW_PASSWORD }).strict(),
      responses: { 204: { description: 'Password set' }, 404: { description: 'Unknown, used or expired link', schema: problemSchema } },
      async handler({ params, body }) {
        await svc.resetPassword(params.token, body.newPassword);
        return { status: 204 };
      },
    }),
  ];
}
