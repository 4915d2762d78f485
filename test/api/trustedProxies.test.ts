// Issue 21, item 2: the client address comes from X-Forwarded-For only when the request came through
// a proxy named in TRUSTED_PROXIES; a forged header from anyone else changes nothing, so it cannot
// buy a fresh rate-limit budget per request.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createApp } from '../../api/app';
import { loadConfig } from '../../lib/config';
import { silentLogger } from '../../lib/logger';
import { AUTH_SECRET, serveApp } from '../support/api';
import { database, fixtureKeyring } from '../support/fixtures';

describe('client address behind a proxy', function () {
  this.timeout(60_000);

  async function statuses(trustedProxies: string[], forwardedFor: (i: number) => string) {
    const { db } = await database();
    // Routes that fail a login never reach Temporal; a secret of its own gives this app fresh counters.
    const app = createApp({
      client: {} as Client,
      db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: { authSecret: `${AUTH_SECRET}-${randomUUID()}`, taskQueue: 'none', rateLimitPerMinute: 3, publicUrl: 'http://backoffice.test', trustedProxies },
    });
    const { base, close } = await serveApp(app);
    try {
      const out: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${base}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor(i) },
          body: JSON.stringify({ login: `nobody-${randomUUID()}@example.test`, password: 'not the password' }),
        });
        out.push(res.status);
      }
      return out;
    } finally {
      await close();
    }
  }

  it('ignores a forged X-Forwarded-For from an address that is not a trusted proxy', async () => {
    // 127.0.0.1 is not trusted: four "different" clients are one, and the fourth is refused.
    assert.deepEqual(await statuses([], (i) => `203.0.113.${i + 1}`), [401, 401, 401, 429]);
    assert.deepEqual(await statuses(['10.0.0.0/8'], (i) => `203.0.113.${i + 1}`), [401, 401, 401, 429]);
  });

  it('takes the client from X-Forwarded-For through a trusted proxy', async () => {
    assert.deepEqual(await statuses(['127.0.0.1'], (i) => `203.0.113.${i + 1}`), [401, 401, 401, 401], 'four clients, one request each');
    assert.deepEqual(await statuses(['127.0.0.0/8'], () => '203.0.113.9'), [401, 401, 401, 429], 'one client behind the proxy');
  });

  it('reads TRUSTED_PROXIES as addresses or CIDRs and refuses anything else', () => {
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.4' }).TRUSTED_PROXIES, ['10.0.0.0/8', '192.168.1.4']);
    assert.deepEqual(loadConfig({}).TRUSTED_PROXIES, []);
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: 'loopback; rm -rf' }));
  });
});
