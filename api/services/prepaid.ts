/**
 * Prepaid money (issue 17, item 4) [seeds 001, 003]: the rules between the routes and the
 * processes. Deposits by card and payouts move money only in their workflows (prepaidDeposit,
 * prepaidPayout); this service checks who asks and what, writes the rows the processes read (the
 * payout's destination stays in PostgreSQL), starts or updates the processes and reads the books.
 * A transfer the system records is a ledger entry alone: no money moves here, none at a provider.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import {
  balanceOf,
  deletePendingPayout,
  findDeposit,
  findPayout,
  insertDepositOnce,
  insertPayoutOnce,
  listPayouts,
  organizationCardRef,
  organizationCurrency,
  statementOf,
  writeLedgerEntry,
  type PrepaidDeposit,
  type PrepaidPayout,
} from '../../db/repositories/prepaid';
import type { Currency } from '../../db/tables/orders.table';
import type { PrepaidPayoutStatus } from '../../db/tables/prepaid.table';
import { stableUuid } from '../../lib/ids';
import { PREPAID_DEPOSIT_RANGE } from '../../lib/rules';
import {
  decidePayoutUpdate,
  ledgerRefs,
  payoutReservationUpdate,
  PrepaidFailure,
  prepaidDepositWorkflowId,
  prepaidPayoutWorkflowId,
  type DecidePayoutInput,
  type PrepaidDepositInput,
  type PrepaidPayoutInput,
  type PrepaidPayoutReservation,
} from '../../workflows/shared/prepaid';
import { notFound, Problem } from '../problems';
import { startProcess, updateProcess } from './processes';

export interface PrepaidDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  /** How long a payout request waits for its reservation before answering 202 anyway. */
  reservationWaitMs?: number;
}

/** The deposit range in cents (the rule is in currency units). */
export const DEPOSIT_RANGE_CENTS = { min: Math.round(PREPAID_DEPOSIT_RANGE.min * 100), max: Math.round(PREPAID_DEPOSIT_RANGE.max * 100) };

export type PayoutDestinationInput = { kind: 'iban'; iban: string; holder: string } | { kind: 'paypal'; email: string };

const depositView = (d: PrepaidDeposit) => ({
  id: d.id,
  organizationId: d.organization_id,
  amountCents: d.amount_cents,
  currency: d.currency,
  status: d.status,
  reason: d.failure_reason,
  providerReference: d.provider_reference,
  createdAt: d.created_at.toISOString(),
  settledAt: d.settled_at?.toISOString() ?? null,
});

/** Customers see enough of the destination to recognise it; agents, who check it, see it whole. */
function payoutView(p: PrepaidPayout, audience: 'customer' | 'agent') {
  const destination =
    p.destination_kind === 'iban'
      ? audience === 'agent'
        ? { kind: 'iban' as const, iban: p.iban!, holder: p.holder! }
        : { kind: 'iban' as const, ibanLast4: p.iban!.slice(-4), holder: p.holder! }
      : audience === 'agent'
        ? { kind: 'paypal' as const, email: p.paypal_email! }
        : { kind: 'paypal' as const, emailDomain: p.paypal_email!.split('@')[1] ?? '' };
  return {
    id: p.id,
    organizationId: p.organization_id,
    amountCents: p.amount_cents,
    currency: p.currency,
    destination,
    status: p.status,
    deadlineAt: p.deadline_at?.toISOString() ?? null,
    decisionReason: p.decision_reason,
    decidedAt: p.decided_at?.toISOString() ?? null,
    failureReason: p.failure_reason,
    providerReference: p.provider_reference,
    createdAt: p.created_at.toISOString(),
    settledAt: p.settled_at?.toISOString() ?? null,
  };
}

export function prepaidService({ client, db, taskQueue, clock, reservationWaitMs = 10_000 }: PrepaidDeps) {
  const temporal = { client, taskQueue };

  /** Legal representatives and administrators manage money (payouts: legal representatives only); an outsider is told the organization does not exist. */
  async function requireManager(organizationId: string, accountId: string, who: 'managers' | 'legal_representative' = 'managers'): Promise<Currency> {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw notFound('organization');
    if (who === 'legal_representative' ? m.role !== 'legal_representative' : m.role === 'collaborator') {
      throw new Problem(
        'forbidden',
        who === 'legal_representative'
          ? 'Only a legal representative may pay out the prepaid balance'
          : 'Only a legal representative or an administrator manages prepaid money',
      );
    }
    return (await organizationCurrency(db, organizationId))!;
  }

  function requireDepositRange(amountCents: number, currency: Currency) {
    if (amountCents < DEPOSIT_RANGE_CENTS.min || amountCents > DEPOSIT_RANGE_CENTS.max) {
      throw new Problem('deposit-out-of-range', `Deposit between ${DEPOSIT_RANGE_CENTS.min} and ${DEPOSIT_RANGE_CENTS.max} cents of ${currency}`, {
        minCents: DEPOSIT_RANGE_CENTS.min,
        maxCents: DEPOSIT_RANGE_CENTS.max,
        currency,
      });
    }
  }

  return {
    /** The balance and the statement, newest entry first; `before` (an entry id) pages on. */
    async account(accountId: string, organizationId: string, page: { limit: number; before?: string }) {
      const currency = await requireManager(organizationId, accountId);
      const entries = await statementOf(db, organizationId, currency, page.limit, page.before);
      return {
        organizationId,
        currency,
        balanceCents: await balanceOf(db, organizationId, currency),
        entries: entries.map((e) => ({
          id: String(e.id),
          amountCents: e.amount_cents,
          reason: e.reason,
          reference: e.reference,
          createdAt: e.created_at.toISOString(),
        })),
        nextBefore: entries.length === page.limit ? String(entries.at(-1)!.id) : null,
      };
    },

    /**
     * A deposit by card: the same idempotency key (per organization) is the same deposit and the
     * same process, so a repeated request charges nothing more; the key with other terms is a conflict.
     */
    async deposit(accountId: string, organizationId: string, body: { amountCents: number; cardRef?: string; idempotencyKey: string }) {
      const currency = await requireManager(organizationId, accountId);
      requireDepositRange(body.amountCents, currency);
      const cardRef = body.cardRef ?? (await organizationCardRef(db, organizationId));
      if (!cardRef) throw new Problem('no-saved-card', 'No card is saved for this organization: send cardRef');
      const depositId = stableUuid(`prepaid-deposit:${organizationId}:${body.idempotencyKey}`);
      const d = await insertDepositOnce(db, {
        id: depositId,
        organization_id: organizationId,
        requested_by: accountId,
        amount_cents: body.amountCents,
        currency,
        card_ref: cardRef,
      });
      if (d.amount_cents !== body.amountCents || d.card_ref !== cardRef) {
        throw new Problem('conflict', 'This idempotencyKey was used for another deposit; use a new key', { depositId });
      }
      if (d.status === 'pending') {
        try {
          // A repeated request joins the running process; a pending row whose start failed is started now.
          await startProcess(temporal, 'prepaidDeposit', prepaidDepositWorkflowId(depositId), { depositId } satisfies PrepaidDepositInput, {
            policy: 'attach',
          });
        } catch (err) {
          throw new Problem('unavailable', 'The deposit cannot be started right now; retry with the same idempotencyKey', { cause: (err as Error).name });
        }
      }
      return depositView((await findDeposit(db, depositId))!);
    },

    async readDeposit(accountId: string, organizationId: string, depositId: string) {
      await requireManager(organizationId, accountId);
      const d = await findDeposit(db, depositId);
      if (!d || d.organization_id !== organizationId) throw notFound('deposit');
      return depositView(d);
    },

    /** A bank transfer the system confirms: credited once per bank reference, audited once. */
    async recordTransfer(systemSub: string, organizationId: string, body: { amountCents: number; reference: string }) {
      const currency = await organizationCurrency(db, organizationId);
      if (!currency) throw notFound('organization');
      requireDepositRange(body.amountCents, currency);
      const reference = ledgerRefs.transfer(body.reference);
      const { entry, created } = await db.transaction().execute(async (trx) => {
        const written = await writeLedgerEntry(trx, { organizationId, currency, amountCents: body.amountCents, reason: 'bank transfer', reference });
        if (written.created) {
          await audit(trx, {
            actor_type: 'system',
            actor_id: systemSub,
            action: 'prepaid.transfer_recorded',
            subject_type: 'organization',
            subject_id: organizationId,
            decision: null,
            details: { amountCents: body.amountCents, currency, reference: body.reference, entryId: String(written.entry.id) },
          });
        }
        return written;
      });
      if (!created && (entry.organization_id !== organizationId || entry.amount_cents !== body.amountCents || entry.currency !== currency)) {
        throw new Problem('conflict', 'This transfer reference was recorded already with other terms');
      }
      return {
        created,
        transfer: {
          entryId: String(entry.id),
          organizationId,
          amountCents: entry.amount_cents,
          currency: entry.currency,
          reference: body.reference,
          createdAt: entry.created_at.toISOString(),
        },
      };
    },

    /**
     * A payout of the balance, by a legal representative. Beyond the balance it is refused at once;
     * otherwise its process debits the ledger (the API waits on that step alone) and waits for an
     * agent. The destination is written here, in PostgreSQL; the process gets the payout's id.
     * The same idempotency key (per organization) is the same payout: a repeated request reserves
     * nothing more and answers where the first one stands; the key with other terms is a conflict.
     */
    async requestPayout(accountId: string, organizationId: string, body: { amountCents: number; destination: PayoutDestinationInput; idempotencyKey: string }) {
      const currency = await requireManager(organizationId, accountId, 'legal_representative');
      const refuse = () => new Problem('insufficient-prepaid-balance', 'The prepaid balance does not cover this payout');
      const payoutId = stableUuid(`prepaid-payout:${organizationId}:${body.idempotencyKey}`);
      const d = body.destination;
      const terms = {
        amount_cents: body.amountCents,
        destination_kind: d.kind,
        iban: d.kind === 'iban' ? d.iban : null,
        holder: d.kind === 'iban' ? d.holder : null,
        paypal_email: d.kind === 'paypal' ? d.email : null,
      };
      const sameTerms = (p: PrepaidPayout) => (Object.keys(terms) as (keyof typeof terms)[]).every((k) => p[k] === terms[k]);
      const earlier = await findPayout(db, payoutId);
      if (earlier) {
        if (!sameTerms(earlier)) throw new Problem('conflict', 'This idempotencyKey was used for another payout; use a new key', { payoutId });
        // The first request's answer, again: reserved (or still being reserved), or refused.
        if (earlier.status === 'refused') throw refuse();
        if (earlier.status !== 'pending') return payoutView(earlier, 'customer');
      } else if (body.amountCents > (await balanceOf(db, organizationId, currency))) {
        throw refuse();
      }
      const { payout, created } = await insertPayoutOnce(db, { id: payoutId, organization_id: organizationId, requested_by: accountId, currency, ...terms });
      if (!sameTerms(payout)) throw new Problem('conflict', 'This idempotencyKey was used for another payout; use a new key', { payoutId });
      try {
        // A repeated request joins the process the first one started.
        await startProcess(temporal, 'prepaidPayout', prepaidPayoutWorkflowId(payoutId), { payoutId } satisfies PrepaidPayoutInput, { policy: 'attach' });
      } catch (err) {
        // No process, nothing reserved: the row (and its destination) goes, so the same key can try again.
        if (created) await deletePendingPayout(db, payoutId);
        throw new Problem('unavailable', 'The payout cannot be started right now; nothing was reserved', { cause: (err as Error).name });
      }
      let reservation: PrepaidPayoutReservation | undefined;
      try {
        reservation = await client.connection.withDeadline(Date.now() + reservationWaitMs, () =>
          client.workflow.getHandle(prepaidPayoutWorkflowId(payoutId)).executeUpdate(payoutReservationUpdate),
        );
      } catch {
        // The process goes on; the payout's row tells where it stands.
      }
      if (reservation?.status === 'refused') throw refuse();
      return payoutView((await findPayout(db, payoutId))!, 'customer');
    },

    async readPayout(accountId: string, organizationId: string, payoutId: string) {
      await requireManager(organizationId, accountId);
      const p = await findPayout(db, payoutId);
      if (!p || p.organization_id !== organizationId) throw notFound('payout');
      return payoutView(p, 'customer');
    },

    /** The agents' queue, oldest first. */
    async listForAgents(filter: { status?: PrepaidPayoutStatus; limit: number }) {
      return (await listPayouts(db, filter)).map((p) => payoutView(p, 'agent'));
    },

    async readForAgent(payoutId: string) {
      const p = await findPayout(db, payoutId);
      if (!p) throw notFound('payout');
      return payoutView(p, 'agent');
    },

    /** An agent approves or rejects a payout awaiting a decision; the process pays out or credits back. */
    async decide(agentId: string, payoutId: string, body: Omit<DecidePayoutInput, 'agentId'>) {
      const p = await findPayout(db, payoutId);
      if (!p) throw notFound('payout');
      const closed = new Problem('payout-not-awaiting-approval', `This payout is ${p.status}`);
      await updateProcess(client.workflow.getHandle(prepaidPayoutWorkflowId(payoutId)), decidePayoutUpdate, [{ agentId, ...body }], {
        closed,
        byType: { [PrepaidFailure.PayoutNotAwaitingApproval]: (message) => new Problem('payout-not-awaiting-approval', message) },
      });
      return payoutView((await findPayout(db, payoutId))!, 'agent');
    },
  };
}
