/**
 * Issue 14, item 7: an authenticator code logs in once per time step (no replay within its window),
 * and 2FA backup codes (and the sealed TOTP secret) survive a rotation of PAYLOAD_ENCRYPTION_KEY.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { silentLogger } from '../../lib/logger';
import { base32Decode, totpAt } from '../../lib/otp';
import { createKeyring } from '../../temporal/codec';
import { apiSuite, assertProblem, AUTH_SECRET, TEST_RECOVERY_LIMITS } from '../support/api';
import { fixtureKeyring } from '../support/fixtures';
import { holder, login, PASSWORD } from '../support/recovery';
import type { Api } from '../support/verification';

const STEP_MS = 30_000;

describe('the second factor holds under replay and key rotation (issue 14, item 7)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  /** 2FA switched on; `confirmedAt` is the time whose step confirmed it. */
  async function withTwoFactor(api: Api, loginEmail: string) {
    const token = (await login(api, loginEmail)).json.token;
    const setup = await api.call('POST', '/v1/accounts/me/two-factor', { token });
    assert.equal(setup.status, 201, setup.text);
    const secret = base32Decode(setup.json.secret);
    const confirmedAt = Date.now();
    const on = await api.call('POST', '/v1/accounts/me/two-factor/confirm', { token, body: { otp: totpAt(secret, confirmedAt) } });
    assert.equal(on.status, 200, on.text);
    return { secret, confirmedAt, backupCodes: on.json.backupCodes as string[] };
  }

  it('TOTP: a time step logs in once; the confirming code, a replay and a raced second use are refused', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const { secret, confirmedAt, backupCodes } = await withTwoFactor(api, h.login_email);
    // The code that switched 2FA on was seen: it is spent.
    assertProblem(await login(api, h.login_email, PASSWORD, totpAt(secret, confirmedAt)), 401, 'invalid-second-factor');

    // The next step's code (accepted as clock drift), sent twice at once: one login, one refusal.
    const next = totpAt(secret, confirmedAt + STEP_MS);
    const raced = await Promise.all([login(api, h.login_email, PASSWORD, next), login(api, h.login_email, PASSWORD, next)]);
    assert.deepEqual(raced.map((r) => r.status).sort(), [201, 401]);
    // Replayed later within its window, it is still refused; so is the step before it.
    assertProblem(await login(api, h.login_email, PASSWORD, next), 401, 'invalid-second-factor');
    assertProblem(await login(api, h.login_email, PASSWORD, totpAt(secret, confirmedAt)), 401, 'invalid-second-factor');
    // Re-authenticating (before switching 2FA off, say) is held to the same rule.
    const token = (await login(api, h.login_email, PASSWORD, backupCodes[0])).json.token;
    assertProblem(
      await api.call('POST', '/v1/sessions/current/reauthentication', { token, body: { password: PASSWORD, otp: next } }),
      401,
      'invalid-second-factor',
    );
  });

  it('backup codes and the authenticator keep working after PAYLOAD_ENCRYPTION_KEY is rotated, also for codes made before key ids were recorded', async () => {
    const { api } = suite;
    const h = await holder(api.db);
    const { secret, confirmedAt, backupCodes } = await withTwoFactor(api, h.login_email);
    const old = fixtureKeyring();
    const rows = await api.db.selectFrom('backup_codes').select('key_id').where('account_id', '=', h.id).execute();
    assert.deepEqual(new Set(rows.map((r) => r.key_id)), new Set([old.currentKeyId]), 'each code records the key it was hashed under');

    // The operator rotates: a new current key, the former one kept for decryption only.
    const rotated = createKeyring({ id: `rotated-${Date.now()}`, key: randomBytes(32) }, { [old.currentKeyId]: old.keys.get(old.currentKeyId)! });
    const app = createApp({
      client: api.client,
      db: api.db,
      log: silentLogger,
      keyring: rotated,
      config: {
        authSecret: AUTH_SECRET,
        taskQueue: api.taskQueue,
        rateLimitPerMinute: 10_000,
        publicUrl: 'http://backoffice.test',
        recoveryLimits: TEST_RECOVERY_LIMITS,
      },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const loginAfter = async (otp: string) => {
      const res = await fetch(`${base}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: h.login_email, password: PASSWORD, otp }),
      });
      return { status: res.status, json: (await res.json()) as { type?: string; token?: string } };
    };
    try {
      assert.equal((await loginAfter(backupCodes[0]!)).status, 201);
      assert.equal((await loginAfter(backupCodes[0]!)).json.type, '/problems/invalid-second-factor', 'still single use');
      assert.equal((await loginAfter(totpAt(secret, confirmedAt + STEP_MS))).status, 201, 'the sealed TOTP secret opens with the former key');
      // Codes from before key ids were recorded are checked under every key.
      await api.db.updateTable('backup_codes').set({ key_id: null }).where('account_id', '=', h.id).execute();
      assert.equal((await loginAfter(backupCodes[1]!)).status, 201);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
