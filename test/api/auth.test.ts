import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import { verifyToken } from '../../api/auth';
import { problemHandler } from '../../api/problems';
import { rateLimit } from '../../api/rateLimit';
import { silentLogger } from '../../lib/logger';

describe('tokens and rate limits', function () {
  this.timeout(60_000);

  it('npm run token prints a token signed with AUTH_SECRET, and refuses a bad role', () => {
    const secret = 'token-script-secret-at-least-32-characters';
    const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const script = path.join(__dirname, '..', '..', 'scripts', 'token.ts');
    const ok = spawnSync(tsx, [script, '--role', 'agent', '--sub', 'agent-7'], { env: { ...process.env, AUTH_SECRET: secret }, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    return verifyToken(secret, ok.stdout.trim()).then((principal) => {
      assert.deepEqual(principal, { sub: 'agent-7', role: 'agent', scope: 'full' });
      const bad = spawnSync(tsx, [script, '--role', 'root', '--sub', 'x'], { env: { ...process.env, AUTH_SECRET: secret }, encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /usage: npm run token/);
    });
  });

  it('answers 429 with Retry-After once a caller exceeds its budget, and counts callers apart', async () => {
    let now = 1_000_000;
    const app = express();
    app.use((req, _res, next) => ((req.principal = { role: 'customer', sub: String(req.headers['x-sub']), scope: 'full' }), next()));
    app.use(rateLimit({ perMinute: 3, now: () => now }));
    app.get('/x', (_req, res) => void res.json({ ok: true }));
    app.use(problemHandler(silentLogger));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/x`;
    try {
      const get = (sub: string) => fetch(url, { headers: { 'x-sub': sub } });
      for (let i = 0; i < 3; i++) assert.equal((await get('a')).status, 200);
      now += 20_000;
      const limited = await get('a');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '40');
      assert.equal(((await limited.json()) as { type: string }).type, '/problems/rate-limited');
      assert.equal((await get('b')).status, 200, 'another caller has its own budget');
      now += 40_000;
      assert.equal((await get('a')).status, 200, 'a new window opens after a minute');
    } finally {
      server.close();
    }
  });
});
