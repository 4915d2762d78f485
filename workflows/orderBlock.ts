/**
 * P1 Blocked order [seeds 000, 001, 003, 004]. The order waits for the customer's identity check
 * (a verificationCase child). Approved: fulfilled. Rejected, or nothing approved within 10 days:
 * cancelled and refunded in full to the means used, or to the prepaid account for a bank transfer
 * still in progress. A case under review at day 10 is allowed to finish [inferred]. Money moves
 * only in idempotent activities; the compensation runs even when this workflow is cancelled.
 */
import { CancellationScope, condition, executeChild, isCancellation, proxyActivities, setHandler, sleep, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BLOCKED_ORDER_AUTO_CANCEL_MS, describeDuration } from '../lib/rules';
import { databaseActivity, messageActivity, refundActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import { orderBlockStatusQuery, reopenVerificationSignal, type OrderBlockInput, type OrderBlockOutcome, type OrderBlockResult } from './shared/orders';
import { verificationWorkflowId, type VerificationInput, type VerificationResult } from './shared/verification';

const finalFailures = [FailureType.NotFound, FailureType.OrderClosed];
const db = proxyActivities<Pick<Activities, 'attachOrderVerificationCase' | 'verificationCaseStatus' | 'fulfillOrder' | 'cancelOrder'>>(
  databaseActivity(finalFailures),
);
const refund = proxyActivities<Pick<Activities, 'refundOrderPayments'>>(refundActivity(finalFailures));
const notify = proxyActivities<Pick<Activities, 'notifyOrderCancelled'>>(messageActivity(finalFailures));

export async function orderBlock(input: OrderBlockInput): Promise<OrderBlockResult> {
  const { orderId, accountId } = input;
  let caseId = input.caseId;
  let awaitingNewCase = false;
  let reopenRequested = false;
  let deadlinePassed = false;

  setHandler(orderBlockStatusQuery, () => ({ orderId, caseId, awaitingNewCase, deadlinePassed }));
  setHandler(reopenVerificationSignal, () => {
    if (awaitingNewCase) reopenRequested = true;
  });

  const cancelAndRefund = async (outcome: OrderBlockOutcome, reason: string): Promise<OrderBlockResult> => {
    await db.cancelOrder({ orderId, reason });
    await refund.refundOrderPayments({ orderId });
    await notify.notifyOrderCancelled({ orderId });
    return { orderId, outcome };
  };

  try {
    // Detached: it only raises a flag; it rejects only when the process is cancelled.
    void sleep(BLOCKED_ORDER_AUTO_CANCEL_MS).then(
      () => (deadlinePassed = true),
      () => undefined,
    );

    for (;;) {
      const caseScope = new CancellationScope();
      let result: VerificationResult | undefined;
      let childFailed = false;
      const child = caseScope
        .run(() =>
          executeChild('verificationCase', {
            workflowId: verificationWorkflowId(caseId),
            // Even if this process is terminated, the case is cancelled and so erases its evidence.
            parentClosePolicy: 'REQUEST_CANCEL',
            args: [
              {
                accountId,
                reason: 'blocked_order',
                subject: { type: 'order', id: orderId },
                openedBy: `workflow:order-block:${orderId}`,
              } satisfies VerificationInput,
            ],
          }),
        )
        .then(
          (r) => void (result = r as VerificationResult),
          (err: unknown) => {
            if (!isCancellation(err)) childFailed = true;
          },
        );

      await condition(() => result !== undefined || childFailed || deadlinePassed);
      if (!result && !childFailed) {
        // Day 10. A case already submitted is reviewed to the end; anything else stops here.
        const { status } = await db.verificationCaseStatus({ caseId });
        if (status === 'submitted') await condition(() => result !== undefined || childFailed);
        else caseScope.cancel();
      }
      await child;

      if (result?.outcome === 'approved') {
        await db.fulfillOrder({ orderId });
        return { orderId, outcome: 'fulfilled' };
      }
      if (result?.outcome === 'rejected') return await cancelAndRefund('cancelled_rejected', 'identity verification rejected');
      if (deadlinePassed)
        return await cancelAndRefund('cancelled_timeout', `no approved identity verification within ${describeDuration(BLOCKED_ORDER_AUTO_CANCEL_MS)}`);

      // The case expired (or failed) before the deadline: the customer may ask for a new one.
      awaitingNewCase = true;
      await condition(() => reopenRequested || deadlinePassed);
      awaitingNewCase = false;
      if (!reopenRequested)
        return await cancelAndRefund('cancelled_timeout', `no approved identity verification within ${describeDuration(BLOCKED_ORDER_AUTO_CANCEL_MS)}`);
      reopenRequested = false;
      caseId = uuid4();
      await db.attachOrderVerificationCase({ orderId, caseId });
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled by an operator: the order must not stay blocked with the customer's money held.
    await CancellationScope.nonCancellable(() => cancelAndRefund('cancelled', 'blocked order process cancelled'));
    throw err;
  }
}
