import { strict as assert } from 'node:assert';
import { ACCOUNT_LOCK_FAILED_LOGINS_MAX, ACCOUNT_LOCK_FAILED_LOGINS_MIN } from '../../lib/rules';
import { apiSuite, assertProblem } from '../support/api';
import { holder, PASSWORD } from '../support/recovery';

describe('the lock threshold chosen by the holder (P7, issue 17, item 6)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const login = (address: string, password: string) => suite.api.call('POST', '/v1/sessions', { body: { login: address, password } });

  it(`locks after the holder's own threshold (${ACCOUNT_LOCK_FAILED_LOGINS_MIN} to ${ACCOUNT_LOCK_FAILED_LOGINS_MAX}), set only from a recent login; outside the bounds it answers 422`, async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const put = (token: string, failedLogins: number | null) => api.call('PUT', '/v1/accounts/me/lock-threshold', { token, body: { failedLogins } });
    // A session that has not proved the password recently may not weaken the lock.
    assertProblem(await put(await api.token('customer', h.id), 10), 403, 'reauthentication-required');
    const token = (await login(h.login_email, PASSWORD)).json.token as string;
    assert.equal((await put(token, 3)).status, 204);
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token })).json.lockAfterFailedLogins, 3);
    for (const outside of [ACCOUNT_LOCK_FAILED_LOGINS_MIN - 1, ACCOUNT_LOCK_FAILED_LOGINS_MAX + 1])
      assertProblem(await put(token, outside), 422, 'lock-threshold-out-of-bounds');
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token })).json.lockAfterFailedLogins, 3, 'a refused value changes nothing');

    for (let i = 0; i < 2; i += 1) assertProblem(await login(h.login_email, `wrong ${i}`), 401, 'invalid-credentials');
    assert.equal((await login(h.login_email, PASSWORD)).status, 201, 'two failures do not lock, and the right password starts the count again');
    for (let i = 0; i < 3; i += 1) assertProblem(await login(h.login_email, `wrong ${i}`), 401, 'invalid-credentials');
    assertProblem(await login(h.login_email, PASSWORD), 423, 'account-locked');
  });
});
