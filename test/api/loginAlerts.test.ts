import { strict as assert } from 'node:assert';
import { silentLogger } from '../../lib/logger';
import { startWorkflowCommandRelay } from '../../temporal/workflowCommands';
import { apiSuite, assertProblem } from '../support/api';
import { smtpCapture } from '../support/fixtures';
import { holder, mailTo, PASSWORD } from '../support/recovery';

const FIREFOX_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const ALERT_SUBJECT = /^(New|Failed) login to your account$/;

describe('login alerts chosen by the holder (P7, issue 17, item 5)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  // Login alerts are queued by the login's own statement and sent only by the worker's relay.
  let relay: ReturnType<typeof startWorkflowCommandRelay>;
  before(() => {
    relay = startWorkflowCommandRelay({ client: suite.api.client, db: suite.api.db, log: silentLogger, intervalMs: 200 });
  });
  after(async () => relay?.stop());

  const login = (address: string, password: string) =>
    suite.api.call('POST', '/v1/sessions', { body: { login: address, password }, headers: { 'user-agent': FIREFOX_ON_LINUX } });
  const alertsTo = async (address: string) => (await smtpCapture()).messages().filter((m) => m.to.includes(address) && ALERT_SUBJECT.test(m.subject));

  it('emails one alert per login the holder chose (success, failure, both, none), with the time and the client but not the password or the address', async () => {
    const { api } = suite;
    const choices = { all: { ok: 1, failed: 1 }, failures: { ok: 0, failed: 1 }, successes: { ok: 1, failed: 0 }, off: { ok: 0, failed: 0 } } as const;
    const holders = [];
    for (const [choice, expected] of Object.entries(choices)) {
      const h = await holder(api.db);
      const token = (await login(h.login_email, PASSWORD)).json.token as string;
      assert.equal((await api.call('PUT', '/v1/accounts/me/login-alerts', { token, body: { loginAlerts: choice } })).status, 204);
      assert.equal((await api.call('GET', '/v1/accounts/me/security', { token })).json.loginAlerts, choice);
      assert.equal((await login(h.login_email, PASSWORD)).status, 201);
      assertProblem(await login(h.login_email, 'a wrong password 1234'), 401, 'invalid-credentials');
      holders.push({ h, token, expected });
    }
    const failed = await mailTo(holders[0]!.h.login_email, /^Failed login to your account$/);
    assert.match(failed.text, /When: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    assert.match(failed.text, /Client: Firefox on Linux/);
    assert.doesNotMatch(failed.text, /a wrong password 1234|127\.0\.0\.1/);
    assert.match((await mailTo(holders[0]!.h.login_email, /^New login to your account$/)).text, /Client: Firefox on Linux/);

    // The setting holds no more alerts: a later alert of the same holder (sent by the relay in
    // order, after any earlier one) marks the point by which any earlier one would have come.
    for (const { h, token } of holders) {
      await api.call('PUT', '/v1/accounts/me/login-alerts', { token, body: { loginAlerts: 'successes' } });
      const sentinel = suite.api.call('POST', '/v1/sessions', { body: { login: h.login_email, password: PASSWORD }, headers: { 'user-agent': 'curl/8.5.0' } });
      assert.equal((await sentinel).status, 201);
      await (await smtpCapture()).waitFor((m) => m.to.includes(h.login_email) && /Client: curl$/m.test(m.text), 30_000);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    for (const { h, expected } of holders) {
      const mails = (await alertsTo(h.login_email)).filter((m) => !/Client: curl$/m.test(m.text));
      const count = (subject: RegExp) => mails.filter((m) => subject.test(m.subject)).length;
      assert.deepEqual({ ok: count(/^New/), failed: count(/^Failed/) }, expected, `alerts of ${h.login_email}`);
      // The recovery address is told as well, as with every security notice.
      assert.equal((await alertsTo(h.recovery_email!)).filter((m) => !/Client: curl$/m.test(m.text)).length, expected.ok + expected.failed);
    }
  });

  it('an unknown login alerts nobody', async () => {
    const before = (await smtpCapture()).messages().filter((m) => ALERT_SUBJECT.test(m.subject)).length;
    const seen = await suite.api.db
      .selectFrom('workflow_commands')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('workflow_id', 'like', 'account-notice:00000000-0000-0000-0000-000000000000:%')
      .executeTakeFirstOrThrow();
    assertProblem(await login('nobody-at-all@customer.test', 'whatever'), 401, 'invalid-credentials');
    const after = await suite.api.db
      .selectFrom('workflow_commands')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('workflow_id', 'like', 'account-notice:00000000-0000-0000-0000-000000000000:%')
      .executeTakeFirstOrThrow();
    assert.equal(after.n, seen.n, 'no alert is queued for no account');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await smtpCapture()).messages().filter((m) => ALERT_SUBJECT.test(m.subject)).length, before);
  });

  it('stops alerting failed logins once the account is locked: the lock notice speaks instead, so a guesser cannot flood the mailbox', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = (await login(h.login_email, PASSWORD)).json.token as string;
    assert.equal((await api.call('PUT', '/v1/accounts/me/lock-threshold', { token, body: { failedLogins: 3 } })).status, 204);
    for (let i = 0; i < 6; i += 1) assertProblem(await login(h.login_email, `wrong ${i}`), 401, 'invalid-credentials');
    await mailTo(h.recovery_email!, /has been locked/);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await alertsTo(h.login_email)).filter((m) => /^Failed/.test(m.subject)).length, 2, 'the two failures before the lock');
  });
});
