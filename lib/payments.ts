/**
 * The payment-provider port. Refunds carry an idempotency key, as real providers accept: a call
 * repeated after a lost response returns the first refund instead of paying out twice.
 */
import { randomUUID } from 'node:crypto';
import type { PaymentMeans } from '../db/tables/orders.table';

export interface RefundRequest {
  idempotencyKey: string;
  means: PaymentMeans;
  paymentReference: string | null;
  amountCents: number;
  currency: string;
}

export interface PaymentProvider {
  refund(request: RefundRequest): Promise<{ refundId: string }>;
}

/**
 * The local provider used by `npm start` and the tests: it pays nothing out and records every call,
 * so tests can count the refunds actually executed.
 */
export class LocalPaymentProvider implements PaymentProvider {
  /** Every call, repeated ones included. */
  readonly calls: RefundRequest[] = [];
  private readonly executed = new Map<string, { refundId: string; request: RefundRequest }>();
  private losingResponses = 0;

  async refund(request: RefundRequest): Promise<{ refundId: string }> {
    this.calls.push(request);
    let done = this.executed.get(request.idempotencyKey);
    if (!done) {
      done = { refundId: `re_${randomUUID()}`, request };
      this.executed.set(request.idempotencyKey, done);
    }
    if (this.losingResponses > 0) {
      this.losingResponses -= 1;
      throw Object.assign(new Error('connection reset after the refund was made'), { code: 'ECONNRESET' });
    }
    return { refundId: done.refundId };
  }

  /** Refunds paid out, each once whatever the number of calls. */
  refundsFor(predicate: (r: RefundRequest) => boolean = () => true): RefundRequest[] {
    return [...this.executed.values()].map((e) => e.request).filter(predicate);
  }

  /** The next `n` calls execute the refund and then fail, like a response lost on the network. */
  loseNextResponses(n = 1): void {
    this.losingResponses += n;
  }
}
