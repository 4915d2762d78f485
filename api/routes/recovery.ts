/**
 * Recovery routes (P3, P4), for people who cannot log in: no bearer token, rate-limited per phone
 * number, per login and per client address. Every answer before the right code (the request, a
 * wrong or right-looking code with its tries left, the identity check asked once or again, an
 * early `deliver`) is the same, after the same work, whether or not an account matches: the routes
 * answer from the request's stage alone (`db/repositories/recoveryRequests.ts` owns that
 * contract), and only the holder's own phone or mailbox receives anything. Codes and reset tokens
 * are checked here against their hashes, in one transaction with the attempt count.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { revokeAllCredentials } from '../../db/repositories/sessions';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import { askVerification, newRecoveryRequest, recoveryStage, tryRequestCode, type RecoveryStage } from '../../db/repositories/recoveryRequests';
import { newToken, tokenHash, type AccountSecrets } from '../../lib/accountSecrets';
import { maskEmail, maskPhone } from '../../lib/mask';
import { hashPassword } from '../../lib/passwords';
import { PASSWORD_RESET_LINK_VALIDITY_MS } from '../../lib/rules';
import { sendCommitted } from '../../temporal/workflowCommands';
import {
  accountNoticeWorkflowId,
  codeConfirmedSignal,
  deliverLoginSignal,
  passwordRecoveryWorkflowId,
  passwordResetSignal,
  recoveryLoginWorkflowId,
  verificationRequestedSignal,
  type AccountNoticeInput,
  type RecoveryKind,
} from '../../workflows/shared/recovery';
import type { RecoveryLimiter } from '../recoveryLimits';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +41791234567');
export const NEW_PASSWORD = z.string().min(10, 'at least 10 characters').max(1024);
const accepted = z.object({ requestId: z.uuid(), next: z.string() });
const code = z.object({ code: z.string().trim().regex(/^\d{6}$/, '6 digits') }).strict();

const NEXT = {
  login_email:
    'If this number belongs to one account, an SMS code is on its way: confirm it at …/confirm. If several accounts share the number, start again with the recovery email address. Without access to the phone, ask for an identity check at …/verification.',
  password: 'If this login exists and has the chosen recovery option, a reset link or an SMS code is on its way. Without any option left, ask for an identity check at …/verification.',
  verification: 'If the request matches an account, its holder receives a link to the identity check on the contact details we have.',
} as const;

export function recoveryRoutes(deps: { client: Client; db: Kysely<Database>; taskQueue: string; clock: { now(): Date }; secrets: AccountSecrets; limits: RecoveryLimiter }): AnyRoute[] {
  const { client, db, taskQueue, clock, secrets, limits } = deps;
  const workflowId = (kind: RecoveryKind, id: string) => (kind === 'login_email' ? recoveryLoginWorkflowId(id) : passwordRecoveryWorkflowId(id));

  async function startRequest(kind: RecoveryKind, accountId: string | null, channel: 'sms' | 'email') {
    const requestId = randomUUID();
    await db.insertInto('recovery_requests').values(newRecoveryRequest({ id: requestId, kind, accountId, channel, now: clock.now() })).execute();
    await client.workflow.start(kind === 'login_email' ? 'recoveryLogin' : 'passwordRecovery', { workflowId: workflowId(kind, requestId), taskQueue, args: [{ requestId }] });
    return { status: 202, body: { requestId, next: NEXT[kind] } };
  }

  /**
   * Counts a try and compares in constant time. Every refusal is the same 422, whatever the
   * reason (wrong, expired, used, no account), with the tries left.
   */
  async function confirmCode(kind: RecoveryKind, requestId: string, given: string, onMatch: (trx: Transaction<Database>, accountId: string) => Promise<unknown>) {
    const now = clock.now();
    const outcome = await db.transaction().execute(async (trx) => {
      const tried = await tryRequestCode(trx, secrets, { requestId, kind, code: given, now });
      if (!tried.found) throw new Problem('not-found', 'No such recovery request');
      // An unmatched request has no code: it refuses like a wrong one.
      if (!tried.ok || !tried.accountId) return { ok: false as const, attemptsLeft: tried.ok ? 0 : tried.attemptsLeft };
      const value = await onMatch(trx, tried.accountId);
      return { ok: true as const, value, commands: await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: workflowId(kind, requestId), signal: codeConfirmedSignal.name }]) };
    });
    if (!outcome.ok) throw new Problem('code-rejected', undefined, { attemptsLeft: outcome.attemptsLeft });
    // The code is spent and the answer may carry the reset token: it is given even when Temporal is
    // unreachable, since the signal is committed and the relay sends it (issue 15).
    await sendCommitted({ client, db }, outcome.commands).catch(() => undefined);
    return outcome.value;
  }

  const closed = () => new Problem('recovery-step-out-of-order', 'This recovery request is closed; start a new one');
  const found = (stage: RecoveryStage | undefined): RecoveryStage => {
    if (!stage) throw new Problem('not-found', 'No such recovery request');
    return stage;
  };

  const requestVerification = (kind: RecoveryKind) =>
    defineRoute({
      method: 'post',
      path: `/v1/recovery/${kind === 'login_email' ? 'login-email' : 'password'}/:requestId/verification`,
      tag: 'Recovery',
      summary: `Ask for an identity check instead (reason ${kind === 'login_email' ? 'forgotten_login_email' : 'forgotten_password'}); the same answer whether or not an account matched`,
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      responses: { 202: { description: 'Accepted', schema: accepted }, 404: { description: 'No such request', schema: problem }, 409: { description: 'The request is closed', schema: problem } },
      async handler({ params }) {
        // Asked again, it answers as the first time without telling the process twice: an unmatched
        // request closes as soon as it is asked, a matched one only when its case ends.
        // The mark and the signal commit together: a retry after a lost signal finds the request asked (issue 15).
        const { stage, commands } = await db.transaction().execute(async (trx) => {
          const { stage, asked } = await askVerification(trx, kind, params.requestId);
          return { stage, commands: asked ? await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: workflowId(kind, params.requestId), signal: verificationRequestedSignal.name }]) : [] };
        });
        if (found(stage) === 'closed') throw closed();
        await sendCommitted({ client, db }, commands);
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
      body: z.object({ phone: E164, recoveryEmail: z.email().max(254).optional() }).strict(),
      responses: { 202: { description: 'The same answer whether or not an account matched', schema: accepted }, 429: { description: 'Too many requests for this number or client address', schema: problem } },
      async handler({ body }) {
        limits.hit('phone', body.phone);
        let q = db.selectFrom('accounts').select('id').where('mobile_phone', '=', body.phone);
        if (body.recoveryEmail) q = q.where((eb) => eb(eb.fn('lower', ['recovery_email']), '=', body.recoveryEmail!.toLowerCase()));
        const matches = await q.limit(2).execute();
        return startRequest('login_email', matches.length === 1 ? matches[0]!.id : null, 'sms');
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
        422: { description: 'Wrong, expired or used code, or no tries left (one answer)', schema: problem },
      },
      async handler({ params, body }) {
        const channels = (await confirmCode('login_email', params.requestId, body.code, async (trx, accountId) => {
          const a = await trx.selectFrom('accounts').select(['mobile_phone', 'recovery_email']).where('id', '=', accountId).executeTakeFirstOrThrow();
          return [...(a.mobile_phone ? [{ channel: 'sms' as const, to: maskPhone(a.mobile_phone) }] : []), ...(a.recovery_email ? [{ channel: 'email' as const, to: maskEmail(a.recovery_email) }] : [])];
        })) as { channel: 'sms' | 'email'; to: string }[];
        return { status: 200, body: { channels } };
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
      responses: { 202: { description: 'On its way', schema: accepted }, 409: { description: 'The code is not confirmed, or the request is closed', schema: problem } },
      async handler({ params, body }) {
        const stage = found(await recoveryStage(db, 'login_email', params.requestId));
        if (stage === 'closed') throw closed();
        if (stage !== 'confirmed') throw new Problem('recovery-step-out-of-order', 'Confirm the SMS code first');
        await client.workflow.getHandle(recoveryLoginWorkflowId(params.requestId)).signal(deliverLoginSignal, { channel: body.channel });
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
      responses: { 202: { description: 'The same answer for every login', schema: accepted }, 429: { description: 'Too many requests for this login or client address', schema: problem } },
      async handler({ body }) {
        limits.hit('login', body.login);
        const a = await db
          .selectFrom('accounts')
          .select('id')
          .where((eb) => eb(eb.fn('lower', ['login_email']), '=', body.login.toLowerCase()))
          .where('login_address_lost_at', 'is', null)
          .executeTakeFirst();
        return startRequest('password', a?.id ?? null, body.channel);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/password/:requestId/confirm',
      tag: 'Recovery',
      summary: 'P4: confirm the SMS code; the answer carries a reset token valid one hour, once',
      roles: [],
      params: z.object({ requestId: z.uuid() }),
      body: code,
      responses: { 200: { description: 'Confirmed', schema: z.object({ resetToken: z.string(), expiresIn: z.number().int() }) }, 422: { description: 'Wrong, expired or used code (one answer)', schema: problem } },
      async handler({ params, body }) {
        const token = newToken();
        await confirmCode('password', params.requestId, body.code, async (trx) => {
          await trx
            .updateTable('recovery_requests')
            .set({ token_hash: tokenHash(token), token_expires_at: new Date(clock.now().getTime() + PASSWORD_RESET_LINK_VALIDITY_MS) })
            .where('id', '=', params.requestId)
            .execute();
        });
        return { status: 200, body: { resetToken: token, expiresIn: PASSWORD_RESET_LINK_VALIDITY_MS / 1000 } };
      },
    }),
    requestVerification('password'),
    defineRoute({
      method: 'post',
      path: '/v1/recovery/password/:token',
      tag: 'Recovery',
      summary: 'P4: set a new password with the reset link (once, within the hour); every session ends and the holder is told',
      roles: [],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }),
      body: z.object({ newPassword: NEW_PASSWORD }).strict(),
      responses: { 204: { description: 'Password set' }, 404: { description: 'Unknown, used or expired link', schema: problem } },
      async handler({ params, body }) {
        const hash = await hashPassword(body.newPassword);
        const now = clock.now();
        const used = await db.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable('recovery_requests')
            .set({ token_used_at: now, token_hash: null })
            .where('token_hash', '=', tokenHash(params.token))
            .where('kind', '=', 'password')
            .where('token_used_at', 'is', null)
            .where('closed_at', 'is', null)
            .where('token_expires_at', '>', now)
            .returning(['id', 'account_id'])
            .executeTakeFirst();
          if (!r?.account_id) return undefined;
          // The lock stays: a reset proves the mailbox, not that the failed logins were the holder's (P7).
          await trx.updateTable('accounts').set({ password_hash: hash, failed_logins: 0 }).where('id', '=', r.account_id).execute();
          await audit(trx, { actor_type: 'customer', actor_id: r.account_id, action: 'account.password_reset', subject_type: 'account', subject_id: r.account_id, decision: null, details: { requestId: r.id } });
          await revokeAllCredentials(trx, r.account_id, { reason: 'password_reset', now, actor: { actor_type: 'customer', actor_id: r.account_id }, eventId: r.id });
          // The link is spent by this commit: the notice and the signal commit with it (issue 15).
          const notice: AccountNoticeInput = { accountId: r.account_id, kind: 'password_reset', eventId: r.id };
          return queueWorkflowCommands(trx, [
            { kind: 'start', workflowType: 'accountNotice', workflowId: accountNoticeWorkflowId(notice), taskQueue, args: [notice] },
            { kind: 'signal', workflowId: passwordRecoveryWorkflowId(r.id), signal: passwordResetSignal.name },
          ]);
        });
        if (!used) throw new Problem('recovery-link-invalid');
        await sendCommitted({ client, db }, used);
        return { status: 204 };
      },
    }),
  ];
}
