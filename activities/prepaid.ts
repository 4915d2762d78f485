/**
 * Side effects of prepaid money (issue 17, item 4): the provider is called only here, with keys
 * derived from the deposit or payout row and amounts read from it, so a retried activity repeats
 * the same request and the provider's idempotency answers it; ledger entries are keyed by
 * reference and emails by outbox key, so a retry writes and sends nothing twice.
 */
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue } from '../db/repositories/outbox';
import {
  creditDeposit,
  decidePayout,
  declineDeposit,
  findDeposit,
  findPayout,
  markPayoutPaid,
  recordDepositCharge,
  reservePayout,
  returnPayout,
  type PrepaidPayout,
} from '../db/repositories/prepaid';
import { IdempotencyKeyReusedError, PaymentDeclinedError } from '../lib/payments';
import { describeDuration, PREPAID_PAYOUT_DECISION_TIMEOUT_MS } from '../lib/rules';
import { FailureType } from '../workflows/shared/failures';
import {
  depositChargeKey,
  ledgerRefs,
  payoutKey,
  PrepaidFailure,
  type DecidePayoutInput,
  type PrepaidPayoutReservation,
  type PrepaidPayoutState,
} from '../workflows/shared/prepaid';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

/** What an email says of a destination: enough to recognise it, never the whole IBAN or address. */
export function describeDestination(p: Pick<PrepaidPayout, 'destination_kind' | 'iban' | 'paypal_email'>): string {
  if (p.destination_kind === 'iban') return `the bank account ending in ${(p.iban ?? '').slice(-4)}`;
  const email = p.paypal_email ?? '';
  return `the PayPal account ${email.slice(0, 1)}…@${email.split('@')[1] ?? ''}`;
}

export function createPrepaidActivities({ db, clock, payments }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);

  async function depositOrFail(depositId: string) {
    const d = await findDeposit(db, depositId);
    if (!d) throw ApplicationFailure.nonRetryable(`prepaid deposit ${depositId} not found`, FailureType.NotFound);
    return d;
  }
  async function payoutOrFail(payoutId: string) {
    const p = await findPayout(db, payoutId);
    if (!p) throw ApplicationFailure.nonRetryable(`prepaid payout ${payoutId} not found`, FailureType.NotFound);
    return p;
  }
  /** Legal representatives and administrators: those who manage the organization's money. */
  const managers = (organizationId: string) =>
    db
      .selectFrom('memberships as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['a.id', 'a.login_email', 'a.display_name'])
      .where('m.organization_id', '=', organizationId)
      .where('m.role', 'in', ['legal_representative', 'administrator'])
      .orderBy('a.id')
      .execute();

  /** Charges the deposit's card once under `prepaid-deposit:<id>`; a decline is a business outcome, never retried. */
  async function chargePrepaidDeposit({ depositId }: { depositId: string }): Promise<{ chargeId: string | null }> {
    const d = await depositOrFail(depositId);
    if (d.status !== 'pending' || d.provider_reference) return { chargeId: d.provider_reference };
    try {
      const { chargeId } = await payments.charge({
        idempotencyKey: depositChargeKey(d.id),
        means: 'card',
        cardRef: d.card_ref,
        amountCents: d.amount_cents,
        currency: d.currency,
      });
      await recordDepositCharge(db, d.id, chargeId);
      return { chargeId };
    } catch (err) {
      if (err instanceof PaymentDeclinedError) throw ApplicationFailure.nonRetryable(err.reason, FailureType.PaymentDeclined);
      if (err instanceof IdempotencyKeyReusedError) throw ApplicationFailure.nonRetryable(err.message, FailureType.IdempotencyKeyReused);
      throw err;
    }
  }

  async function declinePrepaidDeposit({ depositId, reason }: { depositId: string; reason: string }): Promise<void> {
    await depositOrFail(depositId);
    await declineDeposit(db, depositId, reason, clock.now());
  }

  /** The charged amount to the ledger, once (by reference). */
  async function creditPrepaidDeposit({ depositId }: { depositId: string }): Promise<void> {
    await depositOrFail(depositId);
    await creditDeposit(db, depositId, ledgerRefs.deposit(depositId), clock.now());
  }

  /** The receipt (or the decline) to the customer who asked, once per deposit. */
  async function mailPrepaidDepositOutcome({ depositId }: { depositId: string }): Promise<void> {
    const d = await depositOrFail(depositId);
    if (d.status !== 'credited' && d.status !== 'declined') return;
    const who = await db.selectFrom('accounts').select(['login_email', 'display_name']).where('id', '=', d.requested_by).executeTakeFirst();
    if (!who) return;
    const key = `prepaid-deposit:${depositId}:${d.status}`;
    const credited = d.status === 'credited';
    await enqueue(db, {
      key,
      channel: 'email',
      recipient: who.login_email,
      subject: credited ? `Receipt: ${money(d.amount_cents, d.currency)} deposited to your prepaid account` : 'Your prepaid deposit was declined',
      body: [
        `Hello ${who.display_name},`,
        '',
        credited
          ? `We received ${money(d.amount_cents, d.currency)} by card (reference ${d.provider_reference}) and credited it to your organization's prepaid account on ${d.settled_at?.toISOString().slice(0, 10)}.`
          : `Your card was declined for the deposit of ${money(d.amount_cents, d.currency)} (${d.failure_reason ?? 'declined'}). Nothing was charged or credited.`,
        '',
        `Deposit ${d.id}`,
      ].join('\n'),
    });
    await deliver(key);
  }

  /** Debits the ledger at once (so the balance is never spent twice), or refuses the payout. */
  async function reservePrepaidPayout({ payoutId }: { payoutId: string }): Promise<PrepaidPayoutReservation> {
    await payoutOrFail(payoutId);
    const now = clock.now();
    const r = await reservePayout(db, payoutId, ledgerRefs.payoutReserved(payoutId), new Date(now.getTime() + PREPAID_PAYOUT_DECISION_TIMEOUT_MS), now);
    return r.status === 'reserved' ? { status: 'reserved', deadlineAt: r.deadlineAt.toISOString() } : r;
  }

  /** An agent's decision, recorded and audited if the payout still awaits one (the first decision wins, the lapse included). */
  async function decidePrepaidPayout({ payoutId, agentId, decision, reason }: { payoutId: string } & DecidePayoutInput): Promise<PrepaidPayoutState> {
    await payoutOrFail(payoutId);
    const status = decision === 'approve' ? 'approved' : 'rejected';
    return db.transaction().execute(async (trx) => {
      const { changed, payout } = await decidePayout(trx, payoutId, { status, agentId, reason, now: clock.now() });
      // A retry of a decision that committed finds it made by the same agent: the same answer, audited once.
      if (!changed && !(payout?.status === status && payout.decided_by === agentId)) {
        throw ApplicationFailure.nonRetryable(`payout is ${payout?.status ?? 'gone'}, not awaiting approval`, PrepaidFailure.PayoutNotAwaitingApproval);
      }
      if (changed) {
        await audit(trx, {
          actor_type: 'agent',
          actor_id: agentId,
          action: `prepaid_payout.${status}`,
          subject_type: 'prepaid_payout',
          subject_id: payoutId,
          decision: null,
          details: { reason },
        });
      }
      return status;
    });
  }

  /** The decision deadline passed: the payout lapses unless an agent decided first. */
  async function expirePrepaidPayout({ payoutId }: { payoutId: string }): Promise<PrepaidPayoutState> {
    await payoutOrFail(payoutId);
    const { payout } = await decidePayout(db, payoutId, { status: 'expired', agentId: null, reason: 'no decision in time', now: clock.now() });
    return (payout?.status ?? 'expired') as PrepaidPayoutState;
  }

  /** Pays an approved payout once under `prepaid-payout:<id>`, the destination read here from PostgreSQL. */
  async function payPrepaidPayout({ payoutId }: { payoutId: string }): Promise<void> {
    const p = await payoutOrFail(payoutId);
    if (p.status === 'paid') return;
    if (p.status !== 'approved')
      throw ApplicationFailure.nonRetryable(`payout ${payoutId} is ${p.status}, not approved`, PrepaidFailure.PayoutNotAwaitingApproval);
    try {
      const { payoutId: providerReference } = await payments.payout({
        idempotencyKey: payoutKey(p.id),
        amountCents: p.amount_cents,
        currency: p.currency,
        destination: p.destination_kind === 'iban' ? { kind: 'iban', iban: p.iban!, holder: p.holder! } : { kind: 'paypal', email: p.paypal_email! },
      });
      await markPayoutPaid(db, p.id, providerReference, clock.now());
    } catch (err) {
      if (err instanceof PaymentDeclinedError) throw ApplicationFailure.nonRetryable(err.reason, FailureType.PaymentDeclined);
      if (err instanceof IdempotencyKeyReusedError) throw ApplicationFailure.nonRetryable(err.message, FailureType.IdempotencyKeyReused);
      throw err;
    }
  }

  /** Compensation: the reserved amount back to the prepaid account, once. */
  async function returnPrepaidPayout({
    payoutId,
    status,
    reason,
  }: {
    payoutId: string;
    status: 'rejected' | 'expired' | 'failed';
    reason: string | null;
  }): Promise<void> {
    await payoutOrFail(payoutId);
    await returnPayout(db, payoutId, ledgerRefs.payoutReturned(payoutId), { status, reason, now: clock.now() });
  }

  /** Tells the organization's managers where the payout stands, once per event. */
  async function mailPrepaidPayout({ payoutId, event }: { payoutId: string; event: 'requested' | 'paid' | 'returned' }): Promise<void> {
    const p = await payoutOrFail(payoutId);
    const amount = money(p.amount_cents, p.currency);
    const to = describeDestination(p);
    const text = {
      requested: {
        subject: `Payout of ${amount} requested`,
        line: `A payout of ${amount} from your prepaid account to ${to} was requested; the amount is reserved now. Our team reviews it within ${describeDuration(PREPAID_PAYOUT_DECISION_TIMEOUT_MS)}; if it is not approved by then, the amount returns to your prepaid account.`,
      },
      paid: { subject: `Payout of ${amount} sent`, line: `The payout of ${amount} to ${to} was approved and sent (reference ${p.provider_reference}).` },
      returned: {
        subject: `Payout of ${amount} not made`,
        line:
          p.status === 'rejected'
            ? `The payout of ${amount} to ${to} was not approved (${p.decision_reason ?? 'no reason given'}). The amount is back in your prepaid account.`
            : p.status === 'failed'
              ? `The payout of ${amount} to ${to} could not be made (${p.failure_reason ?? 'refused'}). The amount is back in your prepaid account.`
              : `The payout of ${amount} to ${to} was not reviewed within ${describeDuration(PREPAID_PAYOUT_DECISION_TIMEOUT_MS)}. The amount is back in your prepaid account; you may ask again.`,
      },
    }[event];
    for (const m of await managers(p.organization_id)) {
      const key = `prepaid-payout:${payoutId}:${event}:${m.id}`;
      await enqueue(db, {
        key,
        channel: 'email',
        recipient: m.login_email,
        subject: text.subject,
        body: [`Hello ${m.display_name},`, '', text.line, '', `Payout ${p.id}`].join('\n'),
      });
      await deliver(key);
    }
  }

  return {
    chargePrepaidDeposit,
    declinePrepaidDeposit,
    creditPrepaidDeposit,
    mailPrepaidDepositOutcome,
    reservePrepaidPayout,
    decidePrepaidPayout,
    expirePrepaidPayout,
    payPrepaidPayout,
    returnPrepaidPayout,
    mailPrepaidPayout,
  };
}
