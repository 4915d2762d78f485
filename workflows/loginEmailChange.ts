/**
 * `login-email-change:<requestId>`: a code to the new login address proves the holder reads it
 * (P5, and any holder changing the login address). The code is voided after its validity
 * (RECOVERY_CODE_VALIDITY_MS). A new recovery email or mobile number (issue 17, item 2) runs the same
 * steps: the activity sends the code the request's kind calls for. The type keeps its name so that
 * running processes replay.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RECOVERY_CODE_VALIDITY_MS } from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import type { RecoveryInput } from './shared/recovery';

const finalFailures = [FailureType.NotFound];
const db = proxyActivities<Pick<Activities, 'expireRecoveryCode' | 'closeRecoveryRequest'>>(databaseActivity(finalFailures));
const notify = proxyActivities<Pick<Activities, 'sendLoginEmailCode'>>(messageActivity(finalFailures));

export async function loginEmailChange({ requestId }: RecoveryInput): Promise<void> {
  await notify.sendLoginEmailCode({ requestId });
  await sleep(RECOVERY_CODE_VALIDITY_MS);
  await db.expireRecoveryCode({ requestId });
  await db.closeRecoveryRequest({ requestId });
}
