import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { reconcile } from '../db/repositories/payments';
import { database } from './support/fixtures';
import { eventually } from './support/renewal';

// Loaded after every *.test.ts file (.mocharc.json lists it last): whatever the suite did to money,
// the provider's ledger and the books agree for every invoice and order (issue 13).
describe('reconciliation of the whole run (last)', function () {
  this.timeout(60_000);

  it('money at the provider (charges − refunds) equals money in the books (payments − refunds), per invoice and order', async () => {
    const { db } = await database();
    const rows = await eventually(async () => {
      const r = await reconcile(db);
      assert.deepEqual(
        r.filter((x) => x.inFlight > 0).map((x) => x.id),
        [],
        'no payment still in flight',
      );
      return r;
    }, 30_000);
    // Not vacuous: the suite paid invoices by card and refunded orders at the provider.
    assert.ok(
      rows.some((r) => r.subject === 'invoice' && r.providerCents > 0),
      'card payments of invoices were reconciled',
    );
    assert.ok(
      rows.some((r) => r.subject === 'order' && r.providerCents < 0),
      'refunds of orders were reconciled',
    );
    assert.deepEqual(
      rows.filter((r) => r.providerCents !== r.booksCents),
      [],
    );
    // And nothing at the provider that the books do not know.
    const orphans = await sql<{ idempotency_key: string }>`
      select o.idempotency_key from local_provider_operations o
      where o.outcome <> 'declined' and o.idempotency_key ~ '^(payment|refund):'
        and not exists (select 1 from payments p where o.idempotency_key in ('payment:' || p.id, 'refund:' || p.id))`.execute(db);
    assert.deepEqual(orphans.rows, []);
  });
});
