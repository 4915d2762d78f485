import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { renewal } from '../../workflows/renewal';
import {
  AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS,
  AUTO_RENEW_RETRY_INTERVAL_MS,
  RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS,
  RENEWAL_SUSPENSION_GRACE_MS,
  RENEWAL_TERMINATION_AFTER_SUSPENSION_MS,
} from '../../lib/rules';
import { addMonths, renewalStatusQuery, renewalWorkflowId } from '../../workflows/shared/renewal';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';
import { DAY, HOUR, at, eventually, payTerm, stepsMailed } from '../support/renewal';
import { testPayments, testWorker } from '../support/worker';

describe('renewal workflow (time-skipping)', function () {
  this.timeout(300_000);
  const suite = timeSkippingSuite();

  async function setup(opts: Parameters<typeof insertRenewableProduct>[2] extends infer O ? Omit<O & object, 'dueAt'> & { dueInMs: number } : never) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const now = await suite.env.currentTimeMs();
    // Whole minutes: the dates read cleanly in failures.
    const due = Math.ceil((now + opts.dueInMs) / 60_000) * 60_000;
    const product = await insertRenewableProduct(db, seed, { ...opts, dueAt: new Date(due) });
    return { db, seed, due, now, ...product };
  }
  async function start(taskQueue: string, productId: string, due: number) {
    await suite.client.workflow.start('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: new Date(due).toISOString() }],
    });
    // Without a run id the handle follows the chain of runs (one per term), for queries and cleanup.
    const handle = suite.client.workflow.getHandle<typeof renewal>(renewalWorkflowId(productId));
    suite.opened.push(handle);
    await settle(handle);
    return handle;
  }
  /**
   * Waits until the process waits for its next step: a test must not end (nor skip time) with a step
   * half done, or the time-skipping server would keep its clock locked for the next test.
   */
  async function settle(handle: WorkflowHandle<typeof renewal>) {
    await eventually(async () => {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return;
      // Waiting for its next step means a timer was the last thing it did; anything else (an
      // activity scheduled, a task or a signal pending) is work in progress.
      const events = (await handle.fetchHistory()).events ?? [];
      assert.equal(String(events.at(-1)?.eventType), String(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED), 'the process is still working');
    });
  }
  /** Skips to `ms` (server time), then waits until the process has settled there. */
  async function skipTo(ms: number, handle: WorkflowHandle<typeof renewal>) {
    const now = await suite.env.currentTimeMs();
    if (ms > now) await suite.env.sleep(ms - now);
    await settle(handle);
  }
  const product = async (productId: string) => (await database()).db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirstOrThrow();
  const renewals = async (productId: string) =>
    (await database()).db.selectFrom('product_renewals').selectAll().where('product_id', '=', productId).orderBy('from_due_at').execute();
  const chargesOn = (cardRef: string) => testPayments.chargesFor((c) => c.cardRef === cardRef);

  it('renews monthly terms for a full year: auto-renewal reminder and charge 14 days before each due date, one charge per term', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, productId, cardRef, due, now } = await setup({ dueInMs: 20 * DAY, termMonths: 1, autoRenew: true, priceCents: 990 });
      const handle = await start(taskQueue, productId, due);
      const firstAttempt = due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS;
      await skipTo(firstAttempt - HOUR, handle);
      assert.equal((await chargesOn(cardRef)).length, 0, 'nothing is charged before 14 days ahead');
      await skipTo(firstAttempt + HOUR, handle);
      await eventually(async () => assert.equal((await product(productId)).due_at?.getTime(), addMonths(due, 1)));

      const end = now + 365 * DAY;
      await skipTo(end, handle);
      const dues: number[] = [];
      for (let d = due; d - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS <= end; d = addMonths(d, 1)) dues.push(d);
      assert.ok(dues.length >= 12, `a year holds at least 12 monthly terms (got ${dues.length})`);
      await eventually(async () => assert.equal((await renewals(productId)).length, dues.length));
      const rows = await renewals(productId);
      assert.deepEqual(
        rows.map((r) => [r.from_due_at.getTime(), r.to_due_at.getTime(), r.under_warranty]),
        dues.map((d) => [d, addMonths(d, 1), false]),
      );
      assert.equal((await chargesOn(cardRef)).length, dues.length, 'one charge per term, whatever the retries');
      assert.ok((await chargesOn(cardRef)).every((c) => c.amountCents === 990 && c.currency === 'CHF'));
      const mailed = await stepsMailed(db, productId);
      assert.deepEqual(
        mailed.filter((s) => s.startsWith('auto-renew-reminder@')),
        dues.map((d) => at('auto-renew-reminder', d - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS)),
      );
      assert.ok(!mailed.some((s) => s.startsWith('reminder@')), 'with automatic renewal, the 14-day reminder replaces the periodic ones');
      const status = await handle.query(renewalStatusQuery);
      assert.equal(status.dueAt, new Date(addMonths(dues.at(-1)!, 1)).toISOString(), 'each term is a new run that carries the next due date');
    });
  });

  it('sends reminders at the chosen frequency, the first no earlier than 2 months ahead, and renews when the invoice is paid', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, due } = await setup({ dueInMs: 90 * DAY });
      await db
        .insertInto('billing_preferences')
        .values({ organization_id: seed.org.id, reminder_frequency: 'every_two_weeks', reminder_start_months: 2 })
        .execute();
      const handle = await start(taskQueue, productId, due);
      const first = addMonths(due, -2);
      await skipTo(first - HOUR, handle);
      assert.deepEqual(await stepsMailed(db, productId), [], 'nothing earlier than 2 months before the due date');
      await skipTo(due - 3 * DAY, handle);
      const expected = [at('issue-invoice', first)];
      for (let t = first; t < due; t += 14 * DAY) expected.push(at('reminder', t));
      await eventually(async () =>
        assert.deepEqual(
          await stepsMailed(db, productId),
          expected.filter((s) => Date.parse(s.split('@')[1]!) <= due - 3 * DAY),
        ),
      );
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /due for renewal/.test(m.subject));
      assert.match(mail.text, /Outstanding: 120\.00 CHF/);

      await payTerm(db, suite.client, productId, new Date(due));
      await eventually(async () => assert.equal((await product(productId)).due_at?.getTime(), addMonths(due, 12)));
      await settle(handle);
      assert.equal((await renewals(productId)).length, 1);
      await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /is renewed until/.test(m.subject));
    });
  });

  it('retries a declined automatic payment every 3 days, then blocks the product after the grace period and terminates it later', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, cardRef, due } = await setup({ dueInMs: 30 * DAY, autoRenew: true });
      testPayments.declineCard(cardRef);
      const handle = await start(taskQueue, productId, due);
      await skipTo(due - HOUR, handle);
      const attempts: number[] = [];
      for (let t = due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS; t < due; t += AUTO_RENEW_RETRY_INTERVAL_MS) attempts.push(t);
      assert.equal(attempts.length, 5);
      await eventually(async () =>
        assert.deepEqual(
          (await stepsMailed(db, productId)).filter((s) => s.startsWith('charge@')),
          attempts.map((t) => at('charge', t)),
        ),
      );
      assert.equal((await handle.query(renewalStatusQuery)).chargeAttempts, 5);
      const last = await (
        await smtpCapture()
      ).waitFor((m) => m.to.includes(seed.admin.login_email) && /Automatic payment failed/.test(m.subject) && /last attempt/.test(m.text));
      assert.match(last.text, /card declined/);
      assert.equal((await product(productId)).status, 'active');

      const suspendAt = due + RENEWAL_SUSPENSION_GRACE_MS;
      await skipTo(suspendAt - HOUR, handle);
      assert.equal((await product(productId)).status, 'active', 'the grace period keeps the service running');
      await skipTo(suspendAt + HOUR, handle);
      await eventually(async () => assert.equal((await product(productId)).status, 'suspended'));
      assert.equal((await handle.query(renewalStatusQuery)).state, 'suspended');

      const terminateAt = suspendAt + RENEWAL_TERMINATION_AFTER_SUSPENSION_MS;
      await skipTo(terminateAt - HOUR, handle);
      assert.ok((await stepsMailed(db, productId)).includes(at('final-notice', terminateAt - RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS)));
      assert.equal((await product(productId)).status, 'suspended');
      await skipTo(terminateAt + HOUR, handle);
      assert.deepEqual(await handle.result(), { productId, outcome: 'terminated' });
      assert.equal((await product(productId)).status, 'terminated');
      const invoice = await db
        .selectFrom('invoices')
        .select(['status', 'total_cents'])
        .where('product_id', '=', productId)
        .where('kind', '=', 'renewal')
        .executeTakeFirstOrThrow();
      assert.deepEqual(invoice, { status: 'void', total_cents: 0 }, 'a terminated product owes nothing for the term it did not get');
      assert.equal((await chargesOn(cardRef)).length, 0);
      assert.equal((await renewals(productId)).length, 0);
    });
  });

  it('renews under Renewal Warranty at the due date and leaves the invoice due', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, due } = await setup({ dueInMs: 40 * DAY, warranty: true });
      const handle = await start(taskQueue, productId, due);
      await skipTo(due + HOUR, handle);
      await eventually(async () => assert.equal((await product(productId)).due_at?.getTime(), addMonths(due, 12)));
      const [row] = await renewals(productId);
      assert.equal(row?.under_warranty, true);
      const p = await product(productId);
      assert.equal(p.status, 'active');
      const invoice = await db
        .selectFrom('invoices')
        .select(['status', 'total_cents', 'paid_cents'])
        .where('product_id', '=', productId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(invoice, { status: 'open', total_cents: 12_000, paid_cents: 0 });
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /Renewal Warranty/.test(m.subject));
      assert.match(mail.text, /120\.00 CHF remains due/);
      await skipTo(due + RENEWAL_SUSPENSION_GRACE_MS + DAY, handle);
      assert.equal((await product(productId)).status, 'active', 'no block under warranty');
      assert.equal((await handle.query(renewalStatusQuery)).dueAt, new Date(addMonths(due, 12)).toISOString());
    });
  });

  it('restores a blocked product at once when its renewal is paid during the suspension', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, due } = await setup({ dueInMs: 10 * DAY });
      const handle = await start(taskQueue, productId, due);
      await skipTo(due + RENEWAL_SUSPENSION_GRACE_MS + 2 * DAY, handle);
      await eventually(async () => assert.equal((await product(productId)).status, 'suspended'));
      await payTerm(db, suite.client, productId, new Date(due), { means: 'twint' });
      await eventually(async () => assert.equal((await product(productId)).status, 'active'));
      const p = await product(productId);
      assert.equal(p.due_at?.getTime(), addMonths(due, 12), 'the renewed term starts at the old due date');
      assert.equal(p.suspended_at, null);
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /is renewed until/.test(m.subject));
      assert.match(mail.text, /lifted the block/);
      await settle(handle);
      assert.equal((await handle.query(renewalStatusQuery)).state, 'scheduled');
    });
  });

  it('charges only what a partial prepaid payment left due', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, cardRef, due } = await setup({ dueInMs: 70 * DAY, autoRenew: true });
      await db
        .insertInto('prepaid_ledger_entries')
        .values({ organization_id: seed.org.id, currency: 'CHF', amount_cents: 5_000, reason: 'deposit', reference: `deposit:${productId}` })
        .execute();
      const handle = await start(taskQueue, productId, due);
      await skipTo(addMonths(due, -2) + HOUR, handle);
      await eventually(async () => assert.ok(await db.selectFrom('invoice_lines').select('id').where('product_id', '=', productId).executeTakeFirst()));
      const partial = await payTerm(db, suite.client, productId, new Date(due), { means: 'prepaid', amountCents: 5_000 });
      assert.equal(partial.invoiceStatus, 'open');
      await skipTo(due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS + HOUR, handle);
      await eventually(async () => assert.equal((await renewals(productId)).length, 1));
      assert.deepEqual(
        (await chargesOn(cardRef)).map((c) => c.amountCents),
        [7_000],
      );
      const invoice = await db.selectFrom('invoices').select(['status', 'paid_cents']).where('product_id', '=', productId).executeTakeFirstOrThrow();
      assert.deepEqual(invoice, { status: 'paid', paid_cents: 12_000 });
      const reminder = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /Automatic renewal of/.test(m.subject));
      assert.match(reminder.text, /charging 70\.00 CHF/);
      await settle(handle);
    });
  });

  it('sends no reminder for a payment that arrived just before it, even before the process heard of the payment', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, productId, due } = await setup({ dueInMs: 75 * DAY });
      const handle = await start(taskQueue, productId, due);
      const reminder = addMonths(due, -1);
      await skipTo(reminder - HOUR, handle);
      assert.deepEqual(await stepsMailed(db, productId), [at('issue-invoice', addMonths(due, -2)), at('reminder', addMonths(due, -2))]);
      // The bank transfer is booked; its signal has not reached the process yet.
      await payTerm(db, null, productId, new Date(due));
      await skipTo(reminder + HOUR, handle);
      assert.ok(!(await stepsMailed(db, productId)).includes(at('reminder', reminder)), 'the reminder did not cross the payment');
      await eventually(async () => assert.equal((await product(productId)).due_at?.getTime(), addMonths(due, 12)));
      await settle(handle);
    });
  });

  it('survives a worker restart between two automatic payment attempts', async () => {
    const taskQueue = `test-${randomUUID()}`;
    const first = await testWorker(suite.env, taskQueue, { maxCachedWorkflows: 0 });
    const { productId, cardRef, due } = await setup({ dueInMs: 20 * DAY, autoRenew: true });
    testPayments.declineCard(cardRef, 1);
    const handle = await first.worker.runUntil(async () => {
      const h = await start(taskQueue, productId, due);
      await skipTo(due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS + HOUR, h);
      assert.equal((await h.query(renewalStatusQuery)).lastDecline, 'card declined by the issuer');
      return h;
    });
    const second = await testWorker(suite.env, taskQueue);
    await second.worker.runUntil(async () => {
      await skipTo(due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS + AUTO_RENEW_RETRY_INTERVAL_MS + HOUR, handle);
      await eventually(async () => assert.equal((await product(productId)).due_at?.getTime(), addMonths(due, 12)));
      assert.equal((await chargesOn(cardRef)).length, 1, 'the second attempt paid, once');
      await settle(handle);
    });
  });
});
