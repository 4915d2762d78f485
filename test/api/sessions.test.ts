import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { createApp } from '../../api/app';
import type { Database } from '../../db/database';
import { silentLogger } from '../../lib/logger';
import { hashPassword } from '../../lib/passwords';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from '../../lib/rules';
import { AUTH_SECRET, apiSuite, assertProblem } from '../support/api';
import { database, fixtureKeyring, smtpCapture } from '../support/fixtures';

describe('password login and account lock (P7, dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const login = (login: string, password: string) => suite.api.call('POST', '/v1/sessions', { body: { login, password } });

  it('answers an unknown login and a wrong password identically, and logs in with the right one', async () => {
    const { admin } = suite.seed;
    await suite.api.db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('correct horse battery') })
      .where('id', '=', admin.id)
      .execute();
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

  it('runs the same statements for an unknown login as for a wrong password, which alone counts (issue 14, item 1)', async () => {
    const { admin } = suite.seed;
    await suite.api.db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('correct horse battery'), failed_logins: 0 })
      .where('id', '=', admin.id)
      .execute();
    // The same API over a connection that logs every statement it sends.
    const seen: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new Pool({ connectionString: (await database()).url, max: 2 }) }),
      log: (e) => void (e.level === 'query' && seen.push(e.query.sql)),
    });
    const app = createApp({
      client: suite.api.client,
      db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: { authSecret: AUTH_SECRET, taskQueue: suite.api.taskQueue, rateLimitPerMinute: 10_000, publicUrl: 'http://backoffice.test' },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const statements = async (login: string) => {
        seen.length = 0;
        const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login, password: 'whatever' }),
        });
        assertProblem({ status: res.status, headers: res.headers, json: await res.json() }, 401, 'invalid-credentials');
        return [...seen];
      };
      const wrong = await statements(admin.login_email);
      const unknown = await statements(`nobody-${admin.id.slice(0, 6)}@customer.test`);
      assert.ok(
        wrong.some((q) => /^with "login" as \(update "accounts" set "failed_logins"/.test(q)),
        'a wrong password is counted',
      );
      assert.deepEqual(unknown, wrong, 'an unknown login sends the same statements');
      const row = await suite.api.db.selectFrom('accounts').select('failed_logins').where('id', '=', admin.id).executeTakeFirstOrThrow();
      assert.equal(row.failed_logins, 1, 'only the wrong password counted, on its account');
      // The same statement queued the holder's failed-login alert (on failures by default), and none for no account (issue 17, item 5).
      const alerts = await suite.api.db
        .selectFrom('workflow_commands')
        .select('workflow_id')
        .where('workflow_id', 'like', 'account-notice:%:login_failed:%')
        .execute();
      assert.equal(alerts.filter((a) => a.workflow_id.startsWith(`account-notice:${admin.id}:`)).length, 1, 'one alert for the wrong password');
      assert.equal(
        alerts.filter((a) => a.workflow_id.startsWith('account-notice:00000000-0000-0000-0000-000000000000:')).length,
        0,
        'none for the unknown login',
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.destroy();
    }
  });

  it('locks after the failed logins in a row, tells the holder, and only an administrator of the organization unlocks', async () => {
    const { collaborator, org } = suite.seed;
    await suite.api.db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('right password') })
      .where('id', '=', collaborator.id)
      .execute();
    assert.equal((await login(collaborator.login_email, 'right password')).status, 201);
    for (let i = 0; i < ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT; i += 1)
      assertProblem(await login(collaborator.login_email, `wrong ${i}`), 401, 'invalid-credentials');
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
