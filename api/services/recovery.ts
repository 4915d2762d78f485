/**
 * Recovery (P3, P4), for people who cannot log in. Every answer before the right code (the request,
 * a wrong or right-looking code with its tries left, the identity check asked once or again, an
 * early `deliver`) is the same, after the same work, whether or not an account matches: each step
 * does the same statements and the same hashing for both, and decides from the request's stage
 * alone (db/repositories/recovery.ts owns that contract); only the holder's own phone or mailbox
 * receives anything. Codes and reset tokens are checked here against their hashes, in one
 * transaction with the attempt count. P4: a reset link works once, for PASSWORD_RESET_LINK_VALIDITY_MS.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
  accountByLogin,
  accountsByPhone,
  askVerification,
  createRecoveryRequest,
  recoveryContacts,
  recoveryStage,
  setResetPassword,
  setResetToken,
  spendResetToken,
  tryRequestCode,
  type RecoveryStage,
} from '../../db/repositories/recovery';
import { revokeAllCredentials } from '../../db/repositories/sessions';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
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
  type RecoveryInput,
  type RecoveryKind,
} from '../../workflows/shared/recovery';
import { notFound, Problem } from '../problems';
import type { RecoveryLimiter } from '../recoveryLimits';
import { startProcess } from './processes';

export interface RecoveryDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  secrets: AccountSecrets;
  limits: RecoveryLimiter;
}

export type LoginChannel = { channel: 'sms' | 'email'; to: string };

const workflowId = (kind: RecoveryKind, id: string) => (kind === 'login_email' ? recoveryLoginWorkflowId(id) : passwordRecoveryWorkflowId(id));
const closed = () => new Problem('recovery-step-out-of-order', 'This recovery request is closed; start a new one');
const found = (stage: RecoveryStage | undefined): RecoveryStage => {
  if (!stage) throw notFound('recovery request');
  return stage;
};

export function recoveryService(deps: RecoveryDeps) {
  const { client, db, clock, secrets, limits } = deps;

  /**
   * The same insert and the same start whether or not an account matched. The id is new, so no
   * process can hold it: 'one-at-a-time' is the SDK's default (ALLOW_DUPLICATE, FAIL) made explicit.
   */
  async function startRequest(kind: RecoveryKind, accountId: string | null, channel: 'sms' | 'email'): Promise<{ requestId: string }> {
    const requestId = randomUUID();
    await createRecoveryRequest(db, { id: requestId, kind, accountId, channel, now: clock.now() });
    await startProcess<RecoveryInput>(
      deps,
      kind === 'login_email' ? 'recoveryLogin' : 'passwordRecovery',
      workflowId(kind, requestId),
      { requestId },
      { policy: 'one-at-a-time' },
    );
    return { requestId };
  }

  /**
   * Counts a try and compares in constant time. Every refusal is the same 422, whatever the
   * reason (wrong, expired, used, no account), with the tries left.
   */
  async function confirmCode<T>(
    kind: RecoveryKind,
    requestId: string,
    given: string,
    onMatch: (trx: Transaction<Database>, accountId: string) => Promise<T>,
  ): Promise<T> {
    const now = clock.now();
    const outcome = await db.transaction().execute(async (trx) => {
      const tried = await tryRequestCode(trx, secrets, { requestId, kind, code: given, now });
      if (!tried.found) throw notFound('recovery request');
      // An unmatched request has no code: it refuses like a wrong one.
      if (!tried.ok || !tried.accountId) return { ok: false as const, attemptsLeft: tried.ok ? 0 : tried.attemptsLeft };
      const value = await onMatch(trx, tried.accountId);
      return {
        ok: true as const,
        value,
        commands: await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: workflowId(kind, requestId), signal: codeConfirmedSignal.name }]),
      };
    });
    if (!outcome.ok) throw new Problem('code-rejected', undefined, { attemptsLeft: outcome.attemptsLeft });
    // The code is spent and the answer may carry the reset token: it is given even when Temporal is
    // unreachable, since the signal is committed and the relay sends it (issue 15).
    await sendCommitted({ client, db }, outcome.commands).catch(() => undefined);
    return outcome.value;
  }

  return {
    /** P3: one account of the number (and recovery email) gets the SMS code; several or none get nothing, alike. */
    async requestLoginEmail(phone: string, recoveryEmail: string | undefined): Promise<{ requestId: string }> {
      await limits.hit('phone', phone);
      const matches = await accountsByPhone(db, phone, recoveryEmail);
      return startRequest('login_email', matches.length === 1 ? matches[0]! : null, 'sms');
    },

    /** P3: the right code confirms the request; the answer is where the login can be sent, masked. */
    confirmLoginEmail(requestId: string, code: string): Promise<LoginChannel[]> {
      return confirmCode('login_email', requestId, code, async (trx, accountId) => {
        const a = await recoveryContacts(trx, accountId);
        return [
          ...(a.mobile_phone ? [{ channel: 'sms' as const, to: maskPhone(a.mobile_phone) }] : []),
          ...(a.recovery_email ? [{ channel: 'email' as const, to: maskEmail(a.recovery_email) }] : []),
        ];
      });
    },

    /** P3: only a confirmed request has the login sent, on the channel the holder chose. */
    async deliverLogin(requestId: string, channel: 'sms' | 'email'): Promise<void> {
      const stage = found(await recoveryStage(db, 'login_email', requestId));
      if (stage === 'closed') throw closed();
      if (stage !== 'confirmed') throw new Problem('recovery-step-out-of-order', 'Confirm the SMS code first');
      await client.workflow.getHandle(recoveryLoginWorkflowId(requestId)).signal(deliverLoginSignal, { channel });
    },

    /**
     * P3, P4: an identity check instead. Asked again, it answers as the first time without telling
     * the process twice: an unmatched request closes as soon as it is asked, a matched one only when
     * its case ends. The mark and the signal commit together: a retry after a lost signal finds the
     * request asked (issue 15).
     */
    async requestVerification(kind: RecoveryKind, requestId: string): Promise<void> {
      const { stage, commands } = await db.transaction().execute(async (trx) => {
        const { stage, asked } = await askVerification(trx, kind, requestId);
        return {
          stage,
          commands: asked
            ? await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: workflowId(kind, requestId), signal: verificationRequestedSignal.name }])
            : [],
        };
      });
      if (found(stage) === 'closed') throw closed();
      await sendCommitted({ client, db }, commands);
    },

    /** P4: a login whose address is lost is P5's, not this: it gets the answer of an unknown login. */
    async requestPasswordReset(login: string, channel: 'sms' | 'email'): Promise<{ requestId: string }> {
      await limits.hit('login', login);
      return startRequest('password', (await accountByLogin(db, login)) ?? null, channel);
    },

    /**
     * P4 by SMS: the right code turns into a reset token, valid PASSWORD_RESET_LINK_VALIDITY_MS, once.
     * The token is drawn before the code is tried, so a refusal costs the same.
     */
    async confirmPasswordCode(requestId: string, code: string): Promise<{ resetToken: string; validForMs: number }> {
      const token = newToken();
      await confirmCode('password', requestId, code, async (trx) => {
        await setResetToken(trx, requestId, { hash: tokenHash(token), expiresAt: new Date(clock.now().getTime() + PASSWORD_RESET_LINK_VALIDITY_MS) });
      });
      return { resetToken: token, validForMs: PASSWORD_RESET_LINK_VALIDITY_MS };
    },

    /**
     * P4: the reset link sets the new password once, before it expires; every session and
     * credential ends and the holder is told. The password is hashed before the link is looked up,
     * so an unknown link costs the same.
     */
    async resetPassword(token: string, newPassword: string): Promise<void> {
      const hash = await hashPassword(newPassword);
      const now = clock.now();
      const used = await db.transaction().execute(async (trx) => {
        const r = await spendResetToken(trx, tokenHash(token), now);
        if (!r?.account_id) return undefined;
        // The lock stays: a reset proves the mailbox, not that the failed logins were the holder's (P7).
        await setResetPassword(trx, r.account_id, hash);
        await audit(trx, {
          actor_type: 'customer',
          actor_id: r.account_id,
          action: 'account.password_reset',
          subject_type: 'account',
          subject_id: r.account_id,
          decision: null,
          details: { requestId: r.id },
        });
        await revokeAllCredentials(trx, r.account_id, {
          reason: 'password_reset',
          now,
          actor: { actor_type: 'customer', actor_id: r.account_id },
          eventId: r.id,
        });
        // The link is spent by this commit: the notice and the signal commit with it (issue 15).
        const notice: AccountNoticeInput = { accountId: r.account_id, kind: 'password_reset', eventId: r.id };
        return queueWorkflowCommands(trx, [
          { kind: 'start', workflowType: 'accountNotice', workflowId: accountNoticeWorkflowId(notice), taskQueue: deps.taskQueue, args: [notice] },
          { kind: 'signal', workflowId: passwordRecoveryWorkflowId(r.id), signal: passwordResetSignal.name },
        ]);
      });
      if (!used) throw new Problem('recovery-link-invalid');
      await sendCommitted({ client, db }, used);
    },
  };
}
