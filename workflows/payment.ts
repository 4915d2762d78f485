/**
 * A payment, as a process of its own (issue 13) [seeds 001, 003]. One workflow per payment rather
 * than an update on the renewal run: a customer's payment, the system's record of a bank transfer
 * and the automatic-renewal charge (a child of the renewal run) all take the same path, the API
 * waits on the reservation alone, and a payment in flight outlives the run that asked for it.
 *
 * 1. Reserve: a `pending` row under the invoice's lock, refused at once beyond what is due (the
 *    prepaid account is debited here, so a balance is never spent twice).
 * 2. Charge: a card only, with the key `payment:<id>` and the row's amount, so a retry after a
 *    crash or a lost response reaches the provider with the same key and the same amount.
 * 3. Settle under the invoice's lock; refused then (invoice closed or paid meanwhile), the money
 *    goes back. Once reserved the payment runs to its end: cancelling it cannot strand a charge.
 */
import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { chargeActivity, databaseActivity, refundActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import { paymentReservationUpdate, paymentStatusQuery, type PaymentInput, type PaymentOutcome, type PaymentReservation } from './shared/payment';

const { reservePayment, settlePayment, releasePayment, announcePayment } = proxyActivities<
  Pick<Activities, 'reservePayment' | 'settlePayment' | 'releasePayment' | 'announcePayment'>
>(databaseActivity([FailureType.NotFound]));
const { chargePayment } = proxyActivities<Pick<Activities, 'chargePayment'>>(
  chargeActivity([FailureType.NotFound, FailureType.PaymentDeclined, FailureType.IdempotencyKeyReused]),
);
const { refundPayment } = proxyActivities<Pick<Activities, 'refundPayment'>>(refundActivity([FailureType.NotFound]));

export async function payment(input: PaymentInput): Promise<PaymentOutcome> {
  const { paymentId } = input;
  let reservation: PaymentReservation | undefined;
  let outcome: PaymentOutcome | undefined;
  setHandler(paymentReservationUpdate, async () => {
    await condition(() => reservation !== undefined);
    return reservation!;
  });
  setHandler(paymentStatusQuery, () => ({ reservation: reservation ?? null, outcome: outcome ?? null }));

  reservation = await reservePayment(input);
  if (reservation.status === 'refused') {
    outcome = { paymentId, status: 'refused', reason: reservation.reason };
    return outcome;
  }
  const reserved = reservation;
  outcome = await CancellationScope.nonCancellable(async (): Promise<PaymentOutcome> => {
    if (reserved.means === 'card') {
      try {
        await chargePayment({ paymentId });
      } catch (err) {
        const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
        if (cause instanceof ApplicationFailure && cause.type === FailureType.PaymentDeclined) {
          await releasePayment({ paymentId, status: 'declined', reason: cause.message });
          return { paymentId, status: 'declined', reason: cause.message };
        }
        if (isCancellation(err)) throw err;
        // A fault that outlived every retry: nothing was charged under this key, or the retry
        // would have said so; the reservation is released so the invoice stays payable.
        await releasePayment({ paymentId, status: 'voided', reason: 'the provider could not be reached' });
        throw err;
      }
    }
    const settled = await settlePayment({ paymentId });
    if (settled.status === 'captured') {
      await announcePayment({ paymentId });
      return { paymentId, status: 'captured', amountCents: reserved.amountCents };
    }
    await refundPayment({ paymentId, reason: settled.reason });
    return { paymentId, status: 'refunded', reason: settled.reason, amountCents: reserved.amountCents };
  });
  // An update still waiting would otherwise be left without an answer.
  await condition(allHandlersFinished);
  return outcome;
}
