import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import { decodeJwt } from 'jose';
import { issueToken, verifyToken } from '../../api/auth';
import { problemHandler } from '../../api/problems';
import { rateLimit } from '../../api/rateLimit';
import { silentLogger } from '../../lib/logger';
import { database, seedOrganization } from '../support/fixtures';

describe('tokens and rate limits', function () {
  this.timeout(60_000);

  it('npm run token prints a short-lived token signed with AUTH_SECRET, tied to a session for an agent, and refuses a bad role, lifetime or subject', async () => {
    const secret = 'token-script-secret-at-least-32-characters';
    const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const script = path.join(__dirname, '..', '..', 'scripts', 'token.ts');
    const { db, url } = await database();
    const seed = await seedOrganization(db);
    const run = (...args: string[]) => spawnSync(tsx, [script, ...args], { env: { ...process.env, AUTH_SECRET: secret, DATABASE_URL: url }, encoding: 'utf8' });

    const system = run('--role', 'system', '--sub', 'scheduler');
    assert.equal(system.status, 0, system.stderr);
    const claims = decodeJwt(system.stdout.trim());
    assert.equal(claims.exp! - claims.iat!, 3600, 'an hour by default');
    assert.deepEqual(await verifyToken(secret, system.stdout.trim()), { sub: 'scheduler', role: 'system', scope: 'full' });

    const agent = run('--role', 'agent', '--sub', seed.agent.id, '--ttl', '15m');
    assert.equal(agent.status, 0, agent.stderr);
    const principal = await verifyToken(secret, agent.stdout.trim());
    assert.equal(principal.sub, seed.agent.id);
    const session = await db
      .selectFrom('agent_sessions')
      .select(['agent_id', 'expires_at', 'revoked_at'])
      .where('id', '=', principal.sid!)
      .executeTakeFirstOrThrow();
    assert.equal(session.agent_id, seed.agent.id);
    assert.ok(Math.abs(session.expires_at.getTime() - (Date.now() + 15 * 60_000)) < 60_000, 'the session lasts as long as the token');

    const bad = run('--role', 'root', '--sub', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /usage: npm run token/);
    assert.equal(run('--role', 'system', '--sub', 'x', '--ttl', '31d').status, 2, 'at most 30 days');
    assert.equal(run('--role', 'system', '--sub', 'x', '--ttl', 'forever').status, 2);
    const unknown = run('--role', 'agent', '--sub', 'agent-7');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /named by their id/);
  });

  it('a token verified once is still refused under another secret: the cache of verified tokens is per secret', async () => {
    const secret = 'first-secret-of-at-least-32-characters';
    const token = await issueToken(secret, { role: 'system', sub: 'scheduler' }, '5m');
    assert.equal((await verifyToken(secret, token)).sub, 'scheduler');
    assert.equal((await verifyToken(secret, token)).sub, 'scheduler', 'from the cache');
    await assert.rejects(verifyToken('other-secret-of-at-least-32-characters', token), /signature/);
  });

  it('answers 429 with Retry-After once a caller exceeds its budget, and counts callers apart', async () => {
    const app = express();
    app.use((req, _res, next) => ((req.principal = { role: 'customer', sub: String(req.headers['x-sub']), scope: 'full' }), next()));
    // A 2-second window, counted in this process's memory (no store): real time, nothing faked.
    app.use(rateLimit({ perMinute: 3, windowMs: 2_000 }));
    app.get('/x', (_req, res) => void res.json({ ok: true }));
    app.use(problemHandler(silentLogger));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/x`;
    try {
      const get = (sub: string) => fetch(url, { headers: { 'x-sub': sub } });
      for (let i = 0; i < 3; i++) assert.equal((await get('a')).status, 200);
      const limited = await get('a');
      assert.equal(limited.status, 429);
      assert.ok(['1', '2'].includes(limited.headers.get('retry-after')!), 'the rest of the window');
      assert.equal(((await limited.json()) as { type: string }).type, '/problems/rate-limited');
      assert.equal((await get('b')).status, 200, 'another caller has its own budget');
      await new Promise((r) => setTimeout(r, 2_100));
      assert.equal((await get('a')).status, 200, 'a new window opens after the window');
    } finally {
      server.close();
    }
  });
});
