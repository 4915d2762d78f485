import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { silentLogger } from '../../lib/logger';
import { RECOVERY_RATE_LIMITS } from '../../lib/rules';
import { apiSuite, assertProblem, AUTH_SECRET } from '../support/api';
import { fixtureKeyring } from '../support/fixtures';
import { smsSink, smtpCapture } from '../support/fixtures';
import { codeIn, eventually, holder, login, mailTo, passIdentityCheck, PASSWORD, smsTo } from '../support/recovery';
import { uniquePhone } from '../support/verification';

describe('account recovery over HTTP (P3, P4; SMS through twilio to a local peer, email over SMTP)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const RESET_LINK = /\/reset-password\/([A-Za-z0-9_-]{43})/;

  it('P3: finds the login from the mobile number; the SMS code is confirmed once and the login goes to the chosen channel', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const start = await api.call('POST', '/v1/recovery/login-email', { body: { phone: h.mobile_phone } });
    assert.equal(start.status, 202, start.text);
    const { requestId } = start.json;
    const code = codeIn((await smsTo(h.mobile_phone, /recover your login/)).body);

    const wrong = await api.call('POST', `/v1/recovery/login-email/${requestId}/confirm`, { body: { code: code === '000000' ? '111111' : '000000' } });
    assertProblem(wrong, 422, 'code-rejected');
    assert.equal(wrong.json.attemptsLeft, 4);
    const early = await api.call('POST', `/v1/recovery/login-email/${requestId}/deliver`, { body: { channel: 'sms' } });
    assertProblem(early, 409, 'recovery-step-out-of-order');

    const ok = await api.call('POST', `/v1/recovery/login-email/${requestId}/confirm`, { body: { code } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(
      ok.json.channels.map((c: { channel: string }) => c.channel),
      ['sms', 'email'],
    );
    assert.ok(!JSON.stringify(ok.json).includes(h.recovery_email!) && !JSON.stringify(ok.json).includes(h.mobile_phone), 'channels are masked');
    const again = await api.call('POST', `/v1/recovery/login-email/${requestId}/confirm`, { body: { code } });
    assertProblem(again, 422, 'code-rejected');

    assert.equal((await api.call('POST', `/v1/recovery/login-email/${requestId}/deliver`, { body: { channel: 'email' } })).status, 202);
    const mail = await mailTo(h.recovery_email!, /Your login/);
    assert.match(mail.text, new RegExp(h.login_email));
    // Access regained: the holder logs in with the identifier received.
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P3: hands over to identity verification; the login is delivered to the recovery channels once an agent approves', async () => {
    const { api, seed } = suite;
    const h = await holder(api.db);
    const { requestId } = (await api.call('POST', '/v1/recovery/login-email', { body: { phone: h.mobile_phone } })).json;
    const v = await api.call('POST', `/v1/recovery/login-email/${requestId}/verification`);
    assert.equal(v.status, 202, v.text);
    // The holder no longer knows the login address: the case's link goes to the recovery address.
    await mailTo(h.recovery_email!, /Verify your identity/);
    const caseRow = await eventually(
      () =>
        api.db
          .selectFrom('recovery_requests')
          .select('verification_case_id')
          .where('id', '=', requestId)
          .executeTakeFirst()
          .then((r) => r?.verification_case_id ?? undefined),
      'the case',
    );
    const c = await api.db.selectFrom('verification_cases').select(['reason', 'account_id', 'contact']).where('id', '=', caseRow).executeTakeFirstOrThrow();
    assert.deepEqual(c, { reason: 'forgotten_login_email', account_id: h.id, contact: 'recovery_channels' });
    await passIdentityCheck(api, caseRow, seed.agent.id);
    assert.match((await smsTo(h.mobile_phone, /Your login is/)).body, new RegExp(h.login_email));
    assert.match((await mailTo(h.recovery_email!, /Your login/)).text, new RegExp(h.login_email));
  });

  it('P4: a reset link to the recovery address sets the password once, ends every session and tells the holder; 2FA still applies', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const session = (await login(api, h.login_email)).json.token;
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token: session })).status, 200);

    const start = await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email } });
    assert.equal(start.status, 202, start.text);
    const link = RESET_LINK.exec((await mailTo(h.recovery_email!, /Reset your password/)).text)![1]!;
    const weak = await api.call('POST', `/v1/recovery/password/${link}`, { body: { newPassword: 'short' } });
    assertProblem(weak, 400, 'validation-failed');
    assert.equal((await api.call('POST', `/v1/recovery/password/${link}`, { body: { newPassword: 'a brand new passphrase' } })).status, 204);
    assertProblem(await api.call('POST', `/v1/recovery/password/${link}`, { body: { newPassword: 'yet another passphrase' } }), 404, 'recovery-link-invalid');

    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: session }), 401, 'unauthenticated');
    await mailTo(h.login_email, /Your password was reset/);
    assertProblem(await login(api, h.login_email), 401, 'invalid-credentials');
    assert.equal((await login(api, h.login_email, 'a brand new passphrase')).status, 201);
  });

  it('P4: an SMS code gives a reset token; with 2FA on, the new password alone is not a login', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    await api.db.updateTable('accounts').set({ two_factor_enabled_at: new Date() }).where('id', '=', h.id).execute();
    const { requestId } = (await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email, channel: 'sms' } })).json;
    const code = codeIn((await smsTo(h.mobile_phone, /reset your password/)).body);
    const ok = await api.call('POST', `/v1/recovery/password/${requestId}/confirm`, { body: { code } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api.call('POST', `/v1/recovery/password/${ok.json.resetToken}`, { body: { newPassword: 'sms reset passphrase' } })).status, 204);
    assertProblem(await login(api, h.login_email, 'sms reset passphrase'), 401, 'second-factor-required');
  });

  it('P4: with no option left, identity verification leads to a reset link sent after approval', async () => {
    const { api, seed } = suite;
    const h = await holder(api.db, { recoveryEmail: false });
    const { requestId } = (await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email } })).json;
    assert.equal((await api.call('POST', `/v1/recovery/password/${requestId}/verification`)).status, 202);
    const caseId = await eventually(
      () =>
        api.db
          .selectFrom('recovery_requests')
          .select('verification_case_id')
          .where('id', '=', requestId)
          .executeTakeFirst()
          .then((r) => r?.verification_case_id ?? undefined),
      'the case',
    );
    const c = await eventually(() => api.db.selectFrom('verification_cases').select('reason').where('id', '=', caseId).executeTakeFirst(), 'the case row');
    assert.equal(c.reason, 'forgotten_password');
    await passIdentityCheck(api, caseId, seed.agent.id);
    const link = RESET_LINK.exec((await mailTo(h.login_email, /Reset your password/)).text)![1]!;
    assert.equal((await api.call('POST', `/v1/recovery/password/${link}`, { body: { newPassword: 'verified new passphrase' } })).status, 204);
    assert.equal((await login(api, h.login_email, 'verified new passphrase')).status, 201);
  });

  it('answers a known and an unknown phone number or login with byte-identical bodies and statuses, and prints the time difference', async () => {
    const { api } = suite;
    const known = await holder(api.db);
    const unknownPhone = uniquePhone();
    const unknownLogin = `nobody-${Date.now()}@customer.test`;
    const N = 25;
    await sample0();
    const mask = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
    const sample = async (path: string, body: object) => {
      const t0 = performance.now();
      const res = await api.call('POST', path, { body });
      const ms = performance.now() - t0;
      const confirm = await api.call('POST', `${path}/${res.json.requestId}/confirm`, { body: { code: '000000' } });
      return { ms, status: res.status, body: mask(res.text), length: res.headers.get('content-length'), confirm: `${confirm.status} ${mask(confirm.text)}` };
    };
    async function sample0() {
      // Warm both paths (prepared statements, connections) before measuring.
      for (const body of [{ phone: known.mobile_phone }, { phone: unknownPhone }]) await api.call('POST', '/v1/recovery/login-email', { body });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [label, path, k, u] of [
      ['phone number', '/v1/recovery/login-email', { phone: known.mobile_phone }, { phone: unknownPhone }],
      ['login', '/v1/recovery/password', { login: known.login_email }, { login: unknownLogin }],
    ] as const) {
      const knownRuns = [];
      const unknownRuns = [];
      // Interleaved, so drift in the machine's load falls on both alike.
      for (let i = 0; i < N; i += 1) {
        knownRuns.push(await sample(path, k));
        unknownRuns.push(await sample(path, u));
      }
      for (const r of [...knownRuns, ...unknownRuns]) {
        assert.deepEqual([r.status, r.body, r.length, r.confirm], [knownRuns[0]!.status, knownRuns[0]!.body, knownRuns[0]!.length, knownRuns[0]!.confirm]);
      }
      const gap = median(knownRuns.map((r) => r.ms)) - median(unknownRuns.map((r) => r.ms));
      console.log(
        `      enumeration timing (${label}, ${N} each): median known ${median(knownRuns.map((r) => r.ms)).toFixed(2)} ms, unknown ${median(unknownRuns.map((r) => r.ms)).toFixed(2)} ms, gap ${gap.toFixed(2)} ms`,
      );
    }
    // Only the holder's own phone heard anything.
    const sms = (await smsSink()).messages().filter((m) => m.to === unknownPhone);
    assert.equal(sms.length, 0);
    assert.equal((await smtpCapture()).messages().filter((m) => m.to.includes(unknownLogin)).length, 0);
  });

  it('refuses a wrong code 5 times at most, and a code of another request', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const first = (await api.call('POST', '/v1/recovery/login-email', { body: { phone: h.mobile_phone } })).json.requestId;
    const code = codeIn((await smsTo(h.mobile_phone, /recover your login/)).body);
    const other = (await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email, channel: 'sms' } })).json.requestId;
    assertProblem(await api.call('POST', `/v1/recovery/password/${other}/confirm`, { body: { code } }), 422, 'code-rejected');
    const wrong = code === '999999' ? '999998' : '999999';
    for (let left = 4; left >= 0; left -= 1) {
      const r = await api.call('POST', `/v1/recovery/login-email/${first}/confirm`, { body: { code: wrong } });
      assertProblem(r, 422, 'code-rejected');
      assert.equal(r.json.attemptsLeft, left);
    }
    assertProblem(await api.call('POST', `/v1/recovery/login-email/${first}/confirm`, { body: { code } }), 422, 'code-rejected');
  });

  it('limits requests per phone number, per login and per client address with 429 and Retry-After, known or not', async () => {
    const { api } = suite;
    // A second API on the same worker and database, with the limits of lib/rules.ts. Limits live in
    // PostgreSQL under keys hashed with the deployment's secret: its own secret gives this API
    // counters of its own, untouched by the other tests' requests.
    const app = createApp({
      client: api.client,
      db: api.db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: { authSecret: `${AUTH_SECRET}-limits`, taskQueue: api.taskQueue, rateLimitPerMinute: 10_000, publicUrl: 'http://backoffice.test' },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const post = (path: string, body: object) =>
      fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    try {
      const h = await holder(api.db);
      let sent = 0;
      for (const phone of [h.mobile_phone, uniquePhone()]) {
        for (let i = 0; i < RECOVERY_RATE_LIMITS.perPhone; i += 1, sent += 1) assert.equal((await post('/v1/recovery/login-email', { phone })).status, 202);
        const limited = await post('/v1/recovery/login-email', { phone });
        sent += 1;
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers.get('retry-after')) > 0);
        assert.equal(((await limited.json()) as { type: string }).type, '/problems/rate-limited');
      }
      for (const loginName of [h.login_email, `ghost-${Date.now()}@customer.test`]) {
        for (let i = 0; i < RECOVERY_RATE_LIMITS.perLogin; i += 1, sent += 1)
          assert.equal((await post('/v1/recovery/password', { login: loginName })).status, 202);
        assert.equal((await post('/v1/recovery/password', { login: loginName })).status, 429);
        sent += 1;
      }
      for (; sent < RECOVERY_RATE_LIMITS.perClientAddress; sent += 1)
        assert.equal((await post('/v1/recovery/login-email', { phone: uniquePhone() })).status, 202);
      const byAddress = await post('/v1/recovery/login-email', { phone: uniquePhone() });
      assert.equal(byAddress.status, 429);
      assert.match(((await byAddress.json()) as { detail: string }).detail, /client address/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('validates every recovery request with a problem and records nothing for it', async () => {
    const { api } = suite;
    const before = await api.db
      .selectFrom('recovery_requests')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    assertProblem(await api.call('POST', '/v1/recovery/login-email', { body: { phone: '0791234567' } }), 400, 'validation-failed');
    assertProblem(await api.call('POST', '/v1/recovery/login-email', { body: { phone: '+41791234567', extra: 1 } }), 400, 'validation-failed');
    assertProblem(await api.call('POST', '/v1/recovery/password', { body: { login: 'x' } }), 400, 'validation-failed');
    assertProblem(
      await api.call('POST', '/v1/recovery/password', { raw: '{"login":', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed-json',
    );
    assertProblem(await api.call('POST', '/v1/recovery/password/not-a-token', { body: { newPassword: 'long enough passphrase' } }), 400, 'validation-failed');
    assertProblem(await api.call('POST', `/v1/recovery/login-email/${crypto.randomUUID()}/confirm`, { body: { code: '123456' } }), 404, 'not-found');
    const after = await api.db
      .selectFrom('recovery_requests')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(after.n, before.n);
    void PASSWORD;
  });
});
