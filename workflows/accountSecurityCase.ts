/**
 * P6 and P7 `account-security-case:<accountId>:<reason>`: the holder asks for identity verification
 * to disable 2FA without the device, or to unlock the account. Only an approved case has an
 * effect, applied here and nowhere else: no route lets support disable 2FA directly.
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import type { SecurityCaseInput } from './shared/recovery';
import { verificationWorkflowId, type VerificationInput, type VerificationResult } from './shared/verification';

const notify = proxyActivities<Pick<Activities, 'applyApprovedSecurityCase'>>(messageActivity([FailureType.NotFound]));

export async function accountSecurityCase({ accountId, reason, caseId }: SecurityCaseInput): Promise<VerificationResult> {
  const result = (await executeChild('verificationCase', {
    workflowId: verificationWorkflowId(caseId),
    parentClosePolicy: 'REQUEST_CANCEL',
    args: [
      { accountId, reason, subject: { type: 'account', id: accountId }, openedBy: `workflow:account-security-case:${accountId}` } satisfies VerificationInput,
    ],
  })) as VerificationResult;
  if (result.outcome === 'approved') await notify.applyApprovedSecurityCase({ accountId, reason, caseId });
  return result;
}
