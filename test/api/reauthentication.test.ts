/**
 * Issue 14, item 3: minting API tokens or application passwords, changing the login email or the
 * password, and switching 2FA on or off need a privileged session: the password (and the second
 * factor when 2FA is on) proved within the last 10 minutes, by the login itself or by
 * POST /v1/sessions/current/reauthentication. Sessions are aged by setting their timestamps in
 * PostgreSQL, never by waiting. A wrong password there counts toward the lock like a failed login;
 * API tokens can never do these changes.
 */
import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { base32Decode, totpAt } from '../../lib/otp';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT, REAUTHENTICATION_MAX_AGE_MS } from '../../lib/rules';
import { apiSuite, assertProblem } from '../support/api';
import { codeIn, holder, login, mailTo, PASSWORD, smsTo } from '../support/recovery';

const MINUTE = 60_000;

describe('re-authentication before sensitive changes (issue 14, item 3)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  type Holder = Awaited<ReturnType<typeof holder>>;

  const sidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid;
  /** The session opened `minutes` ago and its password last proved then. */
  async function age(token: string, minutes: number) {
    const at = new Date(Date.now() - minutes * MINUTE);
    await sql`update sessions set created_at = ${at}, reauthenticated_at = ${at} where id = ${sidOf(token)}`.execute(suite.api.db);
  }
  const reauthenticate = (token: string, body: Record<string, string> = { password: PASSWORD }) =>
    suite.api.call('POST', '/v1/sessions/current/reauthentication', { token, body });
  async function reauthenticated(token: string, body?: Record<string, string>) {
    const res = await reauthenticate(token, body);
    assert.equal(res.status, 200, res.text);
    assert.equal(new Date(res.json.privilegedUntil).getTime() - new Date(res.json.reauthenticatedAt).getTime(), REAUTHENTICATION_MAX_AGE_MS);
  }
  /** A full login whose password was proved 11 minutes ago. */
  async function staleLogin(h: Holder, otp?: string) {
    const res = await login(suite.api, h.login_email, PASSWORD, otp);
    assert.equal(res.status, 201, res.text);
    await age(res.json.token, 11);
    return res.json.token as string;
  }
  function assertReauthenticationRequired(res: { status: number; headers?: Headers; json: any }) {
    assertProblem(res, 403, 'reauthentication-required');
    assert.match(res.json.detail, /POST \/v1\/sessions\/current\/reauthentication/);
    assert.equal(res.json.maxAgeSeconds, REAUTHENTICATION_MAX_AGE_MS / 1000);
  }
  async function switchTwoFactorOn(token: string) {
    const setup = await suite.api.call('POST', '/v1/accounts/me/two-factor', { token });
    assert.equal(setup.status, 201, setup.text);
    const on = await suite.api.call('POST', '/v1/accounts/me/two-factor/confirm', {
      token,
      body: { otp: totpAt(base32Decode(setup.json.secret), Date.now()) },
    });
    assert.equal(on.status, 200, on.text);
    return on.json.backupCodes as string[];
  }
  const failedLogins = async (h: Holder) =>
    await suite.api.db.selectFrom('accounts').select(['failed_logins', 'locked_at']).where('id', '=', h.id).executeTakeFirstOrThrow();

  it('minting an API token or an application password: refused on a login older than 10 minutes, allowed after re-authentication', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = await staleLogin(h);
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/api-tokens', { token, body: { name: 'ci' } }));
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/app-passwords', { token, body: { name: 'mail app' } }));
    assert.equal((await api.db.selectFrom('access_tokens').select('id').where('account_id', '=', h.id).execute()).length, 0, 'nothing was minted');
    // The session itself still works for everything else.
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token })).status, 200);

    await reauthenticated(token);
    assert.equal((await api.call('POST', '/v1/accounts/me/api-tokens', { token, body: { name: 'ci' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/accounts/me/app-passwords', { token, body: { name: 'mail app' } })).status, 201);
    // Within the 10 minutes it still is privileged; past them, no longer.
    await age(token, 9);
    assert.equal((await api.call('POST', '/v1/accounts/me/api-tokens', { token, body: { name: 'ci 2' } })).status, 201);
    await age(token, 11);
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/api-tokens', { token, body: { name: 'ci 3' } }));
  });

  it('changing the login email: the request and its confirmation each need a login that proved the password within 10 minutes', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = await staleLogin(h);
    const newEmail = `moved-${h.id.slice(0, 8)}@webmail.test`;
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/login-email', { token, body: { email: newEmail } }));
    assert.equal((await api.db.selectFrom('recovery_requests').select('id').where('account_id', '=', h.id).execute()).length, 0, 'no change began');

    await reauthenticated(token);
    const change = await api.call('POST', '/v1/accounts/me/login-email', { token, body: { email: newEmail } });
    assert.equal(change.status, 202, change.text);
    const code = codeIn((await mailTo(newEmail, /Confirm your new login address/)).text);
    await age(token, 11);
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/login-email/confirm', { token, body: { requestId: change.json.requestId, code } }));
    await reauthenticated(token);
    const done = await api.call('POST', '/v1/accounts/me/login-email/confirm', { token, body: { requestId: change.json.requestId, code } });
    assert.equal(done.status, 200, done.text);
    // The login it returns carries the proof of the one that made the change, not a new one.
    const carried = await api.db.selectFrom('sessions').select('reauthenticated_at').where('id', '=', sidOf(done.json.token)).executeTakeFirstOrThrow();
    const proved = await api.db.selectFrom('sessions').select('reauthenticated_at').where('id', '=', sidOf(token)).executeTakeFirstOrThrow();
    assert.deepEqual(carried.reauthenticated_at, proved.reauthenticated_at);
  });

  it('changing the password (compromised-password wizard): refused on an old login even with the right current password, allowed after re-authentication', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = await staleLogin(h);
    const body = { currentPassword: PASSWORD, newPassword: 'a safer passphrase' };
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/compromised', { token, body }));
    assert.equal((await login(api, h.login_email)).status, 201, 'the password is unchanged');
    await reauthenticated(token);
    const res = await api.call('POST', '/v1/accounts/me/compromised', { token, body });
    assert.equal(res.status, 200, res.text);
    assert.equal((await login(api, h.login_email, 'a safer passphrase')).status, 201);
  });

  it('switching 2FA on, and off with the device: refused on an old login; re-authentication then needs the second factor too', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = await staleLogin(h);
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/two-factor', { token }));
    await reauthenticated(token);
    const backupCodes = await switchTwoFactorOn(token);

    const later = await staleLogin(h, backupCodes[0]);
    assertReauthenticationRequired(await api.call('DELETE', '/v1/accounts/me/two-factor', { token: later }));
    // With 2FA on the password alone does not re-authenticate, nor does a used code.
    assertProblem(await reauthenticate(later), 401, 'second-factor-required');
    assertProblem(await reauthenticate(later, { password: PASSWORD, otp: backupCodes[0]! }), 401, 'invalid-second-factor');
    assertReauthenticationRequired(await api.call('DELETE', '/v1/accounts/me/two-factor', { token: later }));
    await reauthenticated(later, { password: PASSWORD, otp: backupCodes[1]! });
    assert.equal((await api.call('DELETE', '/v1/accounts/me/two-factor', { token: later })).status, 204);
    const a = await api.db.selectFrom('accounts').select('two_factor_enabled_at').where('id', '=', h.id).executeTakeFirstOrThrow();
    assert.equal(a.two_factor_enabled_at, null);
  });

  it('P5: a login restricted to choosing a new address re-authenticates in its scope once its 10 minutes have passed', async () => {
    const { api, seed, tokens } = suite;
    const domain = `hosted-${seed.org.id.slice(0, 8)}.test`;
    await api.db.insertInto('organization_mail_domains').values({ organization_id: seed.org.id, domain }).execute();
    const h = await holder(api.db, { loginDomain: domain });
    assert.equal(
      (await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'mailbox_deleted' } })).status,
      202,
    );
    const username = /username (\S+)/.exec((await smsTo(h.mobile_phone, /username/)).body)![1]!;
    const recovery = await login(api, username);
    assert.equal(recovery.json.scope, 'login_address_change', recovery.text);
    const restricted = recovery.json.token as string;
    await age(restricted, 11);
    const newEmail = `back-${h.id.slice(0, 8)}@webmail.test`;
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/login-email', { token: restricted, body: { email: newEmail } }));
    await reauthenticated(restricted);
    assert.equal((await api.call('POST', '/v1/accounts/me/login-email', { token: restricted, body: { email: newEmail } })).status, 202);
    // Re-authenticating widens nothing: the login stays restricted.
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: restricted }), 403, 'session-restricted');
  });

  it('a fresh login is privileged at its start; an operator token is not until it re-authenticates', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const fresh = (await login(api, h.login_email)).json.token as string;
    assert.equal((await api.call('POST', '/v1/accounts/me/api-tokens', { token: fresh, body: { name: 'ci' } })).status, 201);
    const operator = await api.token('customer', h.id);
    assertReauthenticationRequired(await api.call('POST', '/v1/accounts/me/api-tokens', { token: operator, body: { name: 'ci' } }));
    await reauthenticated(operator);
    assert.equal((await api.call('POST', '/v1/accounts/me/api-tokens', { token: operator, body: { name: 'ci' } })).status, 201);
  });

  it('wrong passwords at re-authentication and wrong current passwords count toward the lock exactly like failed logins; a success resets the count', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = await staleLogin(h);
    assertProblem(await reauthenticate(token, { password: 'wrong 1' }), 401, 'invalid-credentials');
    assert.equal((await failedLogins(h)).failed_logins, 1);
    // A success resets the count, as a login does.
    await reauthenticated(token);
    assert.equal((await failedLogins(h)).failed_logins, 0);

    assertProblem(await login(api, h.login_email, 'wrong at the login'), 401, 'invalid-credentials');
    assertProblem(await reauthenticate(token, { password: 'wrong 2' }), 401, 'invalid-credentials');
    assertProblem(
      await api.call('POST', '/v1/accounts/me/compromised', { token, body: { currentPassword: 'wrong 3', newPassword: 'a safer passphrase' } }),
      401,
      'invalid-credentials',
    );
    assert.equal((await failedLogins(h)).failed_logins, 3);
    for (let i = 3; i < ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT; i += 1)
      assertProblem(await reauthenticate(token, { password: `wrong ${i + 1}` }), 401, 'invalid-credentials');
    const locked = await failedLogins(h);
    assert.ok(locked.locked_at, 'locked at the threshold');
    const audited = await api.db.selectFrom('audit_log').select('details').where('subject_id', '=', h.id).where('action', '=', 'account.locked').execute();
    assert.deepEqual(
      audited.map((r) => r.details.source),
      ['reauthentication'],
    );
    // Locked: the right password re-authenticates no more, and a login gets the restricted token.
    assertProblem(await reauthenticate(token), 423, 'account-locked');
    assertProblem(await login(api, h.login_email), 423, 'account-locked');
  });

  it('a wrong second factor at re-authentication counts toward the lock too', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const codes = await switchTwoFactorOn((await login(api, h.login_email)).json.token);
    const token = await staleLogin(h, codes[0]);
    assertProblem(await reauthenticate(token, { password: PASSWORD, otp: '00000-00000' }), 401, 'invalid-second-factor');
    assert.equal((await failedLogins(h)).failed_logins, 1);
  });

  it('API tokens can neither re-authenticate nor do any of these changes (login-required); a login still waiting for its second factor cannot re-authenticate', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const session = (await login(api, h.login_email)).json.token as string;
    const apiToken = (await api.call('POST', '/v1/accounts/me/api-tokens', { token: session, body: { name: 'deploy' } })).json.token as string;
    assertProblem(await reauthenticate(apiToken), 403, 'login-required');
    for (const [method, path, body] of [
      ['POST', '/v1/accounts/me/api-tokens', { name: 'another' }],
      ['POST', '/v1/accounts/me/app-passwords', { name: 'another' }],
      ['POST', '/v1/accounts/me/login-email', { email: `taken-over-${h.id.slice(0, 8)}@attacker.test` }],
      ['POST', '/v1/accounts/me/login-email/confirm', { requestId: h.id, code: '123456' }],
      ['POST', '/v1/accounts/me/compromised', { currentPassword: PASSWORD, newPassword: 'a safer passphrase' }],
      ['POST', '/v1/accounts/me/two-factor', undefined],
      ['DELETE', '/v1/accounts/me/two-factor', undefined],
    ] as const) {
      assertProblem(await api.call(method, path, { token: apiToken, body }), 403, 'login-required');
    }
    assert.equal((await failedLogins(h)).failed_logins, 0, 'nothing was counted');

    // A login still waiting for its second factor proves nothing by re-authenticating.
    const codes = await switchTwoFactorOn(session);
    const partial = await login(api, h.login_email);
    assertProblem(partial, 401, 'second-factor-required');
    assertProblem(await reauthenticate(partial.json.restrictedToken, { password: PASSWORD, otp: codes[0]! }), 403, 'session-restricted');
  });

  it('/openapi.json marks exactly these operations as needing a recent login', async () => {
    const doc = (await suite.api.call('GET', '/openapi.json')).json;
    const marked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) if (op['x-recent-login']) marked.push(`${method.toUpperCase()} ${path}`);
    }
    assert.deepEqual(marked.sort(), [
      'DELETE /v1/accounts/me/two-factor',
      'POST /v1/accounts/me/api-tokens',
      'POST /v1/accounts/me/app-passwords',
      'POST /v1/accounts/me/compromised',
      'POST /v1/accounts/me/login-email',
      'POST /v1/accounts/me/login-email/confirm',
      // The recovery details and the password (issue 17, item 2): test/api/recoveryDetails.test.ts
      'POST /v1/accounts/me/mobile-phone/confirm',
      'POST /v1/accounts/me/recovery-email/confirm',
      'POST /v1/accounts/me/two-factor',
      'POST /v1/organizations/{id}/prepaid/payouts', // sending the balance away: test/api/prepaid.test.ts
      'PUT /v1/accounts/me/lock-threshold', // lowering or raising it: test/api/lockThreshold.test.ts
      'PUT /v1/accounts/me/mobile-phone',
      'PUT /v1/accounts/me/password',
      'PUT /v1/accounts/me/recovery-email',
    ]);
  });
});
