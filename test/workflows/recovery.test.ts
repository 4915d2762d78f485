import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { tokenHash } from '../../lib/accountSecrets';
import { LOGIN_ADDRESS_RECOVERY_REMINDERS_MS, PASSWORD_RESET_LINK_VALIDITY_MS, RECOVERY_CODE_VALIDITY_MS } from '../../lib/rules';
import { loginAddressRecoveryWorkflowId, passwordRecoveryWorkflowId, recoveryLoginWorkflowId } from '../../workflows/shared/recovery';
import { database, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { holder, mailTo, smsTo } from '../support/recovery';
import { testWorker } from '../support/worker';

const MINUTE = 60_000;
const DAY = 86_400_000;

describe('recovery clocks (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();
  const row = async (id: string) => (await database()).db.selectFrom('recovery_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** The Java test server freezes time while a task is outstanding: wait until the process sits on a timer. */
  async function settled(handle: WorkflowHandle) {
    for (let i = 0; i < 200; i += 1) {
      const events = (await handle.fetchHistory()).events ?? [];
      const last = events[events.length - 1];
      if (last?.timerStartedEventAttributes || last?.workflowExecutionCompletedEventAttributes) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('the process never settled on a timer');
  }

  async function request(kind: 'login_email' | 'password', channel: 'sms' | 'email') {
    const { db } = await database();
    const h = await holder(db);
    const id = randomUUID();
    await db.insertInto('recovery_requests').values({ id, kind, account_id: h.id, channel }).execute();
    return { db, h, id };
  }

  it('voids an SMS recovery code 10 minutes after it was sent, and closes the request', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { h, id } = await request('login_email', 'sms');
      const handle = await suite.client.workflow.start('recoveryLogin', { workflowId: recoveryLoginWorkflowId(id), taskQueue, args: [{ requestId: id }] });
      suite.opened.push(handle);
      await smsTo(h.mobile_phone, /recover your login/);
      await settled(handle);
      await suite.env.sleep(RECOVERY_CODE_VALIDITY_MS - MINUTE);
      assert.ok((await row(id)).code_hash, 'still valid at 9 minutes');
      await suite.env.sleep(2 * MINUTE);
      assert.deepEqual(await handle.result(), { step: 'closed' });
      const r = await row(id);
      assert.equal(r.code_hash, null);
      assert.ok(r.closed_at);
    });
  });

  it('a reset link lives one hour, then no longer matches', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { h, id } = await request('password', 'email');
      const handle = await suite.client.workflow.start('passwordRecovery', {
        workflowId: passwordRecoveryWorkflowId(id),
        taskQueue,
        args: [{ requestId: id }],
      });
      suite.opened.push(handle);
      const token = /\/reset-password\/([A-Za-z0-9_-]{43})/.exec((await mailTo(h.recovery_email!, /Reset your password/)).text)![1]!;
      await settled(handle);
      await suite.env.sleep(PASSWORD_RESET_LINK_VALIDITY_MS - MINUTE);
      assert.deepEqual((await row(id)).token_hash, tokenHash(token));
      await suite.env.sleep(2 * MINUTE);
      assert.deepEqual(await handle.result(), { step: 'closed' });
      assert.equal((await row(id)).token_hash, null);
    });
  });

  it('reminds the holder of a lost login address after 3 and 14 days, then ends', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db } = await database();
      const h = await holder(db);
      const username = `ho${String(Date.now()).slice(-6)}`;
      await db.updateTable('accounts').set({ recovery_username: username, login_address_lost_at: new Date() }).where('id', '=', h.id).execute();
      const handle = await suite.client.workflow.start('loginAddressRecovery', {
        workflowId: loginAddressRecoveryWorkflowId(h.id),
        taskQueue,
        args: [{ accountId: h.id }],
      });
      suite.opened.push(handle);
      assert.match((await smsTo(h.mobile_phone, /username/)).body, new RegExp(username));
      await mailTo(h.recovery_email!, /being changed/);
      const reminders = () => smtpCapture().then((s) => s.messages().filter((m) => m.to.includes(h.recovery_email!) && /Reminder/.test(m.subject)).length);
      await settled(handle);
      await suite.env.sleep(LOGIN_ADDRESS_RECOVERY_REMINDERS_MS[0] - MINUTE);
      assert.equal(await reminders(), 0);
      await suite.env.sleep(2 * MINUTE);
      await mailTo(h.recovery_email!, /Reminder/);
      await settled(handle);
      await suite.env.sleep(LOGIN_ADDRESS_RECOVERY_REMINDERS_MS[1] - LOGIN_ADDRESS_RECOVERY_REMINDERS_MS[0]);
      assert.deepEqual(await handle.result(), { restored: false, reminders: 2 });
      assert.equal(await reminders(), 2);
    });
  });

  it('deactivates an API token unused for a year, and marks one past its lifetime', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db } = await database();
      const h = await holder(db);
      // Workflow time, which earlier tests of this suite moved ahead.
      const now = await suite.env.currentTimeMs();
      const token = (name: string, v: { created: number; lastUsed?: number; expires?: number }) => ({
        id: randomUUID(),
        account_id: h.id,
        kind: 'api_token' as const,
        name,
        token_hash: tokenHash(randomUUID()),
        created_at: new Date(v.created),
        last_used_at: v.lastUsed ? new Date(v.lastUsed) : null,
        expires_at: v.expires ? new Date(v.expires) : null,
      });
      const idle = token('idle', { created: now - 400 * DAY, lastUsed: now - 364 * DAY });
      const fresh = token('fresh', { created: now - 10 * DAY });
      const shortLived = token('short-lived', { created: now, lastUsed: now, expires: now + 30 * DAY });
      await db.insertInto('access_tokens').values([idle, fresh, shortLived]).execute();
      const state = async () =>
        Object.fromEntries(
          (await db.selectFrom('access_tokens').select(['name', 'deactivated_at']).where('account_id', '=', h.id).execute()).map((t) => [
            t.name,
            !!t.deactivated_at,
          ]),
        );
      const sweep = async () => {
        const handle = await suite.client.workflow.start('apiTokenSweep', { workflowId: `api-token-sweep-test-${randomUUID()}`, taskQueue });
        return handle.result();
      };
      await sweep();
      assert.deepEqual(await state(), { idle: false, fresh: false, 'short-lived': false });
      await suite.env.sleep(2 * DAY);
      await sweep();
      assert.deepEqual(await state(), { idle: true, fresh: false, 'short-lived': false });
      await suite.env.sleep(29 * DAY);
      await sweep();
      assert.deepEqual(await state(), { idle: true, fresh: false, 'short-lived': true });
    });
  });
});
