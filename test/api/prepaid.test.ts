import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { listPayouts } from '../../db/repositories/prepaid';
import { DECLINED_TEST_CARD_PREFIX } from '../../lib/payments';
import { depositChargeKey, payoutKey } from '../../workflows/shared/prepaid';
import { apiSuite, assertProblem } from '../support/api';
import { smtpCapture } from '../support/fixtures';
import { eventually } from '../support/renewal';
import { testPayments } from '../support/worker';

// Issue 17, item 4: prepaid money. Money at the provider is counted from the local provider's own
// ledger (every call that reached it), not from what our code deduplicated.
describe('prepaid money: deposits, transfers, payouts, statement (dev server + PostgreSQL)', function () {
  this.timeout(180_000);
  const suite = apiSuite();

  const org = () => `/v1/organizations/${suite.seed.org.id}/prepaid`;
  const sidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid;
  /** A login that proved its password just now, as a payout needs. */
  const recentLogin = async (token: string) => {
    await sql`update sessions set reauthenticated_at = ${new Date()} where id = ${sidOf(token)}`.execute(suite.api.db);
    return token;
  };
  const deposit = (body: Record<string, unknown>, token = suite.tokens.admin) => suite.api.call('POST', `${org()}/deposits`, { token, body });
  const transfer = (amountCents: number, reference = `bank-${randomUUID()}`) =>
    suite.api.call('POST', `${org()}/transfers`, { token: suite.tokens.system, body: { amountCents, reference } });
  const balance = async () => (await suite.api.call('GET', org(), { token: suite.tokens.legalRep })).json.balanceCents as number;
  const depositSettled = (id: string) =>
    eventually(async () => {
      const r = await suite.api.call('GET', `${org()}/deposits/${id}`, { token: suite.tokens.admin });
      if (r.json.status === 'pending' || r.json.status === 'charged') throw new Error(`still ${r.json.status}`);
      return r.json;
    }, 30_000);
  const payoutIn = (id: string, statuses: string[]) =>
    eventually(async () => {
      const r = await suite.api.call('GET', `${org()}/payouts/${id}`, { token: suite.tokens.legalRep });
      // settledAt: the money has moved (paid out, or credited back).
      if (!statuses.includes(r.json.status) || !r.json.settledAt) throw new Error(`still ${r.json.status}`);
      return r.json;
    }, 30_000);
  const requestPayout = async (
    amountCents: number,
    destination: Record<string, unknown> = { kind: 'iban', iban: 'CH93 0076 2011 6238 5295 7', holder: 'Org AG' },
    idempotencyKey: string = randomUUID(),
  ) => suite.api.call('POST', `${org()}/payouts`, { token: await recentLogin(suite.tokens.legalRep), body: { amountCents, destination, idempotencyKey } });

  it('credits a deposit by card once, even when the same request is sent twice, and emails a receipt', async () => {
    const body = { amountCents: 2_500, cardRef: `tok_visa_${randomUUID()}`, idempotencyKey: randomUUID() };
    const [first, second] = [await deposit(body), await deposit(body)];
    assert.equal(first.status, 202, first.text);
    assert.equal(second.status, 202, second.text);
    assert.equal(second.json.id, first.json.id);
    assert.equal(first.headers.get('location'), `${org()}/deposits/${first.json.id}`);
    const settled = await depositSettled(first.json.id);
    assert.equal(settled.status, 'credited');
    assert.equal((await deposit(body)).json.status, 'credited', 'a third send after the end answers the deposit');
    assert.equal(await balance(), 2_500);
    const calls = await testPayments.callsFor('charge', depositChargeKey(first.json.id));
    assert.deepEqual(
      calls.map((c) => [c.result, c.amount_cents]),
      [['executed', 2_500]],
    );
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.admin.login_email) && /Receipt/.test(m.subject));
    assert.match(mail.subject, /25\.00 CHF/);
    // The same key with another amount is another request: refused, nothing charged.
    assertProblem(await deposit({ ...body, amountCents: 2_600 }), 409, 'conflict');
  });

  it('refuses a deposit out of range with 422 deposit-out-of-range, and a non-integer amount with 400', async () => {
    for (const amountCents of [9, 0, -100, 999_901]) {
      assertProblem(await deposit({ amountCents, cardRef: 'tok_visa_x', idempotencyKey: randomUUID() }), 422, 'deposit-out-of-range');
    }
    assertProblem(await deposit({ amountCents: 10.5, cardRef: 'tok_visa_x', idempotencyKey: randomUUID() }), 400, 'validation-failed');
    assert.equal((await deposit({ amountCents: 10, cardRef: `tok_visa_${randomUUID()}`, idempotencyKey: randomUUID() })).status, 202);
    assertProblem(await transfer(1_000_000), 422, 'deposit-out-of-range');
  });

  it('a declined card credits nothing and ends the deposit declined', async () => {
    const r = await deposit({ amountCents: 5_000, cardRef: `${DECLINED_TEST_CARD_PREFIX}_${randomUUID()}`, idempotencyKey: randomUUID() });
    assert.equal(r.status, 202, r.text);
    const settled = await depositSettled(r.json.id);
    assert.equal(settled.status, 'declined');
    assert.equal(await balance(), 0);
    const calls = await testPayments.callsFor('charge', depositChargeKey(r.json.id));
    assert.deepEqual(
      calls.map((c) => c.result),
      ['declined'],
    );
    const entries = await suite.api.db.selectFrom('prepaid_ledger_entries').select('id').where('organization_id', '=', suite.seed.org.id).execute();
    assert.equal(entries.length, 0);
  });

  it('records a transfer by system once per reference, audited once; other roles may not', async () => {
    const reference = `bank-${randomUUID()}`;
    const first = await transfer(7_000, reference);
    assert.equal(first.status, 201, first.text);
    const again = await transfer(7_000, reference);
    assert.equal(again.status, 200);
    assert.equal(again.json.entryId, first.json.entryId);
    assertProblem(await transfer(7_100, reference), 409, 'conflict');
    assert.equal(await balance(), 7_000);
    const audits = await suite.api.db
      .selectFrom('audit_log')
      .select('actor_type')
      .where('action', '=', 'prepaid.transfer_recorded')
      .where('subject_id', '=', suite.seed.org.id)
      .execute();
    assert.deepEqual(audits, [{ actor_type: 'system' }]);
    for (const who of ['legalRep', 'agent'] as const) {
      const r = await suite.api.call('POST', `${org()}/transfers`, { token: suite.tokens[who], body: { amountCents: 100, reference: `x-${randomUUID()}` } });
      assertProblem(r, 403, 'forbidden');
    }
  });

  it('refuses non-managers: a collaborator 403, an outsider 404; a payout is for legal representatives only', async () => {
    const body = { amountCents: 1_000, cardRef: 'tok_visa_x', idempotencyKey: randomUUID() };
    assertProblem(await suite.api.call('GET', org(), { token: suite.tokens.collaborator }), 403, 'forbidden');
    assertProblem(await suite.api.call('GET', org(), { token: suite.tokens.outsider }), 404, 'not-found');
    assertProblem(await deposit(body, suite.tokens.collaborator), 403, 'forbidden');
    assertProblem(await deposit(body, suite.tokens.outsider), 404, 'not-found');
    assertProblem(await suite.api.call('GET', org(), { token: suite.tokens.agent }), 403, 'forbidden');
    const destination = { kind: 'paypal', email: 'treasury@example.org' };
    const admin = await suite.api.call('POST', `${org()}/payouts`, {
      token: await recentLogin(suite.tokens.admin),
      body: { amountCents: 100, destination, idempotencyKey: randomUUID() },
    });
    assertProblem(admin, 403, 'forbidden');
    // Without a recent login, even the legal representative is asked to prove the password again.
    const stale = await suite.api.call('POST', `${org()}/payouts`, {
      token: suite.tokens.legalRep,
      body: { amountCents: 100, destination, idempotencyKey: randomUUID() },
    });
    assertProblem(stale, 403, 'reauthentication-required');
    const badIban = await suite.api.call('POST', `${org()}/payouts`, {
      token: await recentLogin(suite.tokens.legalRep),
      body: { amountCents: 100, destination: { kind: 'iban', iban: 'CH00 0000 0000 0000 0000 0', holder: 'X' }, idempotencyKey: randomUUID() },
    });
    assertProblem(badIban, 400, 'validation-failed');
  });

  it('a payout larger than the balance is refused at once, nothing reserved', async () => {
    await transfer(3_000);
    assertProblem(await requestPayout(3_001), 409, 'insufficient-prepaid-balance');
    assert.equal(await balance(), 3_000);
    const rows = await suite.api.db.selectFrom('prepaid_ledger_entries').select('amount_cents').where('organization_id', '=', suite.seed.org.id).execute();
    assert.deepEqual(rows, [{ amount_cents: 3_000 }]);
  });

  it('an approved payout is reserved at once, paid out once, emailed; the balance drops', async () => {
    await transfer(10_000);
    const r = await requestPayout(4_000);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, 'awaiting_approval');
    assert.equal(r.json.destination.ibanLast4, '2957');
    assert.equal(await balance(), 6_000, 'reserved at once');
    // The balance left cannot be spent twice: a second payout beyond it is refused.
    assertProblem(await requestPayout(6_001), 409, 'insufficient-prepaid-balance');
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && /Payout of 40\.00 CHF requested/.test(m.subject));

    const queue = await suite.api.call('GET', '/v1/prepaid-payouts?status=awaiting_approval&limit=200', { token: suite.tokens.agent });
    assert.equal(queue.status, 200);
    const listed = queue.json.items.find((p: { id: string }) => p.id === r.json.id);
    assert.equal(listed.destination.iban, 'CH9300762011623852957', 'agents see the destination to check it');
    assertProblem(await suite.api.call('GET', '/v1/prepaid-payouts', { token: suite.tokens.legalRep }), 403, 'forbidden');

    const decide = (token: string) =>
      suite.api.call('POST', `/v1/prepaid-payouts/${r.json.id}/decision`, { token, body: { decision: 'approve', reason: 'holder matches the organization' } });
    const decided = await decide(suite.tokens.agent);
    assert.equal(decided.status, 200, decided.text);
    const paid = await payoutIn(r.json.id, ['paid']);
    assert.match(paid.providerReference, /^po_/);
    assertProblem(await decide(suite.tokens.otherAgent), 409, 'payout-not-awaiting-approval');
    assert.equal(await balance(), 6_000);
    const calls = await testPayments.callsFor('payout', payoutKey(r.json.id));
    assert.deepEqual(
      calls.map((c) => [c.result, c.amount_cents]),
      [['executed', 4_000]],
    );
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.admin.login_email) && /Payout of 40\.00 CHF sent/.test(m.subject));
    const audits = await suite.api.db.selectFrom('audit_log').select(['actor_id', 'action']).where('subject_id', '=', r.json.id).execute();
    assert.deepEqual(audits, [{ actor_id: suite.seed.agent.id, action: 'prepaid_payout.approved' }]);
  });

  it('a payout sent again with its idempotencyKey is the same payout: reserved once, paid once, emailed once', async () => {
    await transfer(10_000);
    const key = randomUUID();
    // A client that timed out and retried, while the first request was still being answered.
    const [first, again] = await Promise.all([requestPayout(6_000, undefined, key), requestPayout(6_000, undefined, key)]);
    assert.equal(first.status, 202, first.text);
    assert.equal(again.status, 202, again.text);
    assert.equal(again.json.id, first.json.id);
    assert.equal(await balance(), 4_000, 'reserved once');
    // Later, the same key once more (the balance left would not cover a second one): where it stands.
    const later = await requestPayout(6_000, { kind: 'iban', iban: 'ch9300762011623852957', holder: 'Org AG' }, key);
    assert.equal(later.status, 202, later.text);
    assert.equal(later.json.id, first.json.id);
    assert.equal(later.json.status, 'awaiting_approval');
    // The key with other terms is refused, not taken for a new payout.
    const other = await requestPayout(5_000, undefined, key);
    assertProblem(other, 409, 'conflict');
    assert.equal(await balance(), 4_000);

    const decided = await suite.api.call('POST', `/v1/prepaid-payouts/${first.json.id}/decision`, {
      token: suite.tokens.agent,
      body: { decision: 'approve', reason: 'holder matches the organization' },
    });
    assert.equal(decided.status, 200, decided.text);
    await payoutIn(first.json.id, ['paid']);
    assert.equal((await requestPayout(6_000, undefined, key)).json.status, 'paid', 'after the end, the key answers the payout');
    const calls = await testPayments.callsFor('payout', payoutKey(first.json.id));
    assert.deepEqual(
      calls.map((c) => [c.result, c.amount_cents]),
      [['executed', 6_000]],
    );
    const payouts = await listPayouts(suite.api.db, { organizationId: suite.seed.org.id, limit: 10 });
    assert.deepEqual(
      payouts.map((p) => p.id),
      [first.json.id],
    );
    const requested = (await smtpCapture())
      .messages()
      .filter((m) => m.to.includes(suite.seed.legalRep.login_email) && /Payout of 60\.00 CHF requested/.test(m.subject));
    assert.equal(requested.length, 1, 'one "requested" email');
  });

  it('a payout refused for the balance keeps nothing under its key: the same key after a top-up makes it, once', async () => {
    await transfer(1_000);
    const key = randomUUID();
    assertProblem(await requestPayout(2_000, undefined, key), 409, 'insufficient-prepaid-balance');
    await transfer(5_000);
    const made = await requestPayout(2_000, undefined, key);
    assert.equal(made.status, 202, made.text);
    assert.equal((await requestPayout(2_000, undefined, key)).json.id, made.json.id);
    assert.equal(await balance(), 4_000);
  });

  it('a rejected payout is credited back once and emailed; nothing reaches the provider', async () => {
    await transfer(5_000);
    const r = await requestPayout(5_000, { kind: 'paypal', email: 'treasury@example.org' });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json.destination, { kind: 'paypal', emailDomain: 'example.org' });
    assert.equal(await balance(), 0);
    const decided = await suite.api.call('POST', `/v1/prepaid-payouts/${r.json.id}/decision`, {
      token: suite.tokens.agent,
      body: { decision: 'reject', reason: 'the PayPal account is not the organization’s' },
    });
    assert.equal(decided.status, 200, decided.text);
    const rejected = await payoutIn(r.json.id, ['rejected']);
    assert.equal(rejected.decisionReason, 'the PayPal account is not the organization’s');
    assert.equal(await balance(), 5_000);
    assert.deepEqual(await testPayments.callsFor('payout', payoutKey(r.json.id)), []);
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && /Payout of 50\.00 CHF not made/.test(m.subject));
  });

  it('the statement lists the entries newest first, in pages', async () => {
    await transfer(1_000, `first-${randomUUID()}`);
    await transfer(2_000, `second-${randomUUID()}`);
    const d = await deposit({ amountCents: 3_000, cardRef: `tok_visa_${randomUUID()}`, idempotencyKey: randomUUID() });
    await depositSettled(d.json.id);
    const r = await suite.api.call('GET', org(), { token: suite.tokens.admin });
    assert.equal(r.status, 200);
    assert.equal(r.json.currency, 'CHF');
    assert.equal(r.json.balanceCents, 6_000);
    assert.deepEqual(
      r.json.entries.map((e: { amountCents: number; reason: string }) => [e.amountCents, e.reason]),
      [
        [3_000, 'deposit by card'],
        [2_000, 'bank transfer'],
        [1_000, 'bank transfer'],
      ],
    );
    const page = await suite.api.call('GET', `${org()}?limit=2`, { token: suite.tokens.admin });
    assert.equal(page.json.entries.length, 2);
    const next = await suite.api.call('GET', `${org()}?limit=2&before=${page.json.nextBefore}`, { token: suite.tokens.admin });
    assert.deepEqual(
      next.json.entries.map((e: { amountCents: number }) => e.amountCents),
      [1_000],
    );
  });
});
