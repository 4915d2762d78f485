/**
 * Prepaid money (issue 17, item 4): the ledger's entries and balance, deposits and payouts. Every
 * ledger write is keyed by its reference (unique), so a repeated step writes nothing twice; the
 * ledger's trigger refuses a debit beyond the balance, whoever writes.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, Db } from '../database';
import type { Currency } from '../tables/orders.table';
import type { PrepaidDepositsTable, PrepaidPayoutsTable, PrepaidPayoutStatus } from '../tables/prepaid.table';

export type PrepaidDeposit = Selectable<PrepaidDepositsTable>;
export type PrepaidPayout = Selectable<PrepaidPayoutsTable>;
export type LedgerEntry = Selectable<Database['prepaid_ledger_entries']>;

/** The ledger's trigger refusing a debit beyond the balance. */
export const isNegativeBalanceError = (err: unknown) => (err as { code?: string })?.code === '23514' && /prepaid balance/.test((err as Error).message);

export async function organizationCurrency(db: Db, organizationId: string): Promise<Currency | undefined> {
  const row = await db.selectFrom('organizations').select('currency').where('id', '=', organizationId).executeTakeFirst();
  return row?.currency;
}

export async function organizationCardRef(db: Db, organizationId: string): Promise<string | null> {
  const row = await db.selectFrom('organizations').select('payment_card_ref').where('id', '=', organizationId).executeTakeFirst();
  return row?.payment_card_ref ?? null;
}

export async function balanceOf(db: Db, organizationId: string, currency: Currency): Promise<number> {
  const row = await db
    .selectFrom('prepaid_ledger_entries')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string | number>('amount_cents'), eb.lit(0)).as('balance'))
    .where('organization_id', '=', organizationId)
    .where('currency', '=', currency)
    .executeTakeFirstOrThrow();
  return Number(row.balance);
}

/** Newest first; `before` (an entry id) pages on. */
export async function statementOf(db: Db, organizationId: string, currency: Currency, limit: number, before?: string): Promise<LedgerEntry[]> {
  let q = db
    .selectFrom('prepaid_ledger_entries')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('currency', '=', currency)
    .orderBy('id', 'desc')
    .limit(limit);
  if (before) q = q.where('id', '<', before);
  return q.execute();
}

export async function findLedgerEntry(db: Db, reference: string): Promise<LedgerEntry | undefined> {
  return db.selectFrom('prepaid_ledger_entries').selectAll().where('reference', '=', reference).executeTakeFirst();
}

/** Writes the entry unless its reference exists; returns the entry of that reference either way. */
export async function writeLedgerEntry(
  db: Db,
  e: { organizationId: string; currency: Currency; amountCents: number; reason: string; reference: string },
): Promise<{ entry: LedgerEntry; created: boolean }> {
  const inserted = await db
    .insertInto('prepaid_ledger_entries')
    .values({ organization_id: e.organizationId, currency: e.currency, amount_cents: e.amountCents, reason: e.reason, reference: e.reference })
    .onConflict((oc) => oc.column('reference').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { entry: inserted, created: true };
  return { entry: (await findLedgerEntry(db, e.reference))!, created: false };
}

// Deposits

export async function insertDepositOnce(
  db: Db,
  d: Omit<PrepaidDeposit, 'status' | 'provider_reference' | 'failure_reason' | 'created_at' | 'settled_at'>,
): Promise<PrepaidDeposit> {
  await db
    .insertInto('prepaid_deposits')
    .values(d)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return (await findDeposit(db, d.id))!;
}

export async function findDeposit(db: Db, depositId: string): Promise<PrepaidDeposit | undefined> {
  return db.selectFrom('prepaid_deposits').selectAll().where('id', '=', depositId).executeTakeFirst();
}

export async function recordDepositCharge(db: Db, depositId: string, providerReference: string): Promise<void> {
  await db
    .updateTable('prepaid_deposits')
    .set({ status: 'charged', provider_reference: providerReference })
    .where('id', '=', depositId)
    .where('status', '=', 'pending')
    .execute();
}

export async function declineDeposit(db: Db, depositId: string, reason: string, now: Date): Promise<void> {
  await db
    .updateTable('prepaid_deposits')
    .set({ status: 'declined', failure_reason: reason, settled_at: now })
    .where('id', '=', depositId)
    .where('status', '=', 'pending')
    .execute();
}

/** Credits a charged deposit once: the entry and the status in one transaction. */
export async function creditDeposit(db: Kysely<Database>, depositId: string, reference: string, now: Date): Promise<PrepaidDeposit> {
  return db.transaction().execute(async (trx) => {
    const d = await trx.selectFrom('prepaid_deposits').selectAll().where('id', '=', depositId).forUpdate().executeTakeFirstOrThrow();
    if (d.status === 'credited') return d;
    if (d.status !== 'charged') throw new Error(`deposit ${depositId} is ${d.status}, not charged`);
    await writeLedgerEntry(trx, { organizationId: d.organization_id, currency: d.currency, amountCents: d.amount_cents, reason: 'deposit by card', reference });
    return trx
      .updateTable('prepaid_deposits')
      .set({ status: 'credited', settled_at: now })
      .where('id', '=', depositId)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

// Payouts

/** Inserts the payout unless its id (derived from the idempotency key) is taken; the row under that id either way. */
export async function insertPayoutOnce(
  db: Db,
  p: Omit<
    PrepaidPayout,
    'status' | 'deadline_at' | 'decided_by' | 'decision_reason' | 'decided_at' | 'provider_reference' | 'failure_reason' | 'created_at' | 'settled_at'
  >,
): Promise<{ payout: PrepaidPayout; created: boolean }> {
  const inserted = await db
    .insertInto('prepaid_payouts')
    .values(p)
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
  return inserted ? { payout: inserted, created: true } : { payout: (await findPayout(db, p.id))!, created: false };
}

export async function deletePendingPayout(db: Db, payoutId: string): Promise<void> {
  await db.deleteFrom('prepaid_payouts').where('id', '=', payoutId).where('status', '=', 'pending').execute();
}

export async function findPayout(db: Db, payoutId: string): Promise<PrepaidPayout | undefined> {
  return db.selectFrom('prepaid_payouts').selectAll().where('id', '=', payoutId).executeTakeFirst();
}

export async function listPayouts(db: Db, filter: { status?: PrepaidPayoutStatus; organizationId?: string; limit: number }): Promise<PrepaidPayout[]> {
  let q = db.selectFrom('prepaid_payouts').selectAll().orderBy('created_at', 'asc').limit(filter.limit);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.organizationId) q = q.where('organization_id', '=', filter.organizationId);
  return q.execute();
}

/**
 * Reserves a pending payout: debits the ledger and awaits approval, in one transaction; refused
 * when the balance does not cover it (the ledger's trigger decides, serialized per account).
 * A payout no longer pending answers what it became.
 */
export async function reservePayout(
  db: Kysely<Database>,
  payoutId: string,
  reference: string,
  deadlineAt: Date,
  now: Date,
): Promise<{ status: 'reserved'; deadlineAt: Date } | { status: 'refused'; reason: 'insufficient-prepaid-balance' | 'not-pending' }> {
  try {
    return await db.transaction().execute(async (trx) => {
      const p = await trx.selectFrom('prepaid_payouts').selectAll().where('id', '=', payoutId).forUpdate().executeTakeFirstOrThrow();
      if (p.status === 'refused') return { status: 'refused', reason: 'insufficient-prepaid-balance' } as const;
      if (p.status !== 'pending') {
        return p.deadline_at ? ({ status: 'reserved', deadlineAt: p.deadline_at } as const) : ({ status: 'refused', reason: 'not-pending' } as const);
      }
      await writeLedgerEntry(trx, {
        organizationId: p.organization_id,
        currency: p.currency,
        amountCents: -p.amount_cents,
        reason: 'payout requested',
        reference,
      });
      await trx.updateTable('prepaid_payouts').set({ status: 'awaiting_approval', deadline_at: deadlineAt }).where('id', '=', payoutId).execute();
      return { status: 'reserved', deadlineAt } as const;
    });
  } catch (err) {
    if (!isNegativeBalanceError(err)) throw err;
    await db
      .updateTable('prepaid_payouts')
      .set({ status: 'refused', failure_reason: 'the prepaid balance does not cover it', settled_at: now })
      .where('id', '=', payoutId)
      .where('status', '=', 'pending')
      .execute();
    return { status: 'refused', reason: 'insufficient-prepaid-balance' };
  }
}

/** An agent's decision or the lapse, on a payout awaiting approval only (the first one wins); answers whether it did, and the row after. */
export async function decidePayout(
  db: Db,
  payoutId: string,
  d: { status: 'approved' | 'rejected' | 'expired'; agentId: string | null; reason: string; now: Date },
): Promise<{ changed: boolean; payout: PrepaidPayout | undefined }> {
  const changed = await db
    .updateTable('prepaid_payouts')
    .set({ status: d.status, decided_by: d.agentId, decision_reason: d.reason, decided_at: d.now })
    .where('id', '=', payoutId)
    .where('status', '=', 'awaiting_approval')
    .returningAll()
    .executeTakeFirst();
  return { changed: changed !== undefined, payout: changed ?? (await findPayout(db, payoutId)) };
}

export async function markPayoutPaid(db: Db, payoutId: string, providerReference: string, now: Date): Promise<void> {
  await db
    .updateTable('prepaid_payouts')
    .set({ status: 'paid', provider_reference: providerReference, settled_at: now })
    .where('id', '=', payoutId)
    .where('status', '=', 'approved')
    .execute();
}

/** Compensation: the reserved amount back to the account once (by reference), and the final status. */
export async function returnPayout(
  db: Kysely<Database>,
  payoutId: string,
  reference: string,
  outcome: { status: 'rejected' | 'expired' | 'failed'; reason: string | null; now: Date },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const p = await trx.selectFrom('prepaid_payouts').selectAll().where('id', '=', payoutId).forUpdate().executeTakeFirstOrThrow();
    const why = {
      rejected: 'payout rejected, credited back',
      expired: 'payout not decided in time, credited back',
      failed: 'payout refused by the provider, credited back',
    };
    await writeLedgerEntry(trx, {
      organizationId: p.organization_id,
      currency: p.currency,
      amountCents: p.amount_cents,
      reason: why[outcome.status],
      reference,
    });
    await trx
      .updateTable('prepaid_payouts')
      .set({ status: outcome.status, settled_at: outcome.now, ...(outcome.reason ? { failure_reason: outcome.reason } : {}) })
      .where('id', '=', payoutId)
      .where('status', 'in', ['awaiting_approval', 'approved', 'rejected', 'expired'])
      .execute();
  });
}
