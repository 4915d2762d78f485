/**
 * Side effects of the payment process (issue 13): the provider is called only here, with keys
 * derived from the payment row and amounts read from it, so a retried activity repeats exactly the
 * same request and the provider's idempotency answers it with the first result.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  completeRefund,
  findPayment,
  openRefund,
  recordCharge,
  releasePayment as release,
  reservePayment as reserve,
  settlePayment as settle,
} from '../db/repositories/payments';
import { IdempotencyKeyReusedError, PaymentDeclinedError } from '../lib/payments';
import { FailureType } from '../workflows/shared/failures';
import { chargeKey, refundKey, type PaymentInput, type PaymentReservation } from '../workflows/shared/payment';
import { renewalChangedSignal, renewalWorkflowId, type RenewalInput } from '../workflows/shared/renewal';
import type { ActivityDeps } from './deps';

export function createPaymentActivities({ db, clock, payments, temporal }: ActivityDeps) {
  async function paymentOrFail(paymentId: string) {
    const p = await findPayment(db, paymentId);
    if (!p) throw ApplicationFailure.nonRetryable(`payment ${paymentId} not found`, FailureType.NotFound);
    return p;
  }

  async function reservePayment(input: PaymentInput): Promise<PaymentReservation> {
    return reserve(db, input, clock.now());
  }

  /** Charges the reserved amount once; a declined card is a business outcome, never retried. */
  async function chargePayment({ paymentId }: { paymentId: string }): Promise<{ chargeId: string | null }> {
    const p = await paymentOrFail(paymentId);
    if (p.means !== 'card' || p.status !== 'pending') return { chargeId: p.provider_reference };
    if (p.provider_reference) return { chargeId: p.provider_reference };
    try {
      const { chargeId } = await payments.charge({
        idempotencyKey: chargeKey(p.id),
        means: 'card',
        cardRef: p.card_ref ?? undefined,
        amountCents: p.amount_cents,
        currency: p.currency,
      });
      await recordCharge(db, p.id, chargeId);
      return { chargeId };
    } catch (err) {
      if (err instanceof PaymentDeclinedError) throw ApplicationFailure.nonRetryable(err.reason, FailureType.PaymentDeclined);
      if (err instanceof IdempotencyKeyReusedError) throw ApplicationFailure.nonRetryable(err.message, FailureType.IdempotencyKeyReused);
      throw err;
    }
  }

  async function settlePayment({ paymentId }: { paymentId: string }) {
    await paymentOrFail(paymentId);
    return settle(db, paymentId, clock.now());
  }

  async function releasePayment({ paymentId, status, reason }: { paymentId: string; status: 'declined' | 'voided'; reason: string }): Promise<void> {
    await release(db, paymentId, status, reason);
  }

  /** Gives back money taken by a payment its invoice refused: at the provider, or to the prepaid account. */
  async function refundPayment({ paymentId, reason }: { paymentId: string; reason: string }): Promise<void> {
    const open = await openRefund(db, paymentId, reason);
    if (!open || open.refund.status === 'succeeded') return;
    let providerRefundId: string | null = null;
    if (open.refund.destination === 'original_means') {
      ({ refundId: providerRefundId } = await payments.refund({
        idempotencyKey: refundKey(paymentId),
        means: open.payment.means,
        paymentReference: open.payment.provider_reference,
        amountCents: open.refund.amount_cents,
        currency: open.refund.currency,
      }));
    }
    await completeRefund(db, paymentId, providerRefundId, reason, clock.now());
  }

  /** Every product on the paid invoice re-reads its renewal (and its process starts if it was not running). */
  async function announcePayment({ paymentId }: { paymentId: string }): Promise<void> {
    if (!temporal) return;
    const p = await paymentOrFail(paymentId);
    const products = await db
      .selectFrom('invoice_lines as l')
      .innerJoin('products as pr', 'pr.id', 'l.product_id')
      .select(['pr.id', 'pr.due_at', 'pr.status'])
      .where('l.invoice_id', '=', p.invoice_id!)
      .execute();
    for (const product of products) {
      if (!product.due_at || product.status === 'terminated') continue;
      await temporal.client.workflow.signalWithStart('renewal', {
        workflowId: renewalWorkflowId(product.id),
        taskQueue: temporal.taskQueue,
        args: [{ productId: product.id, dueAt: product.due_at.toISOString() } satisfies RenewalInput],
        signal: renewalChangedSignal,
      });
    }
  }

  return { reservePayment, chargePayment, settlePayment, releasePayment, refundPayment, announcePayment };
}
