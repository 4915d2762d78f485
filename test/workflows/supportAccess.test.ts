import { strict as assert } from 'node:assert';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import { revokeUpdate, statusQuery, supportAccessWorkflowId } from '../../workflows/shared/supportAccess';
import { database, insertActiveGrant, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { testWorker } from '../support/worker';

describe('supportAccess workflow (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();
  const opened = suite.opened;

  async function startGrant(taskQueue: string, kind: 'mail' | 'kdrive' | 'kchat' = 'mail') {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const grant = await insertActiveGrant(db, seed, kind);
    const handle = await suite.client.workflow.start('supportAccess', {
      workflowId: supportAccessWorkflowId(grant.id),
      taskQueue,
      args: [{ grantId: grant.id }],
    });
    opened.push(handle);
    return { seed, grant, handle };
  }

  const grantStatus = async (id: string) => {
    const { db } = await database();
    return await db.selectFrom('support_access_grants').select(['status', 'ended_by']).where('id', '=', id).executeTakeFirstOrThrow();
  };

  it('is active one minute before 7 days and expired at 7 days, then emails the granting customer', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, grant, handle } = await startGrant(taskQueue);
      await suite.env.sleep(SUPPORT_ACCESS_EXPIRY_MS - 60_000);
      assert.equal((await handle.query(statusQuery)).state, 'active');
      assert.equal((await grantStatus(grant.id)).status, 'active');

      await suite.env.sleep(60_000);
      assert.deepEqual(await handle.result(), { grantId: grant.id, state: 'expired' });
      assert.deepEqual(await grantStatus(grant.id), { status: 'expired', ended_by: 'system:expiry' });

      const smtp = await smtpCapture();
      const mail = await smtp.waitFor((m) => m.to.includes(seed.legalRep.login_email));
      assert.match(mail.subject, /Support access to your mail addresses has ended/);
      assert.match(mail.text, /expired after 7 days/);
    });
  });

  it('revokes before expiry: the update answers, the row and the email follow', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, grant, handle } = await startGrant(taskQueue, 'kdrive');
      await suite.env.sleep('2 days');
      const status = await handle.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.legalRep.id}` }] });
      assert.deepEqual(status, { grantId: grant.id, state: 'revoked' });
      assert.deepEqual(await handle.result(), { grantId: grant.id, state: 'revoked' });
      assert.deepEqual(await grantStatus(grant.id), { status: 'revoked', ended_by: `customer:${seed.legalRep.id}` });
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email));
      assert.match(mail.text, /kDrive folders .* was revoked/);
    });
  });

  it('rejects a second revoke with GrantNotActive', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { seed, grant, handle } = await startGrant(taskQueue);
      await handle.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.legalRep.id}` }] });
      const second = await handle.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.admin.id}` }] }).then(
        () => assert.fail('a second revoke must be refused'),
        (err: unknown) => err as Error,
      );
      // Refused by the validator while the workflow is open, or not found once it has closed.
      if (second instanceof WorkflowUpdateFailedError) {
        assert.ok(second.cause instanceof ApplicationFailure);
        assert.equal(second.cause.type, FailureType.GrantNotActive);
      } else {
        assert.equal(second.name, 'WorkflowNotFoundError');
      }
      assert.deepEqual(await grantStatus(grant.id), { status: 'revoked', ended_by: `customer:${seed.legalRep.id}` });
      assert.equal((await handle.result()).state, 'revoked');
    });
  });

  it('keeps two grants independent: revoking one leaves the other to expire on its own', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const mail = await startGrant(taskQueue, 'mail');
      const chat = await startGrant(taskQueue, 'kchat');
      await mail.handle.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${mail.seed.legalRep.id}` }] });
      assert.equal((await chat.handle.query(statusQuery)).state, 'active');
      assert.equal((await grantStatus(chat.grant.id)).status, 'active');
      await suite.env.sleep(SUPPORT_ACCESS_EXPIRY_MS);
      assert.equal((await chat.handle.result()).state, 'expired');
      assert.equal((await grantStatus(mail.grant.id)).status, 'revoked');
    });
  });

  it('completes the grant even when its email can never be delivered', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db } = await database();
      const seed = await seedOrganization(db);
      await db
        .updateTable('accounts')
        .set({ login_email: `gone-${seed.legalRep.id}@reject.test` })
        .where('id', '=', seed.legalRep.id)
        .execute();
      const grant = await insertActiveGrant(db, seed);
      const handle = await suite.client.workflow.start('supportAccess', {
        workflowId: supportAccessWorkflowId(grant.id),
        taskQueue,
        args: [{ grantId: grant.id }],
      });
      opened.push(handle);
      await handle.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.legalRep.id}` }] });
      assert.equal((await handle.result()).state, 'revoked');
      const row = await db
        .selectFrom('notification_outbox')
        .select(['status', 'last_error'])
        .where('key', '=', `support-access:${grant.id}:ended`)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'failed');
    });
  });

  it('survives a worker restart: a grant started by one worker is expired by the next', async () => {
    // No sticky cache: the test server cannot time out a sticky queue whose worker is gone
    // (its clock is frozen while that task is outstanding); the real server falls back after 5 s.
    const first = await testWorker(suite.env, undefined, { maxCachedWorkflows: 0 });
    const started = await first.worker.runUntil(async () => {
      const grant = await startGrant(first.taskQueue);
      await grant.handle.query(statusQuery); // answered once the first workflow task has run
      return grant;
    });
    await suite.env.sleep('3 days');
    // A new worker on the same task queue picks the history up and replays it.
    const { worker } = await testWorker(suite.env, first.taskQueue);
    await worker.runUntil(async () => {
      await suite.env.sleep('4 days');
      assert.equal((await started.handle.result()).state, 'expired');
      assert.equal((await grantStatus(started.grant.id)).status, 'expired');
    });
  });
});
