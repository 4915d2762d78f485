import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { PaymentMeans } from '../../db/tables/orders.table';
import { BLOCKED_ORDER_AUTO_CANCEL_MS, VERIFICATION_DOCUMENTS_PURGE_MS } from '../../lib/rules';
import { orderBlockStatusQuery, orderBlockWorkflowId, reopenVerificationSignal, type OrderBlockResult } from '../../workflows/shared/orders';
import {
  confirmCodeUpdate,
  documentUpdate,
  geolocationUpdate,
  statusQuery,
  submitPhoneUpdate,
  verificationWorkflowId,
  type VerificationResult,
} from '../../workflows/shared/verification';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { insertPaidOrder, markBlocked } from '../support/orders';
import {
  decideCase,
  linkTokenFor,
  sealedPhone,
  sealedPosition,
  smsCodeFor,
  storeTestDocuments,
  submitCaseByUpdates,
  uniquePhone,
} from '../support/verification';
import { testPayments, testWorker } from '../support/worker';

const DAY = 86_400_000;

describe('orderBlock workflow (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();
  const { opened } = suite;

  async function block(taskQueue: string, payment: { means: PaymentMeans; status?: 'captured' | 'in_progress' } = { means: 'card' }) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const { orderId, paymentId } = await insertPaidOrder(db, seed, payment);
    const caseId = randomUUID();
    await markBlocked(db, orderId, caseId);
    const handle = await suite.client.workflow.start('orderBlock', {
      workflowId: orderBlockWorkflowId(orderId),
      taskQueue,
      args: [{ orderId, accountId: seed.legalRep.id, caseId }],
    });
    const verification = suite.client.workflow.getHandle(verificationWorkflowId(caseId));
    opened.push(handle, verification);
    // The procedure (link and QR code) goes to the login address.
    const token = await linkTokenFor(seed.legalRep.login_email);
    // Queries wait for pending workflow tasks: nothing is left outstanding when a test ends early
    // (the time-skipping server stops skipping for everyone while a task is outstanding).
    await verification.query(statusQuery);
    await handle.query(orderBlockStatusQuery);
    return { db, seed, orderId, paymentId, caseId, handle, verification, token };
  }
  const order = async (orderId: string) => (await database()).db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
  const refundsOf = async (orderId: string) => (await database()).db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).execute();
  const prepaidBalance = async (organizationId: string) =>
    Number(
      (
        await (
          await database()
        ).db
          .selectFrom('prepaid_ledger_entries')
          .select((eb) => eb.fn.sum<string>('amount_cents').as('sum'))
          .where('organization_id', '=', organizationId)
          .executeTakeFirstOrThrow()
      ).sum ?? 0,
    );

  it('fulfils the order when the identity check is approved on day 9', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, orderId, caseId, handle, verification } = await block(taskQueue);
      await suite.env.sleep(9 * DAY);
      await submitCaseByUpdates(verification, db, caseId);
      await decideCase(verification, db, caseId, seed.agent.id, 'approve');
      assert.deepEqual(await handle.result(), { orderId, outcome: 'fulfilled' } satisfies OrderBlockResult);
      assert.equal((await order(orderId)).status, 'fulfilled');
      const products = await db
        .selectFrom('products as p')
        .innerJoin('order_lines as l', 'l.id', 'p.order_line_id')
        .select('p.status')
        .where('l.order_id', '=', orderId)
        .execute();
      assert.deepEqual(
        products.map((p) => p.status),
        ['active', 'active'],
      );
      assert.deepEqual(await refundsOf(orderId), []);
      await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && m.subject === 'Your order is unblocked');
    });
  });

  it('turns a fulfilled order into products that renew: due one term later, at the line price, automatic renewal on from the paying card; the sweep finds them, invoices and reminds before the due date (issue 17)', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, orderId, paymentId, caseId, handle, verification } = await block(taskQueue);
      // The checkout paid by card: its token is on the payment. The domain line is a one-off here.
      await db
        .updateTable('payments')
        .set({ card_ref: `card_${randomUUID().slice(0, 8)}` })
        .where('id', '=', paymentId)
        .execute();
      await db.updateTable('order_lines').set({ term_months: null }).where('order_id', '=', orderId).where('product_type', '=', 'domain').execute();
      await submitCaseByUpdates(verification, db, caseId);
      await decideCase(verification, db, caseId, seed.agent.id, 'approve');
      assert.deepEqual(await handle.result(), { orderId, outcome: 'fulfilled' } satisfies OrderBlockResult);

      const products = await db
        .selectFrom('products as p')
        .innerJoin('order_lines as l', 'l.id', 'p.order_line_id')
        .select(['p.id', 'l.product_type', 'p.due_at', 'p.term_months', 'p.renewal_price_cents', 'p.currency', 'p.auto_renew'])
        .where('l.order_id', '=', orderId)
        .orderBy('l.product_type')
        .execute();
      const [domain, hosting] = products;
      assert.equal(domain!.due_at, null, 'a one-off line does not renew');
      assert.equal(hosting!.term_months, 12);
      assert.equal(hosting!.renewal_price_cents, 10_000);
      assert.equal(hosting!.currency, 'CHF');
      assert.equal(hosting!.auto_renew, true, 'the card that paid the order pays the renewals');
      const dueIn = hosting!.due_at!.getTime() - Date.now();
      assert.ok(dueIn > 360 * DAY && dueIn < 370 * DAY, 'due one year after fulfilment');
      const org = await db.selectFrom('organizations').select('payment_card_ref').where('id', '=', seed.org.id).executeTakeFirstOrThrow();
      const card = await db.selectFrom('payments').select('card_ref').where('id', '=', paymentId).executeTakeFirstOrThrow();
      assert.equal(org.payment_card_ref, card.card_ref, 'the organization keeps the card');

      // The daily sweep finds the new product and starts its renewal process; nothing for the one-off.
      const sweep = await suite.client.workflow.execute('renewalSweep', {
        workflowId: `renewal-sweep-test-${randomUUID()}`,
        taskQueue,
        args: [{ organizationId: seed.org.id }],
      });
      assert.deepEqual(sweep, { scanned: 1, started: 1, alreadyRunning: 0, failed: 0 });
      opened.push(suite.client.workflow.getHandle(`renewal:${hosting!.id}`));
      // Two months before the due date: the invoice; 14 days before: the automatic renewal's notice.
      await suite.env.sleep(dueIn - 60 * DAY);
      const smtp = await smtpCapture();
      await smtp.waitFor((m) => m.to.includes(seed.legalRep.login_email) && m.subject === 'Invoice issued: renewal of Web hosting');
      await suite.env.sleep(47 * DAY);
      await smtp.waitFor((m) => m.to.includes(seed.legalRep.login_email) && m.subject === 'Automatic renewal of Web hosting');
    });
  });

  it('cancels the order on day 10 with nothing approved and refunds the card once', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, orderId, paymentId, caseId, handle } = await block(taskQueue);
      await suite.env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS - 60_000);
      assert.equal((await order(orderId)).status, 'blocked');
      await suite.env.sleep(60_000);
      assert.deepEqual(await handle.result(), { orderId, outcome: 'cancelled_timeout' });
      assert.equal((await order(orderId)).status, 'cancelled');
      const refunds = await refundsOf(orderId);
      assert.deepEqual(
        refunds.map((r) => [r.destination, r.amount_cents, r.status]),
        [['original_means', 12_000, 'succeeded']],
      );
      assert.equal((await testPayments.refundsFor((r) => r.idempotencyKey === `refund:${paymentId}`)).length, 1);
      const caseRow = await (await database()).db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow();
      assert.equal(caseRow.status, 'cancelled', 'the open case is closed and its evidence erased');
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /cancelled/.test(m.subject));
      assert.match(mail.text, /120\.00 CHF has been refunded to the means of payment you used/);
    });
  });

  it('credits the prepaid account instead when the bank transfer is still in progress', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, orderId, paymentId, handle } = await block(taskQueue, { means: 'iban_transfer', status: 'in_progress' });
      await suite.env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS);
      assert.equal((await handle.result()).outcome, 'cancelled_timeout');
      assert.deepEqual(
        (await refundsOf(orderId)).map((r) => r.destination),
        ['prepaid_account'],
      );
      assert.equal(await prepaidBalance(seed.org.id), 12_000);
      assert.equal((await testPayments.refundsFor((r) => r.idempotencyKey === `refund:${paymentId}`)).length, 0, 'nothing sent back to the bank');
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /cancelled/.test(m.subject));
      assert.match(mail.text, /credited to your organization's prepaid account/);
    });
  });

  it('a prepaid-paid order cancelled on day 10: the order debited the prepaid account, the refund credits back exactly that', async () => {
    const { db } = await database();
    const seed = await seedOrganization(db);
    await db
      .insertInto('prepaid_ledger_entries')
      .values({ organization_id: seed.org.id, currency: 'CHF', amount_cents: 20_000, reason: 'deposit', reference: `deposit:${randomUUID()}` })
      .execute();
    const { orderId, paymentId } = await insertPaidOrder(db, seed, { means: 'prepaid' });
    assert.equal(await prepaidBalance(seed.org.id), 8_000, 'the order debited the prepaid account when it was created');
    await assert.rejects(insertPaidOrder(db, seed, { means: 'prepaid' }), 'a second order is not covered: never a negative balance');
    const caseId = randomUUID();
    await markBlocked(db, orderId, caseId);
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const handle = await suite.client.workflow.start('orderBlock', {
        workflowId: orderBlockWorkflowId(orderId),
        taskQueue,
        args: [{ orderId, accountId: seed.legalRep.id, caseId }],
      });
      opened.push(handle, suite.client.workflow.getHandle(verificationWorkflowId(caseId)));
      await suite.env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS);
      assert.equal((await handle.result()).outcome, 'cancelled_timeout');
    });
    assert.deepEqual(
      (await refundsOf(orderId)).map((r) => [r.destination, r.amount_cents]),
      [['prepaid_account', 12_000]],
    );
    assert.equal(await prepaidBalance(seed.org.id), 20_000, 'the balance is what it was before the order');
    assert.equal((await testPayments.refundsFor((r) => r.idempotencyKey === `refund:${paymentId}`)).length, 0, 'nothing asked of the provider');
  });

  it('refunds once when the refund is retried after a crash that lost the provider’s answer', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { orderId, paymentId, handle } = await block(taskQueue, { means: 'twint' });
      testPayments.loseNextResponses(1);
      await suite.env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS);
      assert.equal((await handle.result()).outcome, 'cancelled_timeout');
      const key = `refund:${paymentId}`;
      assert.deepEqual(
        (await testPayments.callsFor('refund', key)).map((c) => c.result),
        ['executed', 'repeated'],
        'the activity was retried; the provider answered the retry with the first refund',
      );
      assert.equal((await testPayments.refundsFor((r) => r.idempotencyKey === key)).length, 1, 'one refund paid out');
      assert.equal((await refundsOf(orderId)).length, 1);
    });
  });

  it('cancels and refunds when the identity check is rejected', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, orderId, caseId, handle, verification } = await block(taskQueue, { means: 'paypal' });
      await submitCaseByUpdates(verification, db, caseId);
      await decideCase(verification, db, caseId, seed.agent.id, 'reject');
      assert.deepEqual(await handle.result(), { orderId, outcome: 'cancelled_rejected' });
      assert.deepEqual(
        (await refundsOf(orderId)).map((r) => r.status),
        ['succeeded'],
      );
    });
  });

  it('lets a case under review at day 10 finish before deciding the order', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, orderId, caseId, handle, verification } = await block(taskQueue);
      await suite.env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS - 3_600_000);
      await submitCaseByUpdates(verification, db, caseId);
      await suite.env.sleep(2 * 3_600_000);
      assert.equal((await order(orderId)).status, 'blocked', 'still blocked past day 10 while under review');
      assert.equal((await handle.query(orderBlockStatusQuery)).deadlinePassed, true);
      await decideCase(verification, db, caseId, seed.agent.id, 'approve');
      assert.equal((await handle.result()).outcome, 'fulfilled');
    });
  });

  it('opens a new case on request when the first one expired before the deadline', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, orderId, caseId, handle, verification, token } = await block(taskQueue);
      const phone = uniquePhone();
      await verification.executeUpdate(submitPhoneUpdate, { args: [await sealedPhone(db, caseId, phone)] });
      await verification.executeUpdate(confirmCodeUpdate, { args: [{ code: await smsCodeFor(phone) }] });
      await verification.executeUpdate(geolocationUpdate, { args: [await sealedPosition(db, caseId, { latitude: 1, longitude: 1, accuracyMeters: 1 })] });
      await verification.executeUpdate(documentUpdate, {
        args: [{ type: 'id_card', documentIds: await storeTestDocuments(db, caseId, ['id_card_front', 'id_card_back']) }],
      });
      await suite.env.sleep(VERIFICATION_DOCUMENTS_PURGE_MS);
      assert.deepEqual(await verification.result(), { caseId, outcome: 'expired' } satisfies VerificationResult);
      assert.equal((await handle.query(orderBlockStatusQuery)).awaitingNewCase, true);

      await handle.signal(reopenVerificationSignal);
      await linkTokenFor(seed.legalRep.login_email, [token]);
      const { caseId: second } = await handle.query(orderBlockStatusQuery);
      assert.notEqual(second, caseId);
      assert.equal((await order(orderId)).verification_case_id, second);
      const next = suite.client.workflow.getHandle(verificationWorkflowId(second));
      opened.push(next);
      await submitCaseByUpdates(next, db, second);
      await decideCase(next, db, second, seed.agent.id, 'approve');
      assert.equal((await handle.result()).outcome, 'fulfilled');
    });
  });

  it('does not start a second process for the same order', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, orderId, caseId } = await block(taskQueue);
      await assert.rejects(
        suite.client.workflow.start('orderBlock', {
          workflowId: orderBlockWorkflowId(orderId),
          taskQueue,
          args: [{ orderId, accountId: seed.legalRep.id, caseId }],
        }),
        WorkflowExecutionAlreadyStartedError,
      );
    });
  });

  it('leaves a cancelled process with the order cancelled, refunded and its case closed', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { orderId, caseId, handle } = await block(taskQueue, { means: 'postfinance' });
      await suite.env.sleep(2 * DAY);
      await handle.cancel();
      await assert.rejects(handle.result(), WorkflowFailedError);
      assert.equal((await order(orderId)).status, 'cancelled');
      assert.deepEqual(
        (await refundsOf(orderId)).map((r) => r.status),
        ['succeeded'],
      );
      const caseRow = await (await database()).db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow();
      assert.equal(caseRow.status, 'cancelled');
    });
  });
});
