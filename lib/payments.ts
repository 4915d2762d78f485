/**
 * The payment-provider port. Charges and refunds carry an idempotency key, as real providers
 * accept: a call repeated after a lost response returns the first result instead of moving money
 * twice, and a key reused with another amount is refused rather than guessed at.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database';
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
  /** The card's token at the provider. */
  cardRef?: string;
  amountCents: number;
  currency: string;
}

/**
 * A payout of a prepaid balance (issue 17, item 4) to a bank account or a PayPal address. The
 * destination goes to the provider as it must, read from PostgreSQL by the activity that pays; it
 * never travels through a workflow.
 */
export interface PayoutRequest {
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  destination: { kind: 'iban'; iban: string; holder: string } | { kind: 'paypal'; email: string };
}

/** The provider refused the charge (card declined, expired, insufficient funds): a business outcome, not a fault. */
export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
  constructor(readonly reason: string) {
    super(`payment declined: ${reason}`);
  }
}

/** The same idempotency key was sent with other terms: a bug on our side, never retried. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
}

export interface PaymentProvider {
  /** The same idempotency key never refunds twice. */
  refund(request: RefundRequest): Promise<{ refundId: string }>;
  /** Throws PaymentDeclinedError when refused; the same idempotency key never charges twice. */
  charge(request: ChargeRequest): Promise<{ chargeId: string }>;
  /** Throws PaymentDeclinedError when the destination is refused; the same idempotency key never pays out twice. */
  payout(request: PayoutRequest): Promise<{ payoutId: string }>;
}

/** Payouts to an IBAN holder or a PayPal address containing this are refused, like a closed account. */
export const REFUSED_TEST_PAYOUT_MARK = 'refused-payout';

type OperationKind = 'charge' | 'refund' | 'payout';

/** Cards whose token starts with this are always declined, like a provider's test cards. */
export const DECLINED_TEST_CARD_PREFIX = 'tok_decline';

/** The local provider's books as written since payouts (the payout kind and outcome are in the schema since 20261210100000). */
type ProviderDatabase = Omit<Database, 'local_provider_operations' | 'local_provider_calls'> & {
  local_provider_operations: Omit<Database['local_provider_operations'], 'kind' | 'outcome'> & {
    kind: OperationKind;
    outcome: 'charged' | 'refunded' | 'paid_out' | 'declined';
  };
  local_provider_calls: Omit<Database['local_provider_calls'], 'kind'> & { kind: OperationKind };
};
type Op = Selectable<ProviderDatabase['local_provider_operations']>;

/**
 * The local provider used by `npm start` and the tests. It moves no real money but keeps a durable
 * ledger in PostgreSQL (`local_provider_operations`, one row per key; `local_provider_calls`, one
 * row per call), so what reached the provider can be counted and reconciled with the books, across
 * processes and restarts. `/dev/payments` shows it.
 */
export class LocalPaymentProvider implements PaymentProvider {
  private losingResponses = 0;
  private readonly declining = new Map<string, number>();
  private dbPromise: Promise<Kysely<ProviderDatabase>> | undefined;

  constructor(private readonly source: Kysely<Database> | (() => Promise<Kysely<Database>>)) {}

  private db(): Promise<Kysely<ProviderDatabase>> {
    this.dbPromise ??= (typeof this.source === 'function' ? this.source() : Promise.resolve(this.source)) as unknown as Promise<Kysely<ProviderDatabase>>;
    return this.dbPromise;
  }

  async charge(request: ChargeRequest): Promise<{ chargeId: string }> {
    const card = request.cardRef ?? '';
    const op = await this.execute('charge', request, request.cardRef ?? null, null, () => {
      if (card.startsWith(DECLINED_TEST_CARD_PREFIX)) return 'card declined by the issuer';
      const left = this.declining.get(card) ?? 0;
      if (left <= 0) return null;
      this.declining.set(card, left - 1);
      return 'card declined by the issuer';
    });
    if (op.outcome === 'declined') throw new PaymentDeclinedError(op.reason ?? 'declined');
    return { chargeId: op.provider_id };
  }

  async refund(request: RefundRequest): Promise<{ refundId: string }> {
    const op = await this.execute('refund', request, null, request.paymentReference, () => null);
    if (this.losingResponses > 0) {
      this.losingResponses -= 1;
      throw Object.assign(new Error('connection reset after the refund was made'), { code: 'ECONNRESET' });
    }
    return { refundId: op.provider_id };
  }

  async payout(request: PayoutRequest): Promise<{ payoutId: string }> {
    const d = request.destination;
    const refused = (d.kind === 'iban' ? d.holder : d.email).includes(REFUSED_TEST_PAYOUT_MARK);
    const op = await this.execute('payout', { ...request, means: d.kind }, null, null, () => (refused ? 'destination account refused the transfer' : null));
    if (op.outcome === 'declined') throw new PaymentDeclinedError(op.reason ?? 'declined');
    return { payoutId: op.provider_id };
  }

  /** Executes a key once; a repeat answers the first outcome (a decline included, as providers do). */
  private async execute(
    kind: OperationKind,
    r: ChargeRequest | RefundRequest | (Omit<PayoutRequest, 'destination'> & { means: string }),
    cardRef: string | null,
    paymentReference: string | null,
    decline: () => string | null,
  ): Promise<Op> {
    const db = await this.db();
    const earlier = await db
      .selectFrom('local_provider_operations')
      .selectAll()
      .where('kind', '=', kind)
      .where('idempotency_key', '=', r.idempotencyKey)
      .executeTakeFirst();
    if (earlier) return this.repeat(kind, r, earlier);
    const reason = kind === 'refund' ? null : decline();
    const prefix = { charge: 'ch', refund: 're', payout: 'po' }[kind];
    const inserted = await db
      .insertInto('local_provider_operations')
      .values({
        kind,
        idempotency_key: r.idempotencyKey,
        outcome: reason ? 'declined' : ({ charge: 'charged', refund: 'refunded', payout: 'paid_out' } as const)[kind],
        provider_id: `${reason ? 'dc' : prefix}_${randomUUID()}`,
        amount_cents: r.amountCents,
        currency: r.currency,
        means: r.means,
        card_ref: cardRef,
        payment_reference: paymentReference,
        reason,
      })
      .onConflict((oc) => oc.columns(['kind', 'idempotency_key']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      // The same key at the same moment from another caller: its outcome is ours.
      return this.repeat(
        kind,
        r,
        await db
          .selectFrom('local_provider_operations')
          .selectAll()
          .where('kind', '=', kind)
          .where('idempotency_key', '=', r.idempotencyKey)
          .executeTakeFirstOrThrow(),
      );
    }
    await this.log(kind, r, inserted.outcome === 'declined' ? 'declined' : 'executed', inserted.provider_id);
    return inserted;
  }

  private async repeat(kind: OperationKind, r: { idempotencyKey: string; amountCents: number; currency: string }, earlier: Op): Promise<Op> {
    if (earlier.amount_cents !== r.amountCents || earlier.currency !== r.currency) {
      await this.log(kind, r, 'refused', null);
      throw new IdempotencyKeyReusedError(`idempotency key ${r.idempotencyKey} was first used for ${earlier.amount_cents} ${earlier.currency}`);
    }
    await this.log(kind, r, 'repeated', earlier.provider_id);
    return earlier;
  }

  private async log(
    kind: OperationKind,
    r: { idempotencyKey: string; amountCents: number; currency: string },
    result: Database['local_provider_calls']['result'],
    providerId: string | null,
  ) {
    const db = await this.db();
    await db
      .insertInto('local_provider_calls')
      .values({ kind, idempotency_key: r.idempotencyKey, amount_cents: r.amountCents, currency: r.currency, result, provider_id: providerId })
      .execute();
  }

  /** Charges the provider made (declines excluded), one per key. */
  async chargesFor(predicate: (c: ChargeRequest) => boolean = () => true): Promise<ChargeRequest[]> {
    const rows = await (
      await this.db()
    )
      .selectFrom('local_provider_operations')
      .selectAll()
      .where('kind', '=', 'charge')
      .where('outcome', '=', 'charged')
      .orderBy('created_at')
      .execute();
    return rows
      .map((o) => ({
        idempotencyKey: o.idempotency_key,
        means: o.means as ChargeRequest['means'],
        amountCents: o.amount_cents,
        currency: o.currency,
        ...(o.card_ref ? { cardRef: o.card_ref } : {}),
      }))
      .filter(predicate);
  }

  /** Refunds the provider paid out, one per key. */
  async refundsFor(predicate: (r: RefundRequest) => boolean = () => true): Promise<RefundRequest[]> {
    const rows = await (await this.db()).selectFrom('local_provider_operations').selectAll().where('kind', '=', 'refund').orderBy('created_at').execute();
    return rows
      .map((o) => ({
        idempotencyKey: o.idempotency_key,
        means: o.means as PaymentMeans,
        paymentReference: o.payment_reference,
        amountCents: o.amount_cents,
        currency: o.currency,
      }))
      .filter(predicate);
  }

  /** Payouts the provider made (refused ones excluded), one per key. */
  async payoutsFor(predicate: (p: { idempotencyKey: string; amountCents: number; currency: string; means: string }) => boolean = () => true) {
    const rows = await (
      await this.db()
    )
      .selectFrom('local_provider_operations')
      .selectAll()
      .where('kind', '=', 'payout')
      .where('outcome', '=', 'paid_out')
      .orderBy('created_at')
      .execute();
    return rows.map((o) => ({ idempotencyKey: o.idempotency_key, amountCents: o.amount_cents, currency: o.currency, means: o.means })).filter(predicate);
  }

  /** Every call that reached the provider for a key, repeated and failed ones included. */
  async callsFor(kind: OperationKind, idempotencyKey: string) {
    return (await this.db())
      .selectFrom('local_provider_calls')
      .select(['result', 'amount_cents', 'provider_id'])
      .where('kind', '=', kind)
      .where('idempotency_key', '=', idempotencyKey)
      .orderBy('id')
      .execute();
  }

  /** The next `n` refund calls execute the refund and then fail, like a response lost on the network. */
  loseNextResponses(n = 1): void {
    this.losingResponses += n;
  }

  /** The next `times` charges on this card are declined (Infinity: until further notice). */
  declineCard(cardRef: string, times = Number.POSITIVE_INFINITY): void {
    this.declining.set(cardRef, times);
  }
}
