/**
 * A payout of the prepaid balance (issue 17, item 4) [seeds 001, 003], to a bank account or a
 * PayPal address held in PostgreSQL (the workflow knows the payout's id only).
 *
 * 1. Reserve: debit the ledger at once, so the balance is never spent twice; refused when it does
 *    not cover the amount (the API waits on this step alone and answers 409 then).
 * 2. Email the managers; wait for an agent's decision (update decidePayout) for at most
 *    PREPAID_PAYOUT_DECISION_TIMEOUT_MS.
 * 3. Approved: pay out at the provider under `prepaid-payout:<id>`, mark paid, email.
 *    Rejected, lapsed, or refused by the provider: compensation, the amount credited back once, email.
 */
import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PREPAID_PAYOUT_DECISION_TIMEOUT_MS } from '../lib/rules';
import { databaseActivity, messageActivity, refundActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  decidePayoutUpdate,
  payoutReservationUpdate,
  payoutStatusQuery,
  PrepaidFailure,
  type PrepaidPayoutInput,
  type PrepaidPayoutOutcome,
  type PrepaidPayoutReservation,
  type PrepaidPayoutState,
} from './shared/prepaid';

const { reservePrepaidPayout, decidePrepaidPayout, expirePrepaidPayout, returnPrepaidPayout } = proxyActivities<
  Pick<Activities, 'reservePrepaidPayout' | 'decidePrepaidPayout' | 'expirePrepaidPayout' | 'returnPrepaidPayout'>
>(databaseActivity([FailureType.NotFound, PrepaidFailure.PayoutNotAwaitingApproval]));
// Paying out is owed once approved: retried for as long as it takes, like a refund.
const { payPrepaidPayout } = proxyActivities<Pick<Activities, 'payPrepaidPayout'>>(
  refundActivity([FailureType.NotFound, FailureType.PaymentDeclined, FailureType.IdempotencyKeyReused, PrepaidFailure.PayoutNotAwaitingApproval]),
);
const { mailPrepaidPayout } = proxyActivities<Pick<Activities, 'mailPrepaidPayout'>>(messageActivity([FailureType.NotFound]));

const failureOf = (err: unknown): ApplicationFailure | undefined => {
  const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure ? cause : undefined;
};

export async function prepaidPayout({ payoutId }: PrepaidPayoutInput): Promise<PrepaidPayoutOutcome> {
  let state: PrepaidPayoutState = 'reserving';
  let reservation: PrepaidPayoutReservation | undefined;
  setHandler(payoutReservationUpdate, async () => {
    await condition(() => reservation !== undefined);
    return reservation!;
  });
  setHandler(payoutStatusQuery, () => ({ payoutId, state }));
  setHandler(
    decidePayoutUpdate,
    async (input) => {
      // The database decides a decision racing the deadline or another agent: the first write wins.
      state = await decidePrepaidPayout({ payoutId, ...input });
      return { payoutId, state };
    },
    {
      validator: (_input) => {
        if (state !== 'awaiting_approval') throw ApplicationFailure.nonRetryable(`payout is ${state}`, PrepaidFailure.PayoutNotAwaitingApproval);
      },
    },
  );

  reservation = await reservePrepaidPayout({ payoutId });
  if (reservation.status === 'refused') {
    state = 'refused';
    return { payoutId, status: 'refused' };
  }
  state = 'awaiting_approval';

  const outcome = await CancellationScope.nonCancellable(async (): Promise<PrepaidPayoutOutcome> => {
    await mailPrepaidPayout({ payoutId, event: 'requested' });
    const decided = await condition(() => state !== 'awaiting_approval', PREPAID_PAYOUT_DECISION_TIMEOUT_MS);
    if (!decided) state = await expirePrepaidPayout({ payoutId });
    // A decision arriving as the deadline struck: its update is still recording it.
    await condition(() => state !== 'awaiting_approval');
    if (state === 'approved') {
      try {
        await payPrepaidPayout({ payoutId });
        state = 'paid';
      } catch (err) {
        const failure = failureOf(err);
        if (failure?.type !== FailureType.PaymentDeclined) throw err;
        state = 'failed';
        await returnPrepaidPayout({ payoutId, status: 'failed', reason: failure.message });
      }
    } else {
      await returnPrepaidPayout({ payoutId, status: state === 'rejected' ? 'rejected' : 'expired', reason: null });
    }
    await mailPrepaidPayout({ payoutId, event: state === 'paid' ? 'paid' : 'returned' });
    return { payoutId, status: state as PrepaidPayoutOutcome['status'] };
  });
  await condition(allHandlersFinished);
  return outcome;
}
