/**
 * Payments over HTTP, as a service the routes call (issue 13). It never calls the provider: it
 * starts (or finds) the payment process, waits for its reservation (refused at once beyond what is
 * due), then waits briefly for the outcome and otherwise answers 202 with the payment to poll.
 */
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { findPayment, localProviderLedger } from '../../db/repositories/payments';

/** The local provider's ledger beside the books, for /dev/payments. */
export { localProviderLedger };
import { stableUuid } from '../../lib/ids';
import { paymentReservationUpdate, paymentWorkflowId, type PaymentInput, type PaymentRefusal, type PaymentRequest } from '../../workflows/shared/payment';
import { Problem, type ProblemSlug } from '../problems';

export interface PaymentView {
  id: string;
  status: 'pending' | 'captured' | 'in_progress' | 'refunded' | 'declined' | 'voided';
  means: string;
  amountCents: number;
  currency: string;
  invoiceId: string | null;
  productId: string | null;
  reason: string | null;
  createdAt: string;
  settledAt: string | null;
}

const REFUSALS: Record<PaymentRefusal, ProblemSlug> = {
  'not-found': 'not-found',
  'not-renewable': 'not-renewable',
  'nothing-due': 'nothing-due',
  overpayment: 'unprocessable',
  'terms-not-allowed': 'unprocessable',
  'terms-locked': 'conflict',
  'no-saved-card': 'no-saved-card',
  'insufficient-prepaid-balance': 'insufficient-prepaid-balance',
  'auto-renewal-off': 'conflict',
  duplicate: 'conflict',
};

export function paymentService({
  client,
  db,
  taskQueue,
  settleWaitMs = 5_000,
  reservationTimeoutMs = 10_000,
}: {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  settleWaitMs?: number;
  reservationTimeoutMs?: number;
}) {
  async function view(paymentId: string): Promise<PaymentView | undefined> {
    const p = await findPayment(db, paymentId);
    if (!p) return undefined;
    return {
      id: p.id,
      status: p.status,
      means: p.means,
      amountCents: p.amount_cents,
      currency: p.currency,
      invoiceId: p.invoice_id,
      productId: p.product_id,
      reason: p.failure_reason,
      createdAt: p.created_at.toISOString(),
      settledAt: p.settled_at?.toISOString() ?? null,
    };
  }

  /** Waits a little for the process to settle, reading the row it writes. */
  async function settled(paymentId: string): Promise<PaymentView> {
    const deadline = Date.now() + settleWaitMs;
    for (;;) {
      const v = (await view(paymentId))!;
      if (v.status !== 'pending' || Date.now() >= deadline) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Pays a product's renewal invoice. The same principal and Idempotency-Key always name the same
   * payment (and process): a repeat, even at the same moment, answers the first payment.
   */
  async function payInvoice(
    request: Omit<Extract<PaymentRequest, { kind: 'invoice' }>, 'kind' | 'businessKey'>,
    principalKey: string,
  ): Promise<{ outcome: 'created' | 'accepted' | 'repeated'; payment: PaymentView }> {
    const businessKey = `api:${principalKey}`;
    const paymentId = stableUuid(businessKey);
    const earlier = await view(paymentId);
    if (earlier) return { outcome: 'repeated', payment: earlier.status === 'pending' ? await settled(paymentId) : earlier };

    const input: PaymentInput = { paymentId, request: { kind: 'invoice', ...request, businessKey } };
    let reservation;
    try {
      // Bounded: with no worker polling, the answer is 503 and a retry finds the same process.
      reservation = await client.connection.withDeadline(Date.now() + reservationTimeoutMs, () =>
        client.workflow.executeUpdateWithStart(paymentReservationUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation('payment', {
            workflowId: paymentWorkflowId(paymentId),
            taskQueue,
            args: [input],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          }),
        }),
      );
    } catch (err) {
      // The process of this key already ended: its row is the answer.
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const done = await view(paymentId);
        if (done) return { outcome: 'repeated', payment: done };
        throw new Problem('conflict', 'This Idempotency-Key was used for a request that was refused; use a new key');
      }
      // Temporal unreachable: nothing was reserved, or the same key finds the same process on retry.
      throw new Problem('unavailable', 'Payments cannot be taken right now; retry with the same Idempotency-Key', {
        retryAfterSeconds: 5,
        cause: (err as Error).name,
      });
    }
    if (reservation.status === 'refused') throw new Problem(REFUSALS[reservation.reason], reservation.detail);
    const payment = await settled(paymentId);
    if (payment.status === 'declined') throw new Problem('payment-declined', payment.reason ?? undefined, { paymentId });
    if (payment.status === 'refunded' || payment.status === 'voided')
      throw new Problem('conflict', `The payment was ${payment.status}: ${payment.reason ?? ''}`.trim(), { paymentId });
    return { outcome: payment.status === 'pending' ? 'accepted' : 'created', payment };
  }

  /** Who may read a payment: the system and agents, or a billing manager of the invoice's organization. */
  async function organizationOf(paymentId: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('payments as p')
      .leftJoin('invoices as i', 'i.id', 'p.invoice_id')
      .leftJoin('orders as o', 'o.id', 'p.order_id')
      .select((eb) => eb.fn.coalesce('i.organization_id', 'o.organization_id').as('organization_id'))
      .where('p.id', '=', paymentId)
      .executeTakeFirst();
    return row?.organization_id ?? undefined;
  }

  return { payInvoice, view, organizationOf };
}
