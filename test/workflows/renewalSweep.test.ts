import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createKeyring } from '../../temporal/codec';
import { createDataConverter } from '../../temporal/dataConverter';
import { ensureSchedule, renewalReconciliationSchedule, renewalSweepSchedule } from '../../temporal/schedules';
import { RENEWAL_RECONCILIATION_SCHEDULE_ID, RENEWAL_SWEEP_SCHEDULE_ID, renewalWorkflowId } from '../../workflows/shared/renewal';
import { database, devServerEnv, seedOrganization, testClient } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';
import { DAY, eventually } from '../support/renewal';
import { testPayments, testWorker } from '../support/worker';

describe('renewal sweep and its schedule (dev server)', function () {
  this.timeout(120_000);

  it('starts one renewal process per renewable product; a re-run starts nothing and charges nothing twice', async () => {
    const env = await devServerEnv();
    const client = testClient(env);
    const { db } = await database();
    const seed = await seedOrganization(db);
    const soon = new Date(Date.now() + 10 * DAY);
    // Inside 14 days with automatic renewal: its process charges as soon as it starts.
    const charged = await insertRenewableProduct(db, seed, { dueAt: soon, autoRenew: true });
    const others = await Promise.all([1, 2].map(() => insertRenewableProduct(db, seed, { dueAt: new Date(Date.now() + 90 * DAY) })));
    const ended = await insertRenewableProduct(db, seed, { dueAt: soon });
    await db.updateTable('products').set({ status: 'terminated' }).where('id', '=', ended.productId).execute();
    const renewable = [charged, ...others].map((p) => p.productId);

    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const sweep = (mode?: 'full') =>
        client.workflow.execute('renewalSweep', { workflowId: `renewal-sweep-test-${randomUUID()}`, taskQueue, args: [{ organizationId: seed.org.id, mode }] });
      assert.deepEqual(await sweep(), { scanned: 3, started: 3, alreadyRunning: 0, failed: 0 });
      await eventually(async () => assert.equal((await testPayments.chargesFor((c) => c.cardRef === charged.cardRef)).length, 1));
      // Paid, it renews and its process moves to the next term (a new run of the same process); wait
      // until every process waits on a timer, so no run changes between the two sweeps.
      await eventually(async () => {
        const p = await db.selectFrom('products').select('due_at').where('id', '=', charged.productId).executeTakeFirstOrThrow();
        assert.notEqual(p.due_at?.getTime(), soon.getTime());
        for (const id of renewable) {
          const handle = client.workflow.getHandle(renewalWorkflowId(id));
          assert.equal((await handle.describe()).status.name, 'RUNNING');
          const events = (await handle.fetchHistory()).events ?? [];
          assert.equal(String(events.at(-1)?.eventType), String(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED));
        }
      });
      const runs = await Promise.all(renewable.map(async (id) => (await client.workflow.getHandle(renewalWorkflowId(id)).describe()).runId));

      // The daily sweep reads only products without a known run: nothing changed, nothing to read.
      assert.deepEqual(await sweep(), { scanned: 0, started: 0, alreadyRunning: 0, failed: 0 });
      // The reconciliation asks Temporal about every one, and starts nothing either.
      assert.deepEqual(await sweep('full'), { scanned: 3, started: 0, alreadyRunning: 3, failed: 0 });
      const again = await Promise.all(renewable.map(async (id) => (await client.workflow.getHandle(renewalWorkflowId(id)).describe()).runId));
      assert.deepEqual(again, runs, 'the same processes, not new ones');
      assert.equal((await testPayments.chargesFor((c) => c.cardRef === charged.cardRef)).length, 1);
      await assert.rejects(client.workflow.getHandle(renewalWorkflowId(ended.productId)).describe(), 'a terminated product gets no process');
      const audited = await db
        .selectFrom('audit_log')
        .select('details')
        .where('action', '=', 'renewal.sweep_completed')
        .where('subject_id', '=', seed.org.id)
        .execute();
      assert.equal(audited.length, 3);
      for (const id of renewable) await client.workflow.getHandle(renewalWorkflowId(id)).terminate('test cleanup');
    });
  });

  it('costs what changed: a run that ends releases its product, a product that renews again is started, a lost run is found by the reconciliation', async () => {
    const env = await devServerEnv();
    const client = testClient(env);
    const { db } = await database();
    const seed = await seedOrganization(db);
    const [kept, stopping, lost] = await Promise.all([1, 2, 3].map(() => insertRenewableProduct(db, seed, { dueAt: new Date(Date.now() + 90 * DAY) })));
    const ids = [kept, stopping, lost].map((p) => p!.productId);
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const sweep = (mode?: 'full') =>
        client.workflow.execute('renewalSweep', { workflowId: `renewal-sweep-test-${randomUUID()}`, taskQueue, args: [{ organizationId: seed.org.id, mode }] });
      const known = async () =>
        (await db.selectFrom('renewal_runs').select('product_id').where('product_id', 'in', ids).execute()).map((r) => r.product_id).sort();
      assert.deepEqual(await sweep(), { scanned: 3, started: 3, alreadyRunning: 0, failed: 0 });
      assert.deepEqual(await known(), [...ids].sort());

      // The product stops renewing: its run reads the change, ends, and releases it.
      await db.updateTable('products').set({ status: 'terminated' }).where('id', '=', stopping!.productId).execute();
      await client.workflow.getHandle(renewalWorkflowId(stopping!.productId)).signal('renewalChanged');
      await eventually(async () => assert.equal((await client.workflow.getHandle(renewalWorkflowId(stopping!.productId)).describe()).status.name, 'COMPLETED'));
      await eventually(async () => assert.ok(!(await known()).includes(stopping!.productId)));
      // It renews again (reactivated): the next daily sweep sees it missing and starts a new run.
      await db.updateTable('products').set({ status: 'active' }).where('id', '=', stopping!.productId).execute();
      assert.deepEqual(await sweep(), { scanned: 1, started: 1, alreadyRunning: 0, failed: 0 });

      // A run lost outside our knowledge: the registry still says running, so the daily sweep cannot
      // see it; the weekly reconciliation asks Temporal and starts it again.
      await client.workflow.getHandle(renewalWorkflowId(lost!.productId)).terminate('lost outside our knowledge');
      assert.deepEqual(await sweep(), { scanned: 0, started: 0, alreadyRunning: 0, failed: 0 });
      assert.deepEqual(await sweep('full'), { scanned: 3, started: 1, alreadyRunning: 2, failed: 0 });
      assert.equal((await client.workflow.getHandle(renewalWorkflowId(lost!.productId)).describe()).status.name, 'RUNNING');
      for (const id of ids) await client.workflow.getHandle(renewalWorkflowId(id)).terminate('test cleanup');
    });
  });

  it('creates the weekly reconciliation schedule in full mode', async () => {
    const env = await devServerEnv();
    const client = testClient(env);
    const taskQueue = `test-${randomUUID()}`;
    await client.schedule
      .getHandle(RENEWAL_RECONCILIATION_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    try {
      assert.equal(await ensureSchedule(client, renewalReconciliationSchedule(taskQueue, 'Europe/Zurich')), 'created');
      const described = await client.schedule.getHandle(RENEWAL_RECONCILIATION_SCHEDULE_ID).describe();
      assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'renewalSweep');
      assert.deepEqual(described.action.type === 'startWorkflow' ? described.action.args : undefined, [{ mode: 'full' }]);
      assert.equal(described.spec.calendars?.length, 1);
    } finally {
      await client.schedule
        .getHandle(RENEWAL_RECONCILIATION_SCHEDULE_ID)
        .delete()
        .catch(() => undefined);
    }
  });

  it('creates the daily schedule once and updates it on the next start-up', async () => {
    const env = await devServerEnv();
    const client = testClient(env);
    const taskQueue = `test-${randomUUID()}`;
    // Another suite's stack may have created it already, with its own key.
    await client.schedule
      .getHandle(RENEWAL_SWEEP_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    try {
      assert.equal(await ensureSchedule(client, renewalSweepSchedule(taskQueue, 'Europe/Zurich')), 'created');
      assert.equal(await ensureSchedule(client, renewalSweepSchedule(taskQueue, 'Europe/Zurich')), 'updated');
      const described = await client.schedule.getHandle(RENEWAL_SWEEP_SCHEDULE_ID).describe();
      assert.equal(described.action.type, 'startWorkflow');
      assert.equal(described.action.workflowType, 'renewalSweep');
      assert.equal(described.action.taskQueue, taskQueue);
      assert.equal(described.spec.timezone, 'Europe/Zurich');
      assert.deepEqual(
        described.spec.calendars?.map((c) => [c.hour, c.minute]),
        [[[{ start: 3, end: 3, step: 1 }], [{ start: 15, end: 15, step: 1 }]]],
      );
      assert.equal(described.policies.overlap, 'SKIP');
      assert.ok(described.info.nextActionTimes.length > 0, 'it is scheduled');
      // A schedule sealed with a key this process does not have is replaced, not a reason to fail.
      const otherKey = new Client({ connection: env.connection, dataConverter: createDataConverter(createKeyring({ id: 'other', key: Buffer.alloc(32, 7) })) });
      assert.equal(await ensureSchedule(otherKey, renewalSweepSchedule(taskQueue, 'Europe/Zurich')), 'recreated');
      assert.equal(await ensureSchedule(client, renewalSweepSchedule(taskQueue, 'Europe/Zurich')), 'recreated');
      // The list comes from visibility, which catches up a moment after the change.
      await eventually(async () => {
        const listed = [];
        for await (const s of client.schedule.list()) listed.push(s.scheduleId);
        assert.equal(listed.filter((id) => id === RENEWAL_SWEEP_SCHEDULE_ID).length, 1, 'one schedule, not two');
      });
    } finally {
      await client.schedule
        .getHandle(RENEWAL_SWEEP_SCHEDULE_ID)
        .delete()
        .catch(() => undefined);
    }
  });
});
