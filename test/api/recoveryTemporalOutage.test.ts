import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { pendingCommands } from '../../db/repositories/workflowCommands';
import { silentLogger } from '../../lib/logger';
import { startWorkflowCommandRelay } from '../../temporal/workflowCommands';
import { accountNoticeWorkflowId, passwordRecoveryWorkflowId } from '../../workflows/shared/recovery';
import { assertProblem, AUTH_SECRET, serveApp, startApi, TEST_RECOVERY_LIMITS } from '../support/api';
import { devServerEnv, fixtureKeyring, smtpCapture } from '../support/fixtures';
import { codeIn, eventually, holder, login, mailTo, smsTo } from '../support/recovery';
import { temporalProxy } from '../support/temporalProxy';

/**
 * Issue 15: the reset commits in PostgreSQL before Temporal hears of it. With Temporal unreachable
 * at that moment the client gets 503 and its retry 404 (the link is spent), so the notice and the
 * signal must survive in PostgreSQL until the relay can send them.
 */
describe('password reset while Temporal is unreachable (issue 15; PostgreSQL, Temporal dev server, SMTP)', function () {
  this.timeout(120_000);
  const RESET_LINK = /\/reset-password\/([A-Za-z0-9_-]{43})/;
  let api: Awaited<ReturnType<typeof startApi>>;
  let proxy: Awaited<ReturnType<typeof temporalProxy>>;
  let base: string;
  let close: (() => Promise<void>) | undefined;

  before(async function () {
    this.timeout(300_000);
    api = await startApi();
    proxy = await temporalProxy(await devServerEnv());
    // This API reaches Temporal only through the proxy; the worker keeps its own connection.
    const app = createApp({
      client: proxy.client,
      db: api.db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: {
        authSecret: AUTH_SECRET,
        taskQueue: api.taskQueue,
        rateLimitPerMinute: 10_000,
        publicUrl: 'http://backoffice.test',
        recoveryLimits: TEST_RECOVERY_LIMITS,
      },
    });
    ({ base, close } = await serveApp(app));
  });
  after(async () => {
    await close?.();
    await proxy?.close();
    await api?.stop();
  });

  const post = async (path: string, body: object) => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined, text };
  };

  it('answers 503 then 404 on the retry, and once Temporal is back the holder gets the reset notice exactly once and the recovery process closes', async () => {
    const h = await holder(api.db);
    const start = await post('/v1/recovery/password', { login: h.login_email });
    assert.equal(start.status, 202, start.text);
    const { requestId } = start.json;
    const link = RESET_LINK.exec((await mailTo(h.recovery_email!, /Reset your password/)).text)![1]!;
    const notice = accountNoticeWorkflowId({ accountId: h.id, kind: 'password_reset', eventId: requestId });
    const recovery = passwordRecoveryWorkflowId(requestId);

    // The relay runs through the same outage, as the worker's would.
    const relay = startWorkflowCommandRelay({ client: proxy.client, db: api.db, log: silentLogger, intervalMs: 200 });
    try {
      proxy.cut();
      const reset = await post(`/v1/recovery/password/${link}`, { newPassword: 'a brand new passphrase' });
      assertProblem(reset, 503, 'unavailable');
      assert.ok(reset.headers.get('retry-after'));
      assertProblem(await post(`/v1/recovery/password/${link}`, { newPassword: 'a brand new passphrase' }), 404, 'recovery-link-invalid');

      // The reset stands, and its two follow-ups wait in PostgreSQL with ids only.
      assert.equal((await login(api, h.login_email, 'a brand new passphrase')).status, 201);
      const waiting = [...(await pendingCommands(api.db, notice)), ...(await pendingCommands(api.db, recovery))];
      assert.deepEqual(
        waiting.map((c) => [c.kind, c.workflow_type ?? c.signal_name]),
        [
          ['start', 'accountNotice'],
          ['signal', 'passwordReset'],
        ],
      );
      assert.ok(
        waiting.every((c) => c.last_error),
        'each records why it is not sent',
      );
      assert.ok(!JSON.stringify(waiting.map((c) => c.args)).includes('@'), 'no address in the arguments');
      await eventually(
        async () => (await api.db.selectFrom('workflow_commands').select('attempts').where('workflow_id', '=', notice).executeTakeFirst())?.attempts,
        'a relay attempt during the outage',
      );

      proxy.restore();
      const mail = await mailTo(h.login_email, /Your password was reset/);
      assert.ok(mail);
      // The direct client: the notice ran once and ended, the recovery process heard the reset and closed.
      await api.client.workflow.getHandle(notice).result();
      assert.deepEqual(await api.client.workflow.getHandle(recovery).result(), { step: 'closed' });
      await eventually(
        async () => (await pendingCommands(api.db, notice)).length + (await pendingCommands(api.db, recovery)).length === 0,
        'the commands to be done',
      );
      await relay.tick();
    } finally {
      proxy.restore();
      await relay.stop();
    }
    const notices = (await smtpCapture()).messages().filter((m) => m.to.includes(h.login_email) && /Your password was reset/.test(m.subject));
    assert.equal(notices.length, 1);
  });

  it('by SMS code: the confirmation still answers with the reset token, and the process hears the confirmation and the reset in order once Temporal is back', async () => {
    const h = await holder(api.db);
    const start = await post('/v1/recovery/password', { login: h.login_email, channel: 'sms' });
    assert.equal(start.status, 202, start.text);
    const { requestId } = start.json;
    const code = codeIn((await smsTo(h.mobile_phone, /./)).body);
    const recovery = passwordRecoveryWorkflowId(requestId);

    const relay = startWorkflowCommandRelay({ client: proxy.client, db: api.db, log: silentLogger, intervalMs: 200 });
    try {
      proxy.cut();
      const confirmed = await post(`/v1/recovery/password/${requestId}/confirm`, { code });
      assert.equal(confirmed.status, 200, confirmed.text);
      assertProblem(await post(`/v1/recovery/password/${confirmed.json.resetToken}`, { newPassword: 'an sms reset passphrase' }), 503, 'unavailable');
      assert.deepEqual(
        (await pendingCommands(api.db, recovery)).map((c) => c.signal_name),
        ['codeConfirmed', 'passwordReset'],
      );
      proxy.restore();
      assert.deepEqual(await api.client.workflow.getHandle(recovery).result(), { step: 'closed' });
      await mailTo(h.login_email, /Your password was reset/);
    } finally {
      proxy.restore();
      await relay.stop();
    }
    assert.equal((await login(api, h.login_email, 'an sms reset passphrase')).status, 201);
  });
});
