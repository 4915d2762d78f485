import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { issueBearerToken, UnknownSubjectError } from '../../api/services/bearerTokens';
import { useAppPassword } from '../../db/repositories/sessions';
import { base32Decode, totpAt } from '../../lib/otp';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from '../../lib/rules';
import { securityCaseWorkflowId } from '../../workflows/shared/recovery';
import { apiSuite, assertProblem, AUTH_SECRET } from '../support/api';
import { codeIn, holder, login, mailTo, passIdentityCheck, PASSWORD, smsTo } from '../support/recovery';
import { realActivities } from '../support/worker';

/**
 * Issue 14, item 2: every recovery-grade event ends every session and revokes every API token and
 * application password minted before it; API tokens are refused while the account is locked or
 * restricted, and can never mint credentials or change the login address.
 */
describe('credential revocation (issue 14, item 2)', function () {
  this.timeout(180_000);
  const suite = apiSuite();
  type Holder = Awaited<ReturnType<typeof holder>>;
  type Credentials = { session: string; apiToken: string; appPassword: string };
  const NEW_PASSWORD = 'a brand new passphrase';

  const security = (token: string) => suite.api.call('GET', '/v1/accounts/me/security', { token });
  const appPasswordWorks = (h: Holder, password: string) => useAppPassword(suite.api.db, h.id, password, new Date());

  /** A full login, an API token and an application password, each shown to work. */
  async function credentials(h: Holder, session?: string): Promise<Credentials> {
    const { api } = suite;
    session ??= (await login(api, h.login_email)).json.token as string;
    const token = await api.call('POST', '/v1/accounts/me/api-tokens', { token: session, body: { name: 'deploy' } });
    assert.equal(token.status, 201, token.text);
    const app = await api.call('POST', '/v1/accounts/me/app-passwords', { token: session, body: { name: 'mail app' } });
    assert.equal(app.status, 201, app.text);
    assert.equal((await security(token.json.token)).status, 200, 'the API token works before the event');
    assert.equal(await appPasswordWorks(h, app.json.password), true, 'the application password works before the event');
    return { session, apiToken: token.json.token, appPassword: app.json.password };
  }

  async function assertAllRevoked(h: Holder, c: Credentials, reason: string) {
    assertProblem(await security(c.session), 401, 'unauthenticated');
    assertProblem(await security(c.apiToken), 401, 'unauthenticated');
    assert.equal(await appPasswordWorks(h, c.appPassword), false, 'the application password is refused');
    const rows = await suite.api.db.selectFrom('access_tokens').select(['kind', 'revoked_at']).where('account_id', '=', h.id).execute();
    assert.deepEqual(rows.map((r) => [r.kind, !!r.revoked_at]).sort(), [
      ['api_token', true],
      ['app_password', true],
    ]);
    const audited = await suite.api.db
      .selectFrom('audit_log')
      .select('details')
      .where('subject_type', '=', 'account')
      .where('subject_id', '=', h.id)
      .where('action', '=', 'account.credentials_revoked')
      .execute();
    assert.equal(audited.length, 1, 'one audited revocation');
    assert.equal(audited[0]!.details.reason, reason);
  }

  async function switchTwoFactorOn(session: string) {
    const { api } = suite;
    const setup = await api.call('POST', '/v1/accounts/me/two-factor', { token: session });
    assert.equal(setup.status, 201, setup.text);
    const on = await api.call('POST', '/v1/accounts/me/two-factor/confirm', {
      token: session,
      body: { otp: totpAt(base32Decode(setup.json.secret), Date.now()) },
    });
    assert.equal(on.status, 200, on.text);
  }

  async function lock(h: Holder) {
    for (let i = 0; i < ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT; i += 1)
      assertProblem(await login(suite.api, h.login_email, `wrong ${i}`), 401, 'invalid-credentials');
  }

  it('password reset (P4) revokes the sessions, API tokens and application passwords minted before it', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    const { requestId } = (await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email, channel: 'sms' } })).json;
    const code = codeIn((await smsTo(h.mobile_phone, /reset your password/)).body);
    const ok = await api.call('POST', `/v1/recovery/password/${requestId}/confirm`, { body: { code } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api.call('POST', `/v1/recovery/password/${ok.json.resetToken}`, { body: { newPassword: NEW_PASSWORD } })).status, 204);
    await assertAllRevoked(h, c, 'password_reset');
    assert.equal((await login(api, h.login_email, NEW_PASSWORD)).status, 201);
  });

  it('an approved 2FA-disable case (P6) revokes the sessions, API tokens and application passwords minted before it, and a retry of its activity nothing minted since', async () => {
    const { api, seed } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    await switchTwoFactorOn(c.session);
    const partial = await login(api, h.login_email);
    assertProblem(partial, 401, 'second-factor-required');
    const asked = await api.call('POST', '/v1/accounts/me/two-factor/disable-requests', { token: partial.json.restrictedToken });
    assert.equal(asked.status, 202, asked.text);
    await passIdentityCheck(api, asked.json.caseId, seed.agent.id);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'disable_2fa')).result();
    await assertAllRevoked(h, c, 'two_factor_disabled_by_case');
    assertProblem(await security(partial.json.restrictedToken), 401, 'unauthenticated');
    const after = await login(api, h.login_email);
    assert.equal(after.status, 201);

    // Temporal retrying the activity after its commit (the notice failed, say) revokes nothing minted since.
    const fresh = await api.call('POST', '/v1/accounts/me/api-tokens', { token: after.json.token, body: { name: 'after the case' } });
    await (await realActivities()).applyApprovedSecurityCase({ accountId: h.id, reason: 'disable_2fa', caseId: asked.json.caseId });
    assert.equal((await security(fresh.json.token)).status, 200);
    assert.equal((await security(after.json.token)).status, 200);
  });

  it('an approved unlock case (P7) revokes the sessions, API tokens and application passwords minted before the lock', async () => {
    const { api, seed } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    await lock(h);
    const locked = await login(api, h.login_email);
    assertProblem(locked, 423, 'account-locked');
    const asked = await api.call('POST', '/v1/accounts/me/unlock-requests', { token: locked.json.restrictedToken });
    assert.equal(asked.status, 202, asked.text);
    await passIdentityCheck(api, asked.json.caseId, seed.agent.id);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'account_unblock')).result();
    await mailTo(h.login_email, /Your account is unlocked/);
    await assertAllRevoked(h, c, 'unlocked_by_case');
    assert.equal((await login(api, h.login_email)).status, 201, 'unlocked');
  });

  it('a lost login address (P5) revokes the sessions, API tokens and application passwords minted before it', async () => {
    const { api, seed, tokens } = suite;
    const domain = `hosted-${h8(seed.org.id)}.test`;
    await api.db.insertInto('organization_mail_domains').values({ organization_id: seed.org.id, domain }).execute();
    const h = await holder(api.db, { loginDomain: domain });
    const c = await credentials(h);
    const lost = await api.call('POST', `/v1/accounts/${h.id}/login-address-lost`, { token: tokens.system, body: { reason: 'mailbox_deleted' } });
    assert.equal(lost.status, 202, lost.text);
    await assertAllRevoked(h, c, 'login_address_lost');
  });

  it('a login-email change revokes the sessions, API tokens and application passwords minted before it, and returns a new login', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    const newEmail = `moved-${h8(h.id)}@webmail.test`;
    const change = await api.call('POST', '/v1/accounts/me/login-email', { token: c.session, body: { email: newEmail } });
    assert.equal(change.status, 202, change.text);
    const code = codeIn((await mailTo(newEmail, /Confirm your new login address/)).text);
    const done = await api.call('POST', '/v1/accounts/me/login-email/confirm', { token: c.session, body: { requestId: change.json.requestId, code } });
    assert.equal(done.status, 200, done.text);
    await assertAllRevoked(h, c, 'login_email_changed');
    assert.equal((await security(done.json.token)).status, 200, 'the login the change returns works');
  });

  it('the compromised-password wizard (P8) revokes the API tokens, application passwords and other sessions minted before it; the login running it stays', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    const wizard = (await login(api, h.login_email)).json.token as string;
    const res = await api.call('POST', '/v1/accounts/me/compromised', { token: wizard, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.revoked, { apiTokens: 1, appPasswords: 1 });
    await assertAllRevoked(h, c, 'password_compromised');
    assert.equal((await security(wizard)).status, 200);
  });

  it('an API token is refused while the account is locked, and works again once an administrator unlocks it', async () => {
    const { api, seed, tokens } = suite;
    const h = await holder(api.db);
    await api.db.insertInto('memberships').values({ organization_id: seed.org.id, account_id: h.id, role: 'collaborator' }).execute();
    const c = await credentials(h);
    await lock(h);
    assertProblem(await security(c.apiToken), 401, 'unauthenticated');
    assert.equal(await appPasswordWorks(h, c.appPassword), false, 'nor the application password');
    // An administrator's unlock proves no identity and revokes nothing: the lock alone held them back.
    assert.equal((await api.call('POST', `/v1/organizations/${seed.org.id}/members/${h.id}/unlock`, { token: tokens.admin })).status, 204);
    assert.equal((await security(c.apiToken)).status, 200);
    assert.equal(await appPasswordWorks(h, c.appPassword), true);
  });

  it('an API token is refused while the login is restricted to choosing a new address (P5), even one the revocation missed', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    // The state alone, without the revocation that goes with it: the refusal does not depend on it.
    await api.db
      .updateTable('accounts')
      .set({ login_address_lost_at: new Date(), recovery_username: `r${h8(h.id)}` })
      .where('id', '=', h.id)
      .execute();
    assertProblem(await security(c.apiToken), 401, 'unauthenticated');
    assert.equal(await appPasswordWorks(h, c.appPassword), false);
    await api.db.updateTable('accounts').set({ login_address_lost_at: null, recovery_username: null }).where('id', '=', h.id).execute();
    assert.equal((await security(c.apiToken)).status, 200);
  });

  it('an API token cannot mint API tokens or application passwords, change the login email or the password, or switch 2FA off', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const c = await credentials(h);
    for (const [method, path, body] of [
      ['POST', '/v1/accounts/me/api-tokens', { name: 'another' }],
      ['POST', '/v1/accounts/me/app-passwords', { name: 'another' }],
      ['POST', '/v1/accounts/me/login-email', { email: `taken-over-${h8(h.id)}@attacker.test` }],
      ['POST', '/v1/accounts/me/login-email/confirm', { requestId: h.id, code: '123456' }],
      ['POST', '/v1/accounts/me/compromised', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }],
      ['DELETE', '/v1/accounts/me/two-factor', undefined],
    ] as const) {
      assertProblem(await api.call(method, path, { token: c.apiToken, body }), 403, 'login-required');
    }
    assert.equal((await api.db.selectFrom('access_tokens').select('id').where('account_id', '=', h.id).execute()).length, 2, 'nothing was minted');
    assert.equal((await api.db.selectFrom('recovery_requests').select('id').where('account_id', '=', h.id).execute()).length, 0, 'no login-email change began');
    assert.equal((await security(c.apiToken)).status, 200, 'it still reads what it may');
  });
});

/**
 * Issue 14, item 4: customer and agent bearer tokens are tied to a session that can be ended, every
 * token needs `exp`, and a deactivated agent's tokens stop working at once.
 */
describe('bearer tokens (issue 14, item 4)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const sign = (claims: Record<string, unknown>, sub: string, exp?: number) => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuer('backoffice')
      .setAudience('backoffice-api')
      .setIssuedAt();
    if (exp !== undefined) jwt.setExpirationTime(exp);
    return jwt.sign(new TextEncoder().encode(AUTH_SECRET));
  };
  const reminders = (token: string) => suite.api.call('GET', `/v1/organizations/${suite.seed.org.id}/billing-reminders`, { token });
  const cases = (token: string) => suite.api.call('GET', '/v1/verification-cases?status=submitted', { token });

  it('a token without exp is refused, for every role, even on an open session', async () => {
    const { api, seed } = suite;
    const session = await api.db
      .selectFrom('sessions')
      .select('id')
      .where('account_id', '=', seed.legalRep.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    assert.equal(
      (await reminders(await sign({ role: 'customer', sid: session.id, scope: 'full' }, seed.legalRep.id, inAnHour))).status,
      200,
      'the same claims with exp work',
    );
    assertProblem(await reminders(await sign({ role: 'customer', sid: session.id, scope: 'full' }, seed.legalRep.id)), 401, 'unauthenticated');
    assertProblem(await cases(await sign({ role: 'system' }, 'scheduler')), 401, 'unauthenticated');
    assert.equal((await cases(await sign({ role: 'system' }, 'scheduler', inAnHour))).status, 200);
  });

  it('a customer or agent token without a session is refused; an operator token is tied to one and ends with it', async () => {
    const { api, seed, tokens } = suite;
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    assertProblem(await reminders(await sign({ role: 'customer' }, seed.legalRep.id, inAnHour)), 401, 'unauthenticated');
    assertProblem(await cases(await sign({ role: 'agent' }, seed.agent.id, inAnHour)), 401, 'unauthenticated');
    assertProblem(await cases(await sign({ role: 'system', sid: randomUUID() }, 'scheduler', inAnHour)), 401, 'unauthenticated');
    // The suite's customer token is an operator's (api/services/bearerTokens.ts): logging out ends it.
    assert.equal((await reminders(tokens.legalRep)).status, 200);
    assert.equal((await api.call('DELETE', '/v1/sessions/current', { token: tokens.legalRep })).status, 204);
    assertProblem(await reminders(tokens.legalRep), 401, 'unauthenticated');
    // A session of another account does not carry over.
    const other = await api.db
      .selectFrom('sessions')
      .select('id')
      .where('account_id', '=', seed.admin.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    assertProblem(await reminders(await sign({ role: 'customer', sid: other.id, scope: 'full' }, seed.legalRep.id, inAnHour)), 401, 'unauthenticated');
  });

  it('a deactivated agent is refused at once, on every token; only the system role deactivates, once', async () => {
    const { api, seed, tokens } = suite;
    const second = await api.token('agent', seed.agent.id);
    assert.equal((await cases(tokens.agent)).status, 200);
    assert.equal((await cases(second)).status, 200);
    const deactivate = (token: string, id = seed.agent.id) => api.call('POST', `/v1/agents/${id}/deactivation`, { token });
    assertProblem(await deactivate(tokens.otherAgent), 403, 'forbidden');
    assertProblem(await deactivate(tokens.admin), 403, 'forbidden');
    assertProblem(await deactivate(tokens.system, randomUUID()), 404, 'not-found');
    const done = await deactivate(tokens.system);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.sessionsEnded, 2);
    assertProblem(await cases(tokens.agent), 401, 'unauthenticated');
    assertProblem(await cases(second), 401, 'unauthenticated');
    // Even a session the deactivation did not end (opened behind its back) is refused.
    const stray = randomUUID();
    await api.db
      .insertInto('agent_sessions')
      .values({ id: stray, agent_id: seed.agent.id, expires_at: new Date(Date.now() + 3_600_000) })
      .execute();
    assertProblem(
      await cases(await sign({ role: 'agent', sid: stray, scope: 'full' }, seed.agent.id, Math.floor(Date.now() / 1000) + 3600)),
      401,
      'unauthenticated',
    );
    await assert.rejects(
      issueBearerToken({ db: api.db, authSecret: AUTH_SECRET }, { role: 'agent', sub: seed.agent.id }, 60_000),
      UnknownSubjectError,
      'no new token for a deactivated agent',
    );
    const again = await deactivate(tokens.system);
    assert.equal(again.json.deactivatedAt, done.json.deactivatedAt);
    assert.equal((await cases(tokens.otherAgent)).status, 200, 'the other agent is untouched');
    const audited = await api.db
      .selectFrom('audit_log')
      .select(['actor_id', 'details'])
      .where('subject_type', '=', 'agent')
      .where('subject_id', '=', seed.agent.id)
      .where('action', '=', 'agent.deactivated')
      .execute();
    assert.deepEqual(
      audited.map((a) => a.actor_id),
      ['test-suite', 'test-suite'],
      'audited, the second time for the stray session',
    );
  });
});

const h8 = (id: string) => id.slice(0, 8);
