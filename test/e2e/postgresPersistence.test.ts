import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Role } from '../../api/auth';
import { issueBearerToken, parseLifetime } from '../../api/services/bearerTokens';
import { createDataConverter } from '../../temporal/dataConverter';
import { ensurePostgresServer, startPostgresServer, type PostgresTemporalServer } from '../../temporal/postgresServer';
import { securityCaseWorkflowId } from '../../workflows/shared/recovery';
import { assertProblem } from '../support/api';
import { database, fixtureKeyring, freePort, seedOrganization, smsSink, smtpCapture, tempDir } from '../support/fixtures';
import { insertProduct, insertRenewableProduct } from '../support/orders';
import { codeIn, holder, login, mailTo, passIdentityCheck, smsTo } from '../support/recovery';
import { DAY, eventually } from '../support/renewal';
import { linkTokenFor, passPhoneAndPosition, sendDocuments, type Api } from '../support/verification';

// Production runs Temporal on PostgreSQL, with the API and the worker as separate processes (issue 20,
// item 1). Here: the Temporal server on the test's PostgreSQL, `npm run api` and `npm run worker` as
// child processes with the variables production gives them, and one flow of every process over HTTP.
const ROOT = path.resolve(__dirname, '..', '..');
const AUTH_SECRET = 'postgres-persistence-secret-of-at-least-32-chars';

describe('every process on Temporal with PostgreSQL persistence, API and worker as separate processes', function () {
  this.timeout(180_000);
  let temporal: PostgresTemporalServer | undefined;
  const children: ChildProcess[] = [];
  let api: Api;
  let seed: Awaited<ReturnType<typeof seedOrganization>>;
  let tokens: Record<'legalRep' | 'admin' | 'agent' | 'system', string>;

  before(async function () {
    // The first go install takes about 4 minutes (10 on a busy 2-core machine); later runs take the cache.
    this.timeout(1_200_000);
    if (spawnSync('go', ['version']).error && !process.env.TEMPORAL_SERVER_PATH) {
      if (process.env.CI) throw new Error('CI must run this test: install Go 1.26.8+ (it builds the Temporal server) or set TEMPORAL_SERVER_PATH');
      console.error('  skipped: no Go toolchain to build the Temporal server (set TEMPORAL_SERVER_PATH, or install Go 1.26.8+)');
      this.skip();
    }
    const log = (line: string) => console.error(`  [temporal-postgres] ${line}`);
    await ensurePostgresServer({ log });
    const [{ db, url }, smtp, sms] = await Promise.all([database(), smtpCapture(), smsSink()]);
    temporal = await startPostgresServer({ databaseUrl: url, root: tempDir('temporal-postgres'), log });

    const apiPort = await freePort();
    // The committed test key, so that this test's client reads what the worker wrote.
    const { id: keyId, key } = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'payload-key.json'), 'utf8')) as { id: string; key: string };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: tempDir('postgres-persistence'),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `postgres-persistence-${randomUUID().slice(0, 8)}`,
      DATABASE_URL: url,
      SMTP_URL: smtp.url,
      TWILIO_ACCOUNT_SID: sms.accountSid,
      TWILIO_AUTH_TOKEN: sms.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: sms.url,
      AUTH_SECRET,
      PAYLOAD_ENCRYPTION_KEY: key,
      PAYLOAD_ENCRYPTION_KEY_ID: keyId,
      PORT: String(apiPort),
      PUBLIC_URL: 'http://backoffice.test',
      RATE_LIMIT_PER_MINUTE: '10000',
      WORKER_METRICS_PORT: '0',
      TEMPORAL_METRICS_PORT: '0',
    };
    // What `npm run worker` and `npm run api` run, each in its own process.
    children.push(await startRole('worker', env, /worker polling on task queue/));
    children.push(await startRole('api', env, /API listening on/));

    const client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
      namespace: 'default',
      dataConverter: createDataConverter(fixtureKeyring()),
    });
    const base = `http://127.0.0.1:${apiPort}`;
    const call: Api['call'] = async (method, urlPath, opts = {}) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(base + urlPath, { method, headers, body });
      const text = await res.text();
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    };
    const token = async (role: Role, sub: string, ttl = '12h') =>
      (await issueBearerToken({ db, authSecret: AUTH_SECRET }, { role, sub }, parseLifetime(ttl)!)).token;
    // The helpers' Api: the client is ours (for identity checks decided by workflow updates), the rest is HTTP.
    api = { base, db, client, call, token } as unknown as Api;
  });

  after(async function () {
    this.timeout(60_000);
    await (api?.client as Client | undefined)?.connection.close();
    await Promise.all(children.map(stopChild));
    await temporal?.stop();
  });

  beforeEach(async () => {
    seed = await seedOrganization(api.db);
    tokens = {
      legalRep: await api.token('customer', seed.legalRep.id),
      admin: await api.token('customer', seed.admin.id),
      agent: await api.token('agent', seed.agent.id),
      system: await api.token('system', 'postgres-persistence'),
    };
  });

  it('P1 + P2: a blocked order is unblocked and fulfilled once an agent approves the identity check the customer passed from the emailed link', async () => {
    const created = await api.call('POST', '/v1/orders', {
      token: tokens.system,
      headers: { 'idempotency-key': `checkout-${randomUUID()}` },
      body: {
        organizationId: seed.org.id,
        accountId: seed.legalRep.id,
        currency: 'CHF',
        lines: [{ productType: 'web_hosting', description: 'Web hosting', quantity: 2, unitPriceCents: 4_990 }],
        payment: { means: 'card' },
      },
    });
    assert.equal(created.status, 201, created.text);
    const orderId = created.json.id as string;
    const blocked = await api.call('POST', `/v1/orders/${orderId}/block`, { token: tokens.system, body: { reason: 'suspected phishing' } });
    assert.equal(blocked.status, 202, blocked.text);
    const link = await linkTokenFor(seed.legalRep.login_email);
    await passPhoneAndPosition(api, link);
    await sendDocuments(api, link, orderId);
    const caseId = (await api.call('GET', `/v1/orders/${orderId}`, { token: tokens.agent })).json.block.verificationCaseId;
    assert.equal((await api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: tokens.agent })).status, 200);
    const decided = await api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
      token: tokens.agent,
      body: { decision: 'approve', reason: 'matches' },
    });
    assert.equal(decided.status, 200, decided.text);
    await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && m.subject === 'Your order is unblocked');
    assert.equal((await api.call('GET', `/v1/orders/${orderId}`, { token: tokens.legalRep })).json.status, 'fulfilled');
  });

  it('P3: the login is found from the mobile number and sent to the recovery address', async () => {
    const h = await holder(api.db);
    const start = await api.call('POST', '/v1/recovery/login-email', { body: { phone: h.mobile_phone } });
    assert.equal(start.status, 202, start.text);
    const code = codeIn((await smsTo(h.mobile_phone, /recover your login/)).body);
    const ok = await api.call('POST', `/v1/recovery/login-email/${start.json.requestId}/confirm`, { body: { code } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api.call('POST', `/v1/recovery/login-email/${start.json.requestId}/deliver`, { body: { channel: 'email' } })).status, 202);
    assert.match((await mailTo(h.recovery_email!, /Your login/)).text, new RegExp(h.login_email));
  });

  it('P4: a reset link sets the password once and ends every session', async () => {
    const h = await holder(api.db);
    const session = (await login(api, h.login_email)).json.token;
    assert.equal((await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email } })).status, 202);
    const link = /\/reset-password\/([A-Za-z0-9_-]{43})/.exec((await mailTo(h.recovery_email!, /Reset your password/)).text)![1]!;
    assert.equal((await api.call('POST', `/v1/recovery/password/${link}`, { body: { newPassword: 'a brand new passphrase' } })).status, 204);
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: session }), 401, 'unauthenticated');
    assert.equal((await login(api, h.login_email, 'a brand new passphrase')).status, 201);
  });

  it('P7: a locked account is unlocked once an agent approves the identity check', async () => {
    const h = await holder(api.db);
    for (let i = 0; i < 5; i += 1) assertProblem(await login(api, h.login_email, 'wrong password'), 401, 'invalid-credentials');
    const locked = await login(api, h.login_email);
    assertProblem(locked, 423, 'account-locked');
    const asked = await api.call('POST', '/v1/accounts/me/unlock-requests', { token: locked.json.restrictedToken });
    assert.equal(asked.status, 202, asked.text);
    await passIdentityCheck(api, asked.json.caseId, seed.agent.id);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'account_unblock')).result();
    await mailTo(h.login_email, /Your account is unlocked/);
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P8: the compromised-password wizard changes the password and revokes the API tokens', async () => {
    const h = await holder(api.db);
    const current = (await login(api, h.login_email)).json.token;
    const apiToken = (await api.call('POST', '/v1/accounts/me/api-tokens', { token: current, body: { name: 'deploy', lifetimeDays: 90 } })).json;
    const res = await api.call('POST', '/v1/accounts/me/compromised', {
      token: current,
      body: { currentPassword: 'correct horse battery', newPassword: 'a safer passphrase' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.revoked.apiTokens, 1);
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: apiToken.token }), 401, 'unauthenticated');
    await mailTo(h.login_email, /Your password was changed/);
  });

  it('P9: an invitation is emailed and accepted once by the invitee', async () => {
    const invitee = {
      id: randomUUID(),
      login_email: `new-${randomUUID().slice(0, 8)}@customer.test`,
      display_name: 'Newcomer',
      mobile_phone: null,
      recovery_email: null,
    };
    await api.db.insertInto('accounts').values(invitee).execute();
    const sent = await api.call('POST', `/v1/organizations/${seed.org.id}/invitations`, {
      token: tokens.admin,
      body: { email: invitee.login_email, role: 'collaborator' },
    });
    assert.equal(sent.status, 201, sent.text);
    const LINK = /\/invitations\/([A-Za-z0-9_-]{43})\b/;
    const link = LINK.exec((await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && LINK.test(m.text))).text)![1]!;
    const joined = await api.call('POST', `/v1/invitations/${link}/accept`, { token: await api.token('customer', invitee.id) });
    assert.equal(joined.status, 200, joined.text);
    await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /was accepted/.test(m.subject));
  });

  it('P10: the legal representation is handed over to a member', async () => {
    const res = await api.call('POST', `/v1/organizations/${seed.org.id}/legal-representative-handovers`, {
      token: tokens.legalRep,
      body: { from: seed.legalRep.id, to: { accountId: seed.admin.id } },
    });
    assert.equal(res.status, 202, res.text);
    const done = await eventually(async () => {
      const r = await api.call('GET', `/v1/organizations/${seed.org.id}/legal-representative-handovers/${res.json.id}`, { token: tokens.admin });
      assert.equal(r.json?.status, 'completed', r.text);
      return r.json;
    }, 30_000);
    assert.equal(done.to, seed.admin.id);
    await mailTo(seed.admin.login_email, /New legal representative/);
  });

  it('P11: a partner application is accepted', async () => {
    const accepted = await api.call('POST', '/v1/partner-applications', {
      token: tokens.legalRep,
      body: {
        organizationId: seed.org.id,
        registryNumber: 'CHE-123.456.789',
        website: 'https://agency.example',
        yearlyVolume: { amountCents: 250_000, currency: 'CHF' },
      },
    });
    assert.equal(accepted.status, 201, accepted.text);
  });

  it('P12: a product cancellation is confirmed from the emailed link and terminates the product', async () => {
    const { productId } = await insertProduct(api.db, seed);
    assert.equal((await api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: tokens.admin })).status, 202);
    const CONFIRM = /\/cancel\/([A-Za-z0-9_-]{43})/;
    const link = CONFIRM.exec((await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && CONFIRM.test(m.text))).text)![1]!;
    assert.equal((await api.call('POST', `/v1/cancellation-requests/${link}/confirm`)).status, 202);
    await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /has been cancelled/.test(m.subject));
    assert.equal((await api.call('GET', `/v1/products/${productId}`, { token: tokens.admin })).json.status, 'terminated');
  });

  it('P13: support access is granted to the ticket and revoked, and the customer is emailed', async () => {
    const grant = await api.call('POST', '/v1/support-access-grants', {
      token: tokens.legalRep,
      body: { organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail', resourceIds: ['box@customer.test'] },
    });
    assert.equal(grant.status, 201, grant.text);
    assert.equal((await api.call('DELETE', `/v1/support-access-grants/${grant.json.id}`, { token: tokens.legalRep })).status, 200);
    await (await smtpCapture()).waitFor((m) => m.to.includes(seed.legalRep.login_email));
    assert.equal((await api.call('GET', `/v1/support-access-grants/${grant.json.id}`, { token: tokens.legalRep })).json.status, 'revoked');
  });

  it('P14 and payments: a renewal paid by card through the API renews the product', async () => {
    const dueAt = new Date(Math.ceil((Date.now() + 30 * DAY) / 60_000) * 60_000);
    const { productId } = await insertRenewableProduct(api.db, seed, { dueAt });
    const paid = await eventually(async () => {
      const r = await api.call('POST', `/v1/products/${productId}/payments`, {
        token: tokens.admin,
        body: { means: 'card', cardToken: 'tok_visa_renewal' },
        headers: { 'idempotency-key': `pg-${productId}` },
      });
      assert.ok([200, 201].includes(r.status), r.text);
      return r.json;
    }, 30_000);
    assert.equal(paid.invoice.status, 'paid');
    await eventually(async () => {
      const r = await api.call('GET', `/v1/products/${productId}/renewal`, { token: tokens.admin });
      assert.ok(Date.parse(r.json.dueAt) > dueAt.getTime(), r.text);
    }, 30_000);
    await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /is renewed until/.test(m.subject));
  });
});

/** `npm run <role>` as a child process; resolves once its banner is printed. */
async function startRole(role: 'api' | 'worker', env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(ROOT, 'scripts', `${role}.ts`)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run ${role} did not start within 120 s:\n${output.slice(-3000)}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) (clearTimeout(timer), resolve());
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`npm run ${role} exited (${code}) while starting:\n${output.slice(-3000)}`))));
  });
  // Keep printing what goes wrong in the role (warnings and errors only, LOG_LEVEL=warn).
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`  [${role}] ${chunk.toString()}`));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(timer);
}
