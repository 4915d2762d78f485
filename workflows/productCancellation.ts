/**
 * P12 Product cancellation with email confirmation [seeds 001, 003, 004]. The request emails a
 * single-use confirmation link; nothing is touched until it is confirmed. Confirmed: the product is
 * terminated, its open and out-of-plan fees stay due on a final invoice, its backups are deleted,
 * and the organization's other administrators are told. Unconfirmed for 14 days: it lapses [inferred].
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS } from '../lib/rules';
import {
  cancellationStateQuery,
  confirmCancellationUpdate,
  type CancellationInput,
  type CancellationResult,
  type CancellationState,
} from './shared/cancellation';
import { FailureType } from './shared/failures';

const acts = proxyActivities<activities.Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes', nonRetryableErrorTypes: [FailureType.NotFound, FailureType.CaseClosed] },
});

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

  await acts.sendCancellationConfirmation({ requestId });
  const confirmed = await condition(() => state === 'confirmed', CANCELLATION_CONFIRMATION_VALIDITY_MS);
  if (!confirmed) {
    state = 'lapsed';
    await acts.lapseCancellationRequest({ requestId });
    return { requestId, state };
  }
  await acts.terminateProduct({ requestId, productId, confirmedBy: confirmedBy ?? 'unknown' });
  await acts.notifyProductTerminated({ requestId });
  return { requestId, state: 'confirmed' };
}
