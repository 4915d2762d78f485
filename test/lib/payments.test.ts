import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { IdempotencyKeyReusedError, LocalPaymentProvider, PaymentDeclinedError } from '../../lib/payments';
import { database } from '../support/fixtures';

// The local provider is the outside world of the tests: its ledger must behave like a provider's.
describe('local payment provider (PostgreSQL ledger)', () => {
  const provider = new LocalPaymentProvider(async () => (await database()).db);
  const charge = (key: string, amountCents = 1_000, cardRef = 'tok_visa_unit') =>
    provider.charge({ idempotencyKey: key, means: 'card', cardRef, amountCents, currency: 'CHF' });

  it('executes a key once, answers repeats with the first charge, and records every call', async () => {
    const key = `unit:${randomUUID()}`;
    const [a, b] = await Promise.all([charge(key), charge(key)]);
    const c = await charge(key);
    assert.equal(a.chargeId, b.chargeId);
    assert.equal(a.chargeId, c.chargeId);
    assert.equal((await provider.chargesFor((x) => x.idempotencyKey === key)).length, 1);
    assert.deepEqual((await provider.callsFor('charge', key)).map((x) => x.result).sort(), ['executed', 'repeated', 'repeated']);
  });

  it('refuses a key reused with another amount', async () => {
    const key = `unit:${randomUUID()}`;
    await charge(key, 1_000);
    await assert.rejects(charge(key, 1_001), IdempotencyKeyReusedError);
    assert.deepEqual(
      (await provider.chargesFor((x) => x.idempotencyKey === key)).map((x) => x.amountCents),
      [1_000],
    );
  });

  it('declines test cards, and answers a declined key with the same decline', async () => {
    const key = `unit:${randomUUID()}`;
    await assert.rejects(charge(key, 500, 'tok_decline_always'), PaymentDeclinedError);
    await assert.rejects(charge(key, 500, 'tok_decline_always'), PaymentDeclinedError);
    assert.equal((await provider.chargesFor((x) => x.idempotencyKey === key)).length, 0);
    assert.deepEqual(
      (await provider.callsFor('charge', key)).map((x) => x.result),
      ['declined', 'repeated'],
    );
  });

  it('refunds once per key even when the answer is lost', async () => {
    const key = `unit-refund:${randomUUID()}`;
    const request = { idempotencyKey: key, means: 'card' as const, paymentReference: 'ch_x', amountCents: 700, currency: 'CHF' };
    provider.loseNextResponses(1);
    await assert.rejects(provider.refund(request), /connection reset/);
    const again = await provider.refund(request);
    assert.match(again.refundId, /^re_/);
    assert.equal((await provider.refundsFor((x) => x.idempotencyKey === key)).length, 1);
  });
});
