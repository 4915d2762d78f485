import { strict as assert } from 'node:assert';
import { base32Decode, totpAt } from '../../lib/otp';
import { securityCaseWorkflowId } from '../../workflows/shared/recovery';
import { apiSuite, assertProblem } from '../support/api';
import { codeIn, eventually, holder, login, mailTo, passIdentityCheck, PASSWORD, smsTo } from '../support/recovery';
import { linkTokenFor } from '../support/verification';

describe('account security over HTTP (P5–P8)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  async function withTwoFactor(h: Awaited<ReturnType<typeof holder>>) {
    const { api } = suite;
    const token = (await login(api, h.login_email)).json.token;
    const setup = await api.call('POST', '/v1/accounts/me/two-factor', { token });
    assert.equal(setup.status, 201, setup.text);
    const secret = base32Decode(setup.json.secret);
    const on = await api.call('POST', '/v1/accounts/me/two-factor/confirm', { token, body: { otp: totpAt(secret, Date.now()) } });
    assert.equal(on.status, 200, on.text);
    return { secret, backupCodes: on.json.backupCodes as string[] };
  }

  it('2FA: switched on with its first code; a login then needs a current code or a backup code, each backup code once', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const { secret, backupCodes } = await withTwoFactor(h);
    assert.equal(backupCodes.length, 10);
    assert.equal(new Set(backupCodes).size, 10);
    assertProblem(await login(api, h.login_email), 401, 'second-factor-required');
    // The confirming code's step is spent (each step logs in once): the next step's code, accepted as drift.
    const next = totpAt(secret, Date.now() + 30_000);
    assertProblem(await login(api, h.login_email, PASSWORD, '000000' === next ? '111111' : '000000'), 401, 'invalid-second-factor');
    assert.equal((await login(api, h.login_email, PASSWORD, next)).status, 201);
    assert.equal((await login(api, h.login_email, PASSWORD, backupCodes[0])).status, 201);
    assertProblem(await login(api, h.login_email, PASSWORD, backupCodes[0]), 401, 'invalid-second-factor');
    // A wrong password never reaches the second factor.
    assertProblem(await login(api, h.login_email, 'wrong password', backupCodes[1]), 401, 'invalid-credentials');
    const security = await api.call('GET', '/v1/accounts/me/security', { token: (await login(api, h.login_email, PASSWORD, backupCodes[1])).json.token });
    assert.deepEqual(security.json.twoFactor, { enabled: true, backupCodesLeft: 8 });
  });

  it('P6: without the device, the login can only ask for an identity check; 2FA goes off only once an agent approves it', async () => {
    const { api, seed, tokens } = suite;
    const h = await holder(api.db);
    await withTwoFactor(h);
    const partial = await login(api, h.login_email);
    assertProblem(partial, 401, 'second-factor-required');
    const restricted = partial.json.restrictedToken as string;
    // The restricted login reaches nothing else.
    for (const [method, path, body] of [
      ['GET', '/v1/accounts/me/security', undefined],
      ['DELETE', '/v1/accounts/me/two-factor', undefined],
      ['POST', '/v1/accounts/me/api-tokens', { name: 'x' }],
      ['POST', '/v1/accounts/me/unlock-requests', undefined],
      ['POST', `/v1/organizations/${seed.org.id}/legal-representative-handovers`, { toAccountId: seed.admin.id }],
    ] as const) {
      assertProblem(await api.call(method, path, { token: restricted, body }), 403, 'session-restricted');
    }
    // Support has no route that disables 2FA, and a case it opens itself has no effect.
    assertProblem(await api.call('DELETE', '/v1/accounts/me/two-factor', { token: tokens.agent }), 403, 'forbidden');
    const byAgent = await api.call('POST', '/v1/verification-cases', { token: tokens.system, body: { accountId: h.id, reason: 'disable_2fa' } });
    assert.equal(byAgent.status, 201, byAgent.text);
    await linkTokenFor(h.login_email);
    await passIdentityCheck(api, byAgent.json.id, seed.agent.id);
    const twoFactorOn = async () =>
      !!(await api.db.selectFrom('accounts').select('two_factor_enabled_at').where('id', '=', h.id).executeTakeFirstOrThrow()).two_factor_enabled_at;
    assert.equal(await twoFactorOn(), true, 'an approved case not opened by the holder changes nothing');

    // A rejected request changes nothing either; the holder may ask again.
    const first = await api.call('POST', '/v1/accounts/me/two-factor/disable-requests', { token: restricted });
    assert.equal(first.status, 202, first.text);
    assertProblem(await api.call('POST', '/v1/accounts/me/two-factor/disable-requests', { token: restricted }), 409, 'request-pending');
    await passIdentityCheck(api, first.json.caseId, seed.agent.id, 'reject');
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'disable_2fa')).result();
    assert.equal(await twoFactorOn(), true);

    const second = await api.call('POST', '/v1/accounts/me/two-factor/disable-requests', { token: restricted });
    assert.equal(second.status, 202, second.text);
    const c = await eventually(
      () => api.db.selectFrom('verification_cases').select(['reason', 'account_id']).where('id', '=', second.json.caseId).executeTakeFirst(),
      'the case',
    );
    assert.deepEqual(c, { reason: 'disable_2fa', account_id: h.id });
    await passIdentityCheck(api, second.json.caseId, seed.agent.id);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'disable_2fa')).result();
    assert.equal(await twoFactorOn(), false);
    assert.match((await mailTo(h.login_email, /Two-factor authentication is off/)).text, /secure your account again/);
    assertProblem(await api.call('POST', '/v1/accounts/me/two-factor/disable-requests', { token: restricted }), 401, 'unauthenticated');
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P7: a locked holder with the right password gets a login that only asks for an identity check; approval unlocks', async () => {
    const { api, seed } = suite;
    const h = await holder(api.db);
    for (let i = 0; i < 5; i += 1) assertProblem(await login(api, h.login_email, 'wrong password'), 401, 'invalid-credentials');
    const locked = await login(api, h.login_email);
    assertProblem(locked, 423, 'account-locked');
    const restricted = locked.json.restrictedToken as string;
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: restricted }), 403, 'session-restricted');
    const asked = await api.call('POST', '/v1/accounts/me/unlock-requests', { token: restricted });
    assert.equal(asked.status, 202, asked.text);
    await passIdentityCheck(api, asked.json.caseId, seed.agent.id);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'account_unblock')).result();
    await mailTo(h.login_email, /Your account is unlocked/);
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P5: a lost hosted login address; the SMS username and the unchanged password can only set a new address, whose code brings the account back', async () => {
    const { api, seed, tokens } = suite;
    const domain = `hosted-${seed.org.id.slice(0, 8)}.test`;
    await api.db.insertInto('organization_mail_domains').values({ organization_id: seed.org.id, domain }).execute();
    const h = await holder(api.db, { loginDomain: domain, name: 'Hanna Maria Olsen' });
    const before = (await login(api, h.login_email)).json.token;

    assertProblem(
      await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.legalRep, body: { reason: 'mailbox_deleted' } }),
      403,
      'forbidden',
    );
    const lost = await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'mailbox_deleted' } });
    assert.equal(lost.status, 202, lost.text);
    assert.equal(
      (await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'mailbox_deleted' } })).json.since,
      lost.json.since,
      'idempotent',
    );
    const username = /username (\S+)/.exec((await smsTo(h.mobile_phone, /username/)).body)![1]!;
    assert.match(username, /^hmo\d{6}$/);
    await mailTo(h.recovery_email!, /Your login address is being changed/);

    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: before }), 401, 'unauthenticated');
    assertProblem(await login(api, h.login_email), 401, 'invalid-credentials');
    const recovery = await login(api, username);
    assert.equal(recovery.status, 201, recovery.text);
    assert.equal(recovery.json.scope, 'login_address_change');
    const restricted = recovery.json.token as string;
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: restricted }), 403, 'session-restricted');
    assertProblem(await api.call('POST', '/v1/accounts/me/api-tokens', { token: restricted, body: { name: 'x' } }), 403, 'session-restricted');

    const newEmail = `new-${h.id.slice(0, 8)}@webmail.test`;
    const change = await api.call('POST', '/v1/accounts/me/login-email', { token: restricted, body: { email: newEmail } });
    assert.equal(change.status, 202, change.text);
    const code = codeIn((await mailTo(newEmail, /Confirm your new login address/)).text);
    const done = await api.call('POST', '/v1/accounts/me/login-email/confirm', { token: restricted, body: { requestId: change.json.requestId, code } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.scope, 'full');
    assertProblem(
      await api.call('POST', '/v1/accounts/me/login-email/confirm', { token: done.json.token, body: { requestId: change.json.requestId, code } }),
      422,
      'code-rejected',
    );
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token: done.json.token })).status, 200);
    assertProblem(await login(api, username), 401, 'invalid-credentials');
    assert.equal((await login(api, newEmail)).status, 201);
    const ended = await api.client.workflow.getHandle(`login-address-recovery:${h.id}`).result();
    assert.deepEqual(ended, { restored: true, reminders: 0 });
  });

  it('P5: a login address hosted elsewhere is never put in the recovery state', async () => {
    const { api, tokens } = suite;
    const h = await holder(api.db);
    assertProblem(
      await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'mail_service_cancelled' } }),
      409,
      'login-address-not-hosted',
    );
    assertProblem(
      await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'other' } }),
      400,
      'validation-failed',
    );
    const a = await api.db.selectFrom('accounts').select(['recovery_username', 'login_address_lost_at']).where('id', '=', h.id).executeTakeFirstOrThrow();
    assert.deepEqual(a, { recovery_username: null, login_address_lost_at: null });
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P8: the compromised-password wizard changes the password, revokes application passwords and API tokens, ends the other sessions and returns the settings', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const current = (await login(api, h.login_email)).json.token;
    const other = (await login(api, h.login_email)).json.token;
    const apiToken = (await api.call('POST', '/v1/accounts/me/api-tokens', { token: current, body: { name: 'deploy', lifetimeDays: 90 } })).json;
    await api.call('POST', '/v1/accounts/me/app-passwords', { token: current, body: { name: 'mail app' } });
    assert.equal((await api.call('GET', '/v1/accounts/me/access-tokens', { token: apiToken.token })).status, 200, 'the API token authenticates');
    const listed = (await api.call('GET', '/v1/accounts/me/access-tokens', { token: current })).json.items;
    assert.ok(listed.find((t: { id: string; lastUsedAt: string | null }) => t.id === apiToken.id)?.lastUsedAt, 'its last use is recorded');

    assertProblem(
      await api.call('POST', '/v1/accounts/me/compromised', { token: current, body: { currentPassword: 'wrong one', newPassword: 'a safer passphrase' } }),
      401,
      'invalid-credentials',
    );
    const res = await api.call('POST', '/v1/accounts/me/compromised', {
      token: current,
      body: { currentPassword: PASSWORD, newPassword: 'a safer passphrase' },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.revoked, { apiTokens: 1, appPasswords: 1 });
    assert.equal(res.json.sessionsEnded, 1);
    assert.deepEqual([res.json.review.activeSessions, res.json.review.activeApiTokens, res.json.review.activeAppPasswords], [1, 0, 0]);
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: other }), 401, 'unauthenticated');
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: apiToken.token }), 401, 'unauthenticated');
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token: current })).status, 200);
    await mailTo(h.login_email, /Your password was changed/);
    assert.equal((await login(api, h.login_email, 'a safer passphrase')).status, 201);
  });
});
