/**
 * P3 forgotten login email (`recovery-login:<requestId>`) and P4 forgotten password
 * (`recovery-password:<requestId>`). The request runs the same way whether or not an account
 * matched, so nothing outside the holder's own phone and mailbox tells the difference. This
 * workflow owns the clocks (code validity, link lifetime, the time to choose a channel), the
 * messages, and the hand-over to identity verification; the API checks codes and tokens against
 * PostgreSQL, where they are stored hashed.
 */
import { ApplicationFailure, condition, executeChild, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PASSWORD_RESET_LINK_VALIDITY_MS, RECOVERY_CHOICE_WINDOW_MS, RECOVERY_CODE_VALIDITY_MS } from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  codeConfirmedSignal,
  deliverLoginSignal,
  passwordResetSignal,
  recoveryStatusQuery,
  verificationRequestedSignal,
  type RecoveryInput,
  type RecoveryKind,
  type RecoveryStep,
} from './shared/recovery';
import { verificationWorkflowId, type VerificationInput, type VerificationResult } from './shared/verification';

const finalFailures = [FailureType.NotFound];
const db = proxyActivities<Pick<Activities, 'openRecoveryVerification' | 'expireRecoveryCode' | 'expireRecoveryToken' | 'closeRecoveryRequest'>>(
  databaseActivity(finalFailures),
);
const notify = proxyActivities<Pick<Activities, 'beginRecovery' | 'sendPasswordResetLink' | 'deliverLoginIdentifier'>>(messageActivity(finalFailures));

export async function recoveryLogin(input: RecoveryInput): Promise<{ step: RecoveryStep }> {
  return runRecovery('login_email', input);
}

export async function passwordRecovery(input: RecoveryInput): Promise<{ step: RecoveryStep }> {
  return runRecovery('password', input);
}

async function runRecovery(kind: RecoveryKind, { requestId }: RecoveryInput): Promise<{ step: RecoveryStep }> {
  if (!requestId) throw ApplicationFailure.nonRetryable('requestId is required', FailureType.NotFound);
  let step: RecoveryStep = 'awaiting_code';
  let confirmed = false;
  let verificationAsked = false;
  let resetDone = false;
  let channel: 'sms' | 'email' | undefined;
  setHandler(recoveryStatusQuery, () => ({ step }));
  setHandler(codeConfirmedSignal, () => void (confirmed = true));
  setHandler(deliverLoginSignal, (c) => void (channel ??= c.channel));
  setHandler(verificationRequestedSignal, () => void (verificationAsked = true));
  setHandler(passwordResetSignal, () => void (resetDone = true));

  const begun: { sent: 'code' | 'link' | null; clock?: 'code' | 'link' } = await notify.beginRecovery({ requestId });
  // Histories recorded before `clock` existed ran on what was sent; their results replay as they are.
  const clock = begun.clock ?? (begun.sent === 'link' ? 'link' : 'code');
  // The code dies after 10 minutes whatever happens; a link after an hour.
  // Detached: it only voids a code; it rejects only when the process is cancelled, and closing the
  // request voids the code anyway.
  void sleep(RECOVERY_CODE_VALIDITY_MS).then(
    () => db.expireRecoveryCode({ requestId }),
    () => undefined,
  );
  if (clock === 'link') {
    await condition(() => resetDone || verificationAsked, PASSWORD_RESET_LINK_VALIDITY_MS);
    await db.expireRecoveryToken({ requestId });
  } else {
    await condition(() => confirmed || verificationAsked, RECOVERY_CODE_VALIDITY_MS);
    if (confirmed && !verificationAsked) {
      step = 'confirmed';
      if (kind === 'login_email') {
        // The holder picks where the login goes; the choice window closes the request either way.
        await condition(() => channel !== undefined || verificationAsked, RECOVERY_CHOICE_WINDOW_MS);
        if (channel && !verificationAsked) await notify.deliverLoginIdentifier({ requestId, channel });
      } else {
        // The API minted the reset link with the confirmation; it lives an hour.
        await condition(() => resetDone || verificationAsked, PASSWORD_RESET_LINK_VALIDITY_MS);
        await db.expireRecoveryToken({ requestId });
      }
    }
  }

  if (verificationAsked) {
    step = 'verification';
    await db.expireRecoveryCode({ requestId });
    await db.expireRecoveryToken({ requestId });
    const { accountId, caseId } = await db.openRecoveryVerification({ requestId });
    if (accountId && caseId) {
      const result = (await executeChild('verificationCase', {
        workflowId: verificationWorkflowId(caseId),
        parentClosePolicy: 'REQUEST_CANCEL',
        args: [
          {
            accountId,
            reason: kind === 'login_email' ? 'forgotten_login_email' : 'forgotten_password',
            subject: { type: 'recovery_request', id: requestId },
            openedBy: `workflow:recovery:${requestId}`,
            // P3: the holder no longer knows the login address; write to the recovery channels.
            contact: kind === 'login_email' ? 'recovery_channels' : 'login_email',
          } satisfies VerificationInput,
        ],
      })) as VerificationResult;
      if (result.outcome === 'approved') {
        if (kind === 'login_email') await notify.deliverLoginIdentifier({ requestId, channel: 'all' });
        else {
          await notify.sendPasswordResetLink({ requestId });
          await condition(() => resetDone, PASSWORD_RESET_LINK_VALIDITY_MS);
          await db.expireRecoveryToken({ requestId });
        }
      }
    }
  }
  step = 'closed';
  await db.closeRecoveryRequest({ requestId });
  return { step };
}
