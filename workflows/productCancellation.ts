/**
 * P12 Product cancellation with email confirmation [seeds 001, 003, 004]. The request emails a
 * single-use confirmation link; nothing is touched until it is confirmed. Confirmed: the product is
 * terminated, its open and out-of-plan fees stay due on a final invoice, its backups are deleted,
 * and the organization's other administrators are told. Unconfirmed for 14 days: it lapses [inferred].
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS } from '../lib/rules';
import {
  cancellationStateQuery,
  confirmCancellationUpdate,
  type CancellationInput,
  type CancellationResult,
  type CancellationState,
} from './shared/cancellation';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';

const finalFailures = [FailureType.NotFound, FailureType.CaseClosed];
const db = proxyActivities<Pick<Activities, 'lapseCancellationRequest' | 'terminateProduct'>>(databaseActivity(finalFailures));
const notify = proxyActivities<Pick<Activities, 'sendCancellationConfirmation' | 'notifyProductTerminated'>>(messageActivity(finalFailures));

export async function productCancellation({ requestId, productId }: CancellationInput): Promise<CancellationResult> {
  let state: CancellationState = 'pending';
  let confirmedBy: string | undefined;

  setHandler(cancellationStateQuery, () => ({ requestId, state }));
  setHandler(
    confirmCancellationUpdate,
    ({ actor }) => {
      confirmedBy = actor;
      state = 'confirmed';
      return { requestId, state };
    },
    {
      validator: (_input) => {
        if (state !== 'pending') throw ApplicationFailure.nonRetryable(`the request is ${state}`, FailureType.CaseClosed);
      },
    },
  );

  await notify.sendCancellationConfirmation({ requestId });
  const confirmed = await condition(() => state === 'confirmed', CANCELLATION_CONFIRMATION_VALIDITY_MS);
  if (!confirmed) {
    state = 'lapsed';
    await db.lapseCancellationRequest({ requestId });
    return { requestId, state };
  }
  await db.terminateProduct({ requestId, productId, confirmedBy: confirmedBy ?? 'unknown' });
  await notify.notifyProductTerminated({ requestId });
  return { requestId, state: 'confirmed' };
}
