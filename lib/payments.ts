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

export interface ChargeRequest {
  idempotencyKey: string;
  means: Exclude<PaymentMeans, 'prepaid'>;
  /** The saved card's token at the provider, for automatic renewals. */
  cardRef?: string;
  amountCents: number;
  currency: string;
}

/** The provider refused the charge (card declined, expired, insufficient funds): a business outcome, not a fault. */
export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
  constructor(readonly reason: string) {
    super(`payment declined: ${reason}`);
  }
}

export interface PaymentProvider {
  refund(request: RefundRequest): Promise<{ refundId: string }>;
  /** Throws PaymentDeclinedError when refused; the same idempotency key never charges twice. */
  charge(request: ChargeRequest): Promise<{ chargeId: string }>;
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
  /** Every charge call, repeated ones included. */
  readonly chargeCalls: ChargeRequest[] = [];
  private readonly charged = new Map<string, { chargeId: string; request: ChargeRequest }>();
  private readonly declining = new Map<string, number>();

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

  async charge(request: ChargeRequest): Promise<{ chargeId: string }> {
    this.chargeCalls.push(request);
    const done = this.charged.get(request.idempotencyKey);
    if (done) return { chargeId: done.chargeId };
    const card = request.cardRef ?? '';
    const left = this.declining.get(card) ?? 0;
    if (left > 0) {
      this.declining.set(card, left - 1);
      throw new PaymentDeclinedError('card declined by the issuer');
    }
    const chargeId = `ch_${randomUUID()}`;
    this.charged.set(request.idempotencyKey, { chargeId, request });
    return { chargeId };
  }

  /** Charges actually made, each once whatever the number of calls. */
  chargesFor(predicate: (c: ChargeRequest) => boolean = () => true): ChargeRequest[] {
    return [...this.charged.values()].map((e) => e.request).filter(predicate);
  }

  /** The next `times` charges on this card are declined (Infinity: until further notice). */
  declineCard(cardRef: string, times = Number.POSITIVE_INFINITY): void {
    this.declining.set(cardRef, times);
  }
}
