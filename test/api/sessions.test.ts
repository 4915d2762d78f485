import { strict as assert } from 'node:assert';
import { hashPassword } from '../../lib/passwords';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from '../../lib/rules';
import { apiSuite, assertProblem } from '../support/api';
import { smtpCapture } from '../support/fixtures';

describe('password login and account lock (P7, dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const login = (login: string, password: string) => suite.api.call('POST', '/v1/sessions', { body: { login, password } });

  it('answers an unknown login and a wrong password identically, and logs in with the right one', async () => {
    const { admin } = suite.seed;
    await suite.api.db.updateTable('accounts').set({ password_hash: await hashPassword('correct horse battery') }).where('id', '=', admin.id).execute();
    const unknown = await login(`nobody-${admin.id.slice(0, 6)}@customer.test`, 'whatever');
    const wrong = await login(admin.login_email, 'whatever');
    assertProblem(wrong, 401, 'invalid-credentials');
    assert.equal(unknown.status, wrong.status);
    assert.deepEqual({ ...unknown.json, instance: null }, { ...wrong.json, instance: null });
    const ok = await login(admin.login_email.toUpperCase(), 'correct horse battery');
    assert.equal(ok.status, 201, ok.text);
    const me = await suite.api.call('GET', `/v1/organizations/${suite.seed.org.id}/billing-reminders`, { token: ok.json.token });
    assert.equal(me.status, 200, 'the session token works on the API');
    assertProblem(await suite.api.call('POST', '/v1/sessions', { body: { login: admin.login_email } }), 400, 'validation-failed');
  });

  it('locks after the failed logins in a row, tells the holder, and only an administrator of the organization unlocks', async () => {
    const { collaborator, org } = suite.seed;
    await suite.api.db.updateTable('accounts').set({ password_hash: await hashPassword('right password') }).where('id', '=', collaborator.id).execute();
    assert.equal((await login(collaborator.login_email, 'right password')).status, 201);
    for (let i = 0; i < ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT; i += 1) assertProblem(await login(collaborator.login_email, `wrong ${i}`), 401, 'invalid-credentials');
    assertProblem(await login(collaborator.login_email, 'right password'), 423, 'account-locked');
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(collaborator.login_email) && /has been locked/.test(m.subject));
    assert.match(mail.text, /An administrator of your organization can unlock it/);

    const unlock = (token: string) => suite.api.call('POST', `/v1/organizations/${org.id}/members/${collaborator.id}/unlock`, { token });
    assertProblem(await unlock(suite.tokens.collaborator), 403, 'forbidden');
    assertProblem(await unlock(suite.tokens.outsider), 404, 'not-found');
    assertProblem(await unlock(suite.tokens.agent), 403, 'forbidden');
    assert.equal((await unlock(suite.tokens.admin)).status, 204);
    assert.equal((await login(collaborator.login_email, 'right password')).status, 201, 'unlocked');
  });
});
