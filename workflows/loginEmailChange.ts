/**
 * `login-email-change:<requestId>`: a code to the new login address proves the holder reads it
 * (P5, and any holder changing the login address). The code is voided after 10 minutes.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import { RECOVERY_CODE_VALIDITY_MS } from '../lib/rules';
import { FailureType } from './shared/failures';
import type { RecoveryInput } from './shared/recovery';

const acts = proxyActivities<activities.Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes', nonRetryableErrorTypes: [FailureType.NotFound] },
});

export async function loginEmailChange({ requestId }: RecoveryInput): Promise<void> {
  await acts.sendLoginEmailCode({ requestId });
  await sleep(RECOVERY_CODE_VALIDITY_MS);
  await acts.expireRecoveryCode({ requestId });
  await acts.closeRecoveryRequest({ requestId });
}
