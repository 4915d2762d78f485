import { strict as assert } from 'node:assert';
import { smsSink } from '../support/fixtures';
import { apiSuite, assertProblem } from '../support/api';
import { codeIn, holder, login, mailTo, PASSWORD, smsTo } from '../support/recovery';
import { uniquePhone } from '../support/verification';

const FIREFOX_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const RESET_LINK = /\/reset-password\/([\w-]+)/;

// Issue 17, item 2 [003, 004]: the holder changes the recovery email and the mobile number (each
// confirmed by a code sent to the new one, the old one told), changes the password with the current
// one, lists the sessions and ends any one. Emails are read over SMTP, SMS at the local peer.
describe('recovery details that change (issue 17, item 2)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  it('a new mobile number is confirmed by an SMS code to it; the old number and the login address are told; P3 and P4 use the new one at once', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = (await login(api, h.login_email)).json.token as string;
    const newPhone = uniquePhone();

    const asked = await api.call('PUT', '/v1/accounts/me/mobile-phone', { token, body: { mobilePhone: newPhone } });
    assert.equal(asked.status, 202, asked.text);
    assert.equal(asked.json.sentTo.endsWith(newPhone.slice(-2)), true);
    assert.notEqual(asked.json.sentTo, newPhone, 'the number is masked');
    const code = codeIn((await smsTo(newPhone, /confirm this mobile number/)).body);
    assertProblem(
      await api.call('POST', '/v1/accounts/me/mobile-phone/confirm', {
        token,
        body: { requestId: asked.json.requestId, code: code === '000000' ? '111111' : '000000' },
      }),
      422,
      'code-rejected',
    );
    // A code for the mobile number does not confirm a recovery email, and the other way round.
    assertProblem(
      await api.call('POST', '/v1/accounts/me/recovery-email/confirm', { token, body: { requestId: asked.json.requestId, code } }),
      422,
      'code-rejected',
    );
    assert.equal((await api.call('POST', '/v1/accounts/me/mobile-phone/confirm', { token, body: { requestId: asked.json.requestId, code } })).status, 204);
    assertProblem(
      await api.call('POST', '/v1/accounts/me/mobile-phone/confirm', { token, body: { requestId: asked.json.requestId, code } }),
      422,
      'code-rejected',
    );

    const settings = (await api.call('GET', '/v1/accounts/me/security', { token })).json;
    assert.ok(settings.mobilePhone.endsWith(newPhone.slice(-2)));
    assert.match((await smsTo(h.mobile_phone, /mobile number was changed/)).body, /If this was not you/);
    await mailTo(h.login_email, /^Your mobile number was changed$/);

    // P3: the login address by SMS goes to the new number; the old one answers the same and gets nothing.
    const sink = await smsSink();
    const before = sink.messages().length;
    const byOld = await api.call('POST', '/v1/recovery/login-email', { body: { phone: h.mobile_phone } });
    const byNew = await api.call('POST', '/v1/recovery/login-email', { body: { phone: newPhone } });
    assert.equal(byOld.status, 202);
    assert.equal(byNew.status, 202);
    assert.deepEqual(Object.keys(byOld.json).sort(), Object.keys(byNew.json).sort());
    await smsTo(newPhone, /./, before);
    // P4: a reset code by SMS goes to the new number too.
    const reset = await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email, channel: 'sms' } });
    assert.equal(reset.status, 202);
    await smsTo(newPhone, /reset your password/, before);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      sink
        .messages()
        .slice(before)
        .filter((m) => m.to === h.mobile_phone).length,
      0,
      'the old number receives no recovery code',
    );
  });

  it('a new recovery email is confirmed by a code to it; the old address is told and then forgotten; the password reset link goes to the new one', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = (await login(api, h.login_email)).json.token as string;
    const newAddress = `new-rescue-${h.id.slice(0, 8)}@elsewhere.test`;

    assertProblem(await api.call('PUT', '/v1/accounts/me/recovery-email', { token, body: { email: 'not an address' } }), 400, 'validation-failed');
    const asked = await api.call('PUT', '/v1/accounts/me/recovery-email', { token, body: { email: newAddress } });
    assert.equal(asked.status, 202, asked.text);
    const code = codeIn((await mailTo(newAddress, /^Confirm your new recovery email$/)).text);
    assert.equal((await api.call('POST', '/v1/accounts/me/recovery-email/confirm', { token, body: { requestId: asked.json.requestId, code } })).status, 204);

    const told = await mailTo(h.recovery_email!, /^Your recovery email was changed$/);
    assert.doesNotMatch(told.text, new RegExp(newAddress), 'the old address is not told the new one');
    await mailTo(newAddress, /^Your recovery email was changed$/);
    await mailTo(h.login_email, /^Your recovery email was changed$/);
    const request = await api.db.selectFrom('recovery_requests').select('previous_contact').where('id', '=', asked.json.requestId).executeTakeFirstOrThrow();
    assert.equal(request.previous_contact, null, 'the old address is erased once told');

    assert.equal((await api.call('POST', '/v1/recovery/password', { body: { login: h.login_email } })).status, 202);
    assert.ok(RESET_LINK.test((await mailTo(newAddress, /Reset your password/)).text));
  });

  it('changes the password with the current one: a wrong one counts toward the lock; the other sessions end, API tokens stay, the holder is told', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const token = (await login(api, h.login_email)).json.token as string;
    const other = (await login(api, h.login_email)).json.token as string;
    const apiToken = (await api.call('POST', '/v1/accounts/me/api-tokens', { token, body: { name: 'deploy' } })).json.token as string;

    assertProblem(
      await api.call('PUT', '/v1/accounts/me/password', { token, body: { currentPassword: 'not the password', newPassword: 'a brand new passphrase' } }),
      401,
      'invalid-credentials',
    );
    const counted = await api.db.selectFrom('accounts').select('failed_logins').where('id', '=', h.id).executeTakeFirstOrThrow();
    assert.equal(counted.failed_logins, 1);
    assertProblem(
      await api.call('PUT', '/v1/accounts/me/password', { token, body: { currentPassword: PASSWORD, newPassword: 'short' } }),
      400,
      'validation-failed',
    );

    const changed = await api.call('PUT', '/v1/accounts/me/password', { token, body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.json, { sessionsEnded: 1 });
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token })).status, 200, 'the session that changed it goes on');
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: other }), 401, 'unauthenticated');
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token: apiToken })).status, 200, 'API tokens never depended on the password');
    assert.match((await mailTo(h.login_email, /^Your password was changed$/)).text, /changed by its holder/);
    assertProblem(await login(api, h.login_email), 401, 'invalid-credentials');
    assert.equal((await login(api, h.login_email, 'a brand new passphrase')).status, 201);
  });

  it('lists the open sessions with device and network as known, and ends any one of them but nobody else’s', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const stranger = await holder(api.db);
    const token = (await login(api, h.login_email)).json.token as string;
    const phone = (await api.call('POST', '/v1/sessions', { body: { login: h.login_email, password: PASSWORD }, headers: { 'user-agent': FIREFOX_ON_LINUX } }))
      .json.token as string;
    const strangers = (await login(api, stranger.login_email)).json.token as string;

    const listed = await api.call('GET', '/v1/accounts/me/sessions', { token });
    assert.equal(listed.status, 200);
    assert.equal(listed.json.items.length, 2);
    const [newest, first] = listed.json.items;
    assert.equal(newest.device, 'Firefox on Linux');
    assert.equal(newest.network, '127.0.0.0/24', 'the network, never the address');
    assert.equal(newest.current, false);
    assert.equal(first.current, true);
    assert.ok(first.startedAt <= newest.startedAt);

    const theirs = (await api.call('GET', '/v1/accounts/me/sessions', { token: strangers })).json.items[0].id;
    assertProblem(await api.call('DELETE', `/v1/accounts/me/sessions/${theirs}`, { token }), 404, 'not-found');
    assert.equal((await api.call('GET', '/v1/accounts/me/security', { token: strangers })).status, 200);

    assert.equal((await api.call('DELETE', `/v1/accounts/me/sessions/${newest.id}`, { token })).status, 204);
    assertProblem(await api.call('GET', '/v1/accounts/me/security', { token: phone }), 401, 'unauthenticated');
    assertProblem(await api.call('DELETE', `/v1/accounts/me/sessions/${newest.id}`, { token }), 404, 'not-found');
    assert.deepEqual(
      (await api.call('GET', '/v1/accounts/me/sessions', { token })).json.items.map((s: { id: string }) => s.id),
      [first.id],
    );
  });
});
