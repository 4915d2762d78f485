import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { issueRenewalInvoice, recordInvoicePayment, releaseTermInvoice } from '../../db/repositories/renewal';
import { addMonths } from '../../workflows/shared/renewal';
import { createDataConverter } from '../../temporal/dataConverter';
import { chargeKey, paymentWorkflowId, type PaymentInput, type PaymentOutcome } from '../../workflows/shared/payment';
import { renewalChangedSignal, renewalWorkflowId } from '../../workflows/shared/renewal';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { silentLogger } from '../../lib/logger';
import { AUTH_SECRET, apiSuite, assertProblem } from '../support/api';
import { devServerEnv, fixtureKeyring, workflowBundle } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';
import { DAY, eventually } from '../support/renewal';
import { realActivities, testPayments } from '../support/worker';

// Issue 13: money moves once. These tests count what reached the provider (its ledger in
// PostgreSQL, every call), not what our own code deduplicated.
describe('payments as processes (dev server + PostgreSQL)', function () {
  this.timeout(180_000);
  const suite = apiSuite();

  const dueIn = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 60_000) * 60_000);
  const pay = (productId: string, token: string, body: unknown, key = randomUUID()) =>
    suite.api.call('POST', `/v1/products/${productId}/payments`, { token, body, headers: { 'idempotency-key': key } });
  const invoiceOf = async (productId: string) =>
    suite.api.db
      .selectFrom('invoice_lines as l')
      .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
      .select(['i.id', 'i.status', 'i.total_cents', 'i.paid_cents'])
      .where('l.product_id', '=', productId)
      .executeTakeFirstOrThrow();
  const paymentsOf = (invoiceId: string) => suite.api.db.selectFrom('payments').selectAll().where('invoice_id', '=', invoiceId).orderBy('created_at').execute();
  /** Net money at the provider for an invoice: charges minus refunds under its payments' keys, and every charge call. */
  async function atProvider(invoiceId: string) {
    let net = 0;
    let chargeCalls = 0;
    for (const p of await paymentsOf(invoiceId)) {
      for (const c of await testPayments.callsFor('charge', chargeKey(p.id))) {
        chargeCalls += 1;
        if (c.result === 'executed') net += c.amount_cents;
      }
      for (const r of await testPayments.callsFor('refund', `refund:${p.id}`)) if (r.result === 'executed') net -= r.amount_cents;
    }
    return { net, chargeCalls };
  }

  it('two payments with different keys racing for the full amount of one invoice, 20 rounds: one settles per round, the provider holds exactly it', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt: dueIn(40 * DAY), priceCents: 12_000 });
      const answers = await Promise.all([
        pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_visa_admin' }),
        pay(productId, suite.tokens.legalRep, { means: 'card', cardToken: 'tok_visa_rep' }),
      ]);
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [201, 409], `round ${round}: ${answers.map((a) => a.text).join(' | ')}`);
      assertProblem(
        answers.find((a) => a.status === 409)!,
        409,
        'nothing-due',
      );
      const invoice = await invoiceOf(productId);
      assert.deepEqual([invoice.status, invoice.paid_cents], ['paid', 12_000]);
      const settled = (await paymentsOf(invoice.id)).filter((p) => p.status === 'captured');
      assert.equal(settled.length, 1, `round ${round}: one settled payment`);
      assert.deepEqual(await atProvider(invoice.id), { net: 12_000, chargeCalls: 1 }, `round ${round}: the refused one never reached the provider`);
    }
  });

  it("a payment whose term is paid and renewed while it waits for the invoice's lock refuses with 409 nothing-due instead of paying the next term (issue 20)", async () => {
    const dueAt = dueIn(40 * DAY);
    const nextDue = new Date(addMonths(dueAt.getTime(), 12));
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt, priceCents: 12_000 });
    await suite.api.db.transaction().execute((trx) => issueRenewalInvoice(trx, productId, dueAt, new Date()));
    const invoice = await invoiceOf(productId);

    // The other payment holds the product while it pays the term and renews it, as the winner of a race
    // does; this request reads the term first, then waits for the lock, as a retried reservation would.
    let late: Promise<Awaited<ReturnType<typeof pay>>> | undefined;
    await suite.api.db.transaction().execute(async (trx) => {
      await trx.selectFrom('products').select('id').where('id', '=', productId).forUpdate().execute();
      late = pay(productId, suite.tokens.legalRep, { means: 'card', cardToken: 'tok_visa_late' });
      await eventually(async () => {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%from "products"%for update%'`.execute(suite.api.db);
        assert.ok(rows[0]!.n > 0, 'the late request waits for the product');
      }, 30_000);
      await recordInvoicePayment(trx, {
        invoiceId: invoice.id,
        means: 'iban_transfer',
        amountCents: 12_000,
        idempotencyKey: `winner:${productId}`,
        providerReference: 'bank-1',
        at: new Date(),
      });
      await trx.updateTable('products').set({ due_at: nextDue }).where('id', '=', productId).execute();
    });
    const answer = await late!;
    assertProblem(answer, 409, 'nothing-due');
    assert.match(answer.json.detail, new RegExp(`term due on ${dueAt.toISOString().slice(0, 10)}`));
    const nextTerm = await suite.api.db.selectFrom('invoice_lines').select('id').where('product_id', '=', productId).where('due_at', '=', nextDue).execute();
    assert.equal(nextTerm.length, 0, "the next term's invoice was neither issued nor paid by it");
    assert.deepEqual(
      (await paymentsOf(invoice.id)).map((p) => [p.status, p.amount_cents]),
      [['captured', 12_000]],
    );
  });

  it('a customer card payment racing the automatic-renewal charge: the invoice is paid once, a second charge is refunded', async () => {
    // Due in 10 days with automatic renewal on: the first attempt (14 days ahead) is due at once.
    const dueAt = dueIn(10 * DAY);
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt, priceCents: 9_000, autoRenew: true });
    const [customer] = await Promise.all([
      pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_visa_race' }),
      suite.api.client.workflow.signalWithStart('renewal', {
        workflowId: renewalWorkflowId(productId),
        taskQueue: suite.api.taskQueue,
        args: [{ productId, dueAt: dueAt.toISOString() }],
        signal: renewalChangedSignal,
      }),
    ]);
    assert.ok([201, 202, 409].includes(customer.status), customer.text);
    const invoice = await eventually(async () => {
      const inv = await invoiceOf(productId);
      assert.equal(inv.status, 'paid');
      const rows = await paymentsOf(inv.id);
      assert.ok(
        rows.every((p) => p.status !== 'pending'),
        'every payment process ended',
      );
      return inv;
    }, 30_000);
    const rows = await paymentsOf(invoice.id);
    assert.equal(
      rows.filter((p) => p.status === 'captured').reduce((s, p) => s + p.amount_cents, 0),
      9_000,
      'paid once',
    );
    for (const p of rows.filter((r) => r.status === 'refunded'))
      assert.equal((await testPayments.refundsFor((r) => r.idempotencyKey === `refund:${p.id}`)).length, 1, 'a charge the invoice refused went back');
    assert.equal((await atProvider(invoice.id)).net, 9_000, 'the provider holds what the books say');
    await eventually(async () => {
      const p = await suite.api.db.selectFrom('products').select('due_at').where('id', '=', productId).executeTakeFirstOrThrow();
      assert.notEqual(p.due_at?.getTime(), dueAt.getTime(), 'renewed');
    });
  });

  it('a payment declined after its reservation is released; the invoice stays payable', async () => {
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt: dueIn(30 * DAY), priceCents: 5_000 });
    testPayments.declineCard('tok_once_refused', 1);
    const declined = await pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_once_refused' });
    assertProblem(declined, 402, 'payment-declined');
    const read = await suite.api.call('GET', `/v1/payments/${declined.json.paymentId}`, { token: suite.tokens.legalRep });
    assert.deepEqual([read.status, read.json.status, read.json.reason], [200, 'declined', 'card declined by the issuer']);
    assertProblem(await suite.api.call('GET', `/v1/payments/${declined.json.paymentId}`, { token: suite.tokens.outsider }), 404, 'not-found');
    const renewal = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.admin });
    assert.deepEqual([renewal.json.invoice.status, renewal.json.invoice.outstandingCents], ['open', 5_000], 'nothing reserved any more');
    const again = await pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_once_refused' });
    assert.equal(again.status, 201, again.text);
    assert.deepEqual([again.json.payment.status, again.json.invoice.status], ['captured', 'paid']);
    assert.equal(again.headers.get('location'), `/v1/payments/${again.json.payment.id}`);
    assert.deepEqual(await atProvider(again.json.invoice.id), { net: 5_000, chargeCalls: 2 }, 'the decline and the charge both reached the provider');
  });

  it('answers 202 with the payment to poll when the process takes longer than the wait, and the poll shows it settle', async () => {
    const { api } = suite;
    // A second API on the same worker and database that does not wait at all.
    const app = createApp({
      client: api.client,
      db: api.db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: { authSecret: AUTH_SECRET, taskQueue: api.taskQueue, rateLimitPerMinute: 10_000, publicUrl: 'http://backoffice.test', paymentSettleWaitMs: 0 },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const { productId } = await insertRenewableProduct(api.db, suite.seed, { dueAt: dueIn(30 * DAY), priceCents: 2_500 });
      const key = `poll-${randomUUID()}`;
      const res = await fetch(`${base}/v1/products/${productId}/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${suite.tokens.admin}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ means: 'card', cardToken: 'tok_visa_poll' }),
      });
      const body = (await res.json()) as { payment: { id: string; status: string } };
      assert.equal(res.status, 202);
      assert.equal(body.payment.status, 'pending');
      assert.equal(res.headers.get('location'), `/v1/payments/${body.payment.id}`);
      const settled = await eventually(async () => {
        const read = await api.call('GET', `/v1/payments/${body.payment.id}`, { token: suite.tokens.admin });
        assert.equal(read.json.status, 'captured');
        return read.json;
      });
      assert.equal(settled.amountCents, 2_500);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a worker shut down without draining between the charge and the settlement: settled once after restart, one charge', async () => {
    const env = await devServerEnv();
    const taskQueue = `payments-kill-${randomUUID()}`;
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt: dueIn(30 * DAY), priceCents: 7_000 });
    const real = await realActivities({ client: suite.api.client, taskQueue });
    let reachedSettle!: () => void;
    const reached = new Promise<void>((r) => (reachedSettle = r));
    const workerOptions = {
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      dataConverter: createDataConverter(fixtureKeyring()),
      workflowBundle: await workflowBundle(),
      maxCachedWorkflows: 0,
    };
    // The first worker charges, then dies before it settles: its settlement never finishes.
    const first = await Worker.create({
      ...workerOptions,
      shutdownGraceTime: '100 ms',
      activities: {
        ...real,
        settlePayment: () => {
          reachedSettle();
          return new Promise<never>((_, reject) => void Context.current().cancelled.catch(reject));
        },
      },
    });
    const running = first.run();
    const paymentId = randomUUID();
    const input: PaymentInput = {
      paymentId,
      request: {
        kind: 'invoice',
        productId,
        means: 'card',
        cardToken: 'tok_visa_kill',
        businessKey: `test:kill:${paymentId}`,
        requestedBy: `customer:${suite.seed.admin.id}`,
      },
    };
    const handle = await suite.api.client.workflow.start('payment', { workflowId: paymentWorkflowId(paymentId), taskQueue, args: [input] });
    await reached;
    assert.equal((await testPayments.callsFor('charge', chargeKey(paymentId))).length, 1, 'charged before the crash');
    first.shutdown();
    await running;
    assert.equal((await suite.api.db.selectFrom('payments').select('status').where('id', '=', paymentId).executeTakeFirstOrThrow()).status, 'pending');

    const second = await Worker.create({ ...workerOptions, activities: real });
    const outcome = (await second.runUntil(handle.result())) as PaymentOutcome;
    assert.deepEqual([outcome.status, outcome.amountCents], ['captured', 7_000]);
    const invoice = await invoiceOf(productId);
    assert.deepEqual([invoice.status, invoice.paid_cents], ['paid', 7_000]);
    assert.deepEqual(
      (await testPayments.callsFor('charge', chargeKey(paymentId))).map((c) => c.result),
      ['executed'],
      'one charge call: the restart settled what was charged',
    );
  });

  it('a card payment refused at settlement (the product was cancelled meanwhile) is refunded in full, once', async () => {
    const env = await devServerEnv();
    const taskQueue = `payments-refund-${randomUUID()}`;
    const dueAt = dueIn(30 * DAY);
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt, priceCents: 6_000 });
    const real = await realActivities({ client: suite.api.client, taskQueue });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      dataConverter: createDataConverter(fixtureKeyring()),
      workflowBundle: await workflowBundle(),
      activities: {
        ...real,
        // Between the charge and the settlement, a confirmed cancellation releases the term's invoice.
        settlePayment: async (input: { paymentId: string }) => {
          const invoice = await invoiceOf(productId);
          await suite.api.db.transaction().execute((trx) => releaseTermInvoice(trx, productId, dueAt, invoice.id));
          return real.settlePayment(input);
        },
      },
    });
    const paymentId = randomUUID();
    const input: PaymentInput = {
      paymentId,
      request: {
        kind: 'invoice',
        productId,
        means: 'card',
        cardToken: 'tok_visa_late',
        businessKey: `test:late:${paymentId}`,
        requestedBy: `customer:${suite.seed.admin.id}`,
      },
    };
    const outcome = (await worker.runUntil(
      suite.api.client.workflow.execute('payment', { workflowId: paymentWorkflowId(paymentId), taskQueue, args: [input] }),
    )) as PaymentOutcome;
    assert.deepEqual([outcome.status, outcome.reason], ['refunded', 'the invoice was closed meanwhile']);
    const invoice = await suite.api.db
      .selectFrom('payments as p')
      .innerJoin('invoices as i', 'i.id', 'p.invoice_id')
      .select(['i.id', 'i.status', 'i.paid_cents'])
      .where('p.id', '=', paymentId)
      .executeTakeFirstOrThrow();
    assert.deepEqual([invoice.status, invoice.paid_cents], ['void', 0]);
    assert.deepEqual(
      (await testPayments.callsFor('refund', `refund:${paymentId}`)).map((c) => [c.result, c.amount_cents]),
      [['executed', 6_000]],
    );
    assert.equal((await atProvider(invoice.id)).net, 0, 'the card got its money back');
    const row = await suite.api.db.selectFrom('payments').select(['status', 'failure_reason']).where('id', '=', paymentId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'refunded', failure_reason: 'the invoice was closed meanwhile' });
  });

  it('a prepaid payment refused at settlement gives the prepaid money back; a system record of a bank payment settles without the provider', async () => {
    const { productId } = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt: dueIn(30 * DAY), priceCents: 4_000 });
    await suite.api.db
      .insertInto('prepaid_ledger_entries')
      .values({ organization_id: suite.seed.org.id, currency: 'CHF', amount_cents: 1_000, reason: 'deposit', reference: `deposit:${randomUUID()}` })
      .execute();
    const part = await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 1_000 });
    assert.equal(part.status, 201, part.text);
    assert.equal(part.json.prepaidBalanceCents, 0);
    const bank = await pay(productId, suite.tokens.system, { means: 'iban_transfer', providerReference: 'bank-statement-7' });
    assert.equal(bank.status, 201, bank.text);
    assert.deepEqual([bank.json.invoice.status, bank.json.payment.amountCents], ['paid', 3_000]);
    assert.deepEqual(await atProvider(bank.json.invoice.id), { net: 0, chargeCalls: 0 });
  });
});
