import { strict as assert } from 'node:assert';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS } from '../../lib/rules';
import { cancellationStateQuery, cancellationWorkflowId, confirmCancellationUpdate } from '../../workflows/shared/cancellation';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { insertCancellationRequest, insertProduct } from '../support/orders';
import { testWorker } from '../support/worker';

describe('productCancellation workflow (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();

  async function request(taskQueue: string) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const { productId } = await insertProduct(db, seed);
    const requestId = await insertCancellationRequest(db, productId, seed.admin.id);
    const handle = await suite.client.workflow.start('productCancellation', {
      workflowId: cancellationWorkflowId(productId),
      taskQueue,
      args: [{ requestId, productId }],
    });
    suite.opened.push(handle);
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /Confirm the cancellation/.test(m.subject));
    await handle.query(cancellationStateQuery);
    return { db, seed, productId, requestId, handle, mail };
  }
  const backups = async (productId: string) =>
    (await (await database()).db.selectFrom('product_backups').select('id').where('product_id', '=', productId).execute()).length;

  it('lapses after 14 days without confirmation and deletes nothing', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, productId, requestId, handle } = await request(taskQueue);
      await suite.env.sleep(CANCELLATION_CONFIRMATION_VALIDITY_MS - 60_000);
      assert.equal((await db.selectFrom('cancellation_requests').select('status').where('id', '=', requestId).executeTakeFirstOrThrow()).status, 'pending');
      await suite.env.sleep(60_000);
      assert.deepEqual(await handle.result(), { requestId, state: 'lapsed' });
      assert.equal((await db.selectFrom('products').select('status').where('id', '=', productId).executeTakeFirstOrThrow()).status, 'active');
      assert.equal(await backups(productId), 2);
      assert.equal((await db.selectFrom('invoices').select('id').where('product_id', '=', productId).execute()).length, 0);
    });
  });

  it('terminates on confirmation: final invoice for the fees still due, backups deleted, the other administrators told', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, productId, requestId, handle } = await request(taskQueue);
      await suite.env.sleep('3 days');
      await handle.executeUpdate(confirmCancellationUpdate, { args: [{ actor: `customer:${seed.admin.id}` }] });
      assert.deepEqual(await handle.result(), { requestId, state: 'confirmed' });
      const product = await db.selectFrom('products').select(['status', 'terminated_at']).where('id', '=', productId).executeTakeFirstOrThrow();
      assert.equal(product.status, 'terminated');
      const invoice = await db.selectFrom('invoices').selectAll().where('product_id', '=', productId).executeTakeFirstOrThrow();
      assert.deepEqual([invoice.kind, invoice.total_cents, invoice.status], ['final', 1_440, 'open']);
      assert.equal(await backups(productId), 0);
      const smtp = await smtpCapture();
      const toLegalRep = await smtp.waitFor((m) => m.to.includes(seed.legalRep.login_email) && /has been cancelled/.test(m.subject));
      assert.match(toLegalRep.text, /cancelled .*backups have been deleted/);
      assert.match(toLegalRep.text, /final invoice of 14\.40 CHF/);
      await smtp.waitFor((m) => m.to.includes(seed.admin.login_email) && /has been cancelled/.test(m.subject));
      assert.ok(
        !smtp.messages().some((m) => m.to.includes(seed.collaborator.login_email) && /has been cancelled/.test(m.subject)),
        'collaborators are not told',
      );
    });
  });
});
