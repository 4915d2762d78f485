import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { issueBearerToken } from '../../api/services/bearerTokens';
import { loadConfig, type Config } from '../../lib/config';
import { silentLogger } from '../../lib/logger';
import { startStack, type Stack } from '../../scripts/stack';
import { statusQuery, supportAccessWorkflowId } from '../../workflows/shared/supportAccess';
import { embeddedStackSettings, database, devServerEnv, seedOrganization, smsSink, smtpCapture, tempDir, workflowBundle } from '../support/fixtures';

// What `npm start` brings up, on embedded defaults only: dev server with UI and SQLite, embedded
// PostgreSQL, SMTP capture, SMS sink, worker and API. Stopped and started again on the same data.
describe('the whole stack on embedded defaults (npm start)', function () {
  this.timeout(240_000);
  let config: Config;
  let stack: Stack | undefined;

  before(async function () {
    this.timeout(300_000);
    config = loadConfig(await embeddedStackSettings(tempDir('stack'), { ui: true, metrics: true }));
    await workflowBundle();
  });
  after(async () => stack?.stop());

  const start = async () => startStack({ config, log: silentLogger, roles: { api: true, worker: true }, workflowBundle: await workflowBundle() });
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(stack!.urls['API'] + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  it('grants, shows the workflow in the Temporal UI, revokes, and shows the email in the dev outbox', async () => {
    stack = await start();
    assert.deepEqual((await call('GET', '/ready')).json.checks, { temporal: 'ok', database: 'ok' });
    const seed = await seedOrganization(stack.db);
    const { token } = await issueBearerToken({ db: stack.db, authSecret: stack.authSecret }, { role: 'customer', sub: seed.legalRep.id }, 3_600_000);
    const grant = await call('POST', '/v1/support-access-grants', token, {
      organizationId: seed.org.id,
      ticketId: seed.ticket.id,
      kind: 'kchat',
      resourceIds: ['chan-1'],
    });
    assert.equal(grant.status, 201);

    const ui = await fetch(`${stack.urls['Temporal UI']}/api/v1/namespaces/default/workflows/${encodeURIComponent(supportAccessWorkflowId(grant.json.id))}`);
    assert.equal(ui.status, 200, 'the Temporal UI knows the workflow');
    assert.equal(((await ui.json()) as any).workflowExecutionInfo.type.name, 'supportAccess');

    assert.equal((await call('DELETE', `/v1/support-access-grants/${grant.json.id}`, token)).status, 200);
    const email = await stack.smtp!.waitFor((m) => m.to.includes(seed.legalRep.login_email));
    const outbox = await call('GET', '/dev/outbox');
    assert.ok(outbox.json.emails.some((m: { subject: string }) => m.subject === email.subject));

    // Temporal's own database holds the encrypted history only: no address, no name in clear.
    const files = readdirSync(config.DATA_DIR).filter((f) => f.startsWith('temporal.sqlite'));
    assert.ok(files.length > 0);
    for (const f of files) {
      const bytes = readFileSync(path.join(config.DATA_DIR, f)).toString('latin1');
      assert.ok(!bytes.includes(seed.legalRep.login_email), `${f} holds the login email`);
      assert.ok(!bytes.includes(seed.legalRep.display_name), `${f} holds the name`);
      assert.ok(!bytes.includes('chan-1'), `${f} holds a resource id`);
      // The revoke update carries "customer:<account id>": present in history, readable only decrypted.
      assert.ok(!bytes.includes(seed.legalRep.id), `${f} holds an update payload in clear`);
    }
  });

  it('finds its data and its running workflows again after a restart', async () => {
    const seed = await seedOrganization(stack!.db);
    const { token } = await issueBearerToken({ db: stack!.db, authSecret: stack!.authSecret }, { role: 'customer', sub: seed.legalRep.id }, 3_600_000);
    const grant = await call('POST', '/v1/support-access-grants', token, {
      organizationId: seed.org.id,
      ticketId: seed.ticket.id,
      kind: 'mail',
      resourceIds: ['a@b.test'],
    });
    assert.equal(grant.status, 201);
    await stack!.stop();
    stack = undefined;

    stack = await start();
    assert.equal((await call('GET', `/v1/support-access-grants/${grant.json.id}`, token)).json.status, 'active');
    const state = await stack.client.workflow.getHandle(supportAccessWorkflowId(grant.json.id)).query(statusQuery);
    assert.equal(state.state, 'active');
    assert.equal((await call('DELETE', `/v1/support-access-grants/${grant.json.id}`, token)).status, 200);
    assert.equal((await call('GET', `/v1/support-access-grants/${grant.json.id}`, token)).json.status, 'revoked');
  });
});

// What `npm run api` / `npm run worker` do in production: every service given by its variable,
// nothing embedded started, no dev pages.
describe('the stack on configured services (production wiring)', function () {
  this.timeout(240_000);

  it('uses TEMPORAL_ADDRESS, DATABASE_URL, SMTP_URL and TWILIO_* instead of embedded parts', async () => {
    const [env, { url }, smtp, sink] = await Promise.all([devServerEnv(), database(), smtpCapture(), smsSink()]);
    const config = loadConfig({
      DATA_DIR: tempDir('configured'),
      PORT: '0',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: `configured-${Date.now()}`,
      DATABASE_URL: url,
      SMTP_URL: smtp.url,
      TWILIO_ACCOUNT_SID: sink.accountSid,
      TWILIO_AUTH_TOKEN: sink.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: sink.url,
      AUTH_SECRET: 'configured-secret-of-at-least-32-characters',
      WORKER_METRICS_PORT: '0',
      PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    const stack = await startStack({ config, log: silentLogger, roles: { api: true, worker: true }, workflowBundle: await workflowBundle() });
    try {
      // No payment provider is configurable yet: the local one's ledger page stays (outside production).
      assert.deepEqual(Object.keys(stack.urls).sort(), ['API', 'API docs', 'Dev payments', 'Temporal gRPC']);
      assert.equal(stack.smtp, undefined);
      assert.equal(stack.smsSink, undefined);
      const base = stack.urls['API']!;
      // Not mounted: the path falls through to the authenticated routes, which reveal nothing.
      assert.equal((await fetch(`${base}/dev/outbox`)).status, 401);

      const { db } = await database();
      const seed = await seedOrganization(db);
      const { token } = await issueBearerToken({ db, authSecret: config.AUTH_SECRET! }, { role: 'customer', sub: seed.admin.id }, 3_600_000);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}/v1/support-access-grants`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail', resourceIds: ['x@y.test'] }),
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      assert.equal((await fetch(`${base}/v1/support-access-grants/${id}`, { method: 'DELETE', headers })).status, 200);
      await smtp.waitFor((m) => m.to.includes(seed.admin.login_email));
    } finally {
      await stack.stop();
    }
  });
});
