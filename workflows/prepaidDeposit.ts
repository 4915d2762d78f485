/**
 * A deposit to the prepaid account by card (issue 17, item 4) [seeds 001, 003]. Its id derives
 * from the organization and the client's idempotency key, so a repeated request joins it.
 *
 * 1. Charge the card at the provider under `prepaid-deposit:<id>` with the row's amount: a retry
 *    after a crash or a lost response reaches the provider with the same key and amount.
 * 2. Credit the ledger once (its reference is the deposit's). A declined card ends the deposit
 *    declined and credits nothing.
 * 3. Email the receipt (or the decline) to the customer who asked.
 */
import { ApplicationFailure, CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { chargeActivity, databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import type { PrepaidDepositInput, PrepaidDepositOutcome } from './shared/prepaid';

const { chargePrepaidDeposit } = proxyActivities<Pick<Activities, 'chargePrepaidDeposit'>>(
  chargeActivity([FailureType.NotFound, FailureType.PaymentDeclined, FailureType.IdempotencyKeyReused]),
);
const { creditPrepaidDeposit, declinePrepaidDeposit } = proxyActivities<Pick<Activities, 'creditPrepaidDeposit' | 'declinePrepaidDeposit'>>(
  databaseActivity([FailureType.NotFound]),
);
const { mailPrepaidDepositOutcome } = proxyActivities<Pick<Activities, 'mailPrepaidDepositOutcome'>>(messageActivity([FailureType.NotFound]));

const declineOf = (err: unknown): ApplicationFailure | undefined => {
  const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type === FailureType.PaymentDeclined ? cause : undefined;
};

export async function prepaidDeposit({ depositId }: PrepaidDepositInput): Promise<PrepaidDepositOutcome> {
  // Once the card may be charged, the deposit runs to its end: a cancellation cannot strand the money.
  const outcome = await CancellationScope.nonCancellable(async (): Promise<PrepaidDepositOutcome> => {
    try {
      await chargePrepaidDeposit({ depositId });
    } catch (err) {
      const declined = declineOf(err);
      if (!declined) throw err;
      await declinePrepaidDeposit({ depositId, reason: declined.message });
      return { depositId, status: 'declined', reason: declined.message };
    }
    await creditPrepaidDeposit({ depositId });
    return { depositId, status: 'credited' };
  });
  await mailPrepaidDepositOutcome({ depositId });
  return outcome;
}
