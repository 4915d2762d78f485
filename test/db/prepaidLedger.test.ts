import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { database, seedOrganization } from '../support/fixtures';

// The prepaid balance is the sum of the entries; PostgreSQL itself refuses to take it below zero.
describe('prepaid ledger (PostgreSQL)', () => {
  it('accepts debits down to zero and refuses one more, per organization and currency', async () => {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const entry = (amount: number, currency: 'CHF' | 'EUR' = 'CHF') => ({
      organization_id: seed.org.id,
      currency,
      amount_cents: amount,
      reason: 'test',
      reference: `test:${randomUUID()}`,
    });
    await db.insertInto('prepaid_ledger_entries').values(entry(5_000)).execute();
    await db.insertInto('prepaid_ledger_entries').values(entry(-5_000)).execute();
    await assert.rejects(db.insertInto('prepaid_ledger_entries').values(entry(-1)).execute(), /prepaid balance would become negative/);
    await assert.rejects(db.insertInto('prepaid_ledger_entries').values(entry(-1, 'EUR')).execute(), /prepaid balance would become negative/);
  });

  it('writes an entry once per reference', async () => {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const values = { organization_id: seed.org.id, currency: 'CHF' as const, amount_cents: 100, reason: 'refund', reference: `refund:${randomUUID()}` };
    await db.insertInto('prepaid_ledger_entries').values(values).execute();
    await assert.rejects(db.insertInto('prepaid_ledger_entries').values(values).execute(), /unique/);
  });
});
