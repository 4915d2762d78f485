// Issue 21, item 1: limits kept in PostgreSQL hold across API replicas and restarts, and the table
// holds keyed hashes, never the number, login or address that was limited.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { problemHandler } from '../../api/problems';
import { limiter } from '../../api/limiterStore';
import { rateLimit } from '../../api/rateLimit';
import { RecoveryLimiter } from '../../api/recoveryLimits';
import { silentLogger } from '../../lib/logger';
import { database } from '../support/fixtures';

describe('limits shared by every replica (PostgreSQL)', function () {
  this.timeout(60_000);
  const secret = 'test-secret-that-is-at-least-32-characters-long';

  it('counts the recovery limit across two replicas and a restart, exactly where one process would refuse', async () => {
    const { db } = await database();
    const settings = { perPhone: 5, perLogin: 5, perClientAddress: 1000, windowMs: 3_600_000 };
    const phone = `+4179${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    // Two replicas, each with its own limiter object: only PostgreSQL is shared.
    const replicas = [new RecoveryLimiter(settings, { db, secret }), new RecoveryLimiter(settings, { db, secret })];
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      await replicas[i % 2]!.hit('phone', phone).then(
        () => outcomes.push('ok'),
        (err: { status?: number }) => outcomes.push(String(err.status)),
      );
    }
    assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', '429'], 'the 6th request is refused, whichever replica answers');

    // A replica restarted (a new limiter) still refuses, and another number is not affected.
    const restarted = new RecoveryLimiter(settings, { db, secret });
    await assert.rejects(
      restarted.hit('phone', phone),
      (err: { status?: number; extensions?: { retryAfterSeconds?: number } }) => err.status === 429 && (err.extensions?.retryAfterSeconds ?? 0) > 0,
    );
    await restarted.hit('phone', `${phone.slice(0, -1)}${(Number(phone.at(-1)) + 1) % 10}`);

    const rows = await db.selectFrom('rate_limits').select('key').execute();
    assert.ok(rows.length > 0);
    assert.ok(
      rows.every((r) => !r.key.includes(phone) && !r.key.includes(phone.slice(1))),
      'no phone number in the table',
    );
  });

  it('answers the same for a login that exists and one that does not (the limiter knows no accounts)', async () => {
    const { db } = await database();
    const settings = { perPhone: 5, perLogin: 2, perClientAddress: 1000, windowMs: 3_600_000 };
    const limiter = new RecoveryLimiter(settings, { db, secret });
    const answers = async (login: string) => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++)
        await limiter.hit('login', login).then(
          () => out.push('ok'),
          (e: { status: number }) => out.push(String(e.status)),
        );
      return out;
    };
    assert.deepEqual(await answers('alice@example.test'), await answers(`nobody-${randomUUID()}@example.test`));
  });

  it('a general limit through two app replicas gives 429 with Retry-After on the request past the budget', async () => {
    const { db } = await database();
    const name = `test-${randomUUID()}`;
    const servers: Server[] = [];
    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const app = express();
      app.use((req, _res, next) => ((req.principal = { role: 'customer', sub: 'shared-caller', scope: 'full' }), next()));
      app.use(rateLimit({ perMinute: 4, name, store: { db, secret } }));
      app.get('/x', (_req, res) => void res.json({ ok: true }));
      app.use(problemHandler(silentLogger));
      const server: Server = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`);
    }
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(urls[i % 2]!)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
      const refused = await fetch(urls[0]!);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('takes a hot caller’s general limit in leases: far fewer round trips than requests, never more than the limit across replicas, unused points given back (issue 20, item 3)', async () => {
    const { db } = await database();
    let roundTrips = 0;
    const counted = db.withPlugin({ transformQuery: (a) => a.node, transformResult: async (a) => (roundTrips++, a.result) });
    const name = `rl:lease-${randomUUID()}`;
    const replica = () => limiter({ name, points: 100, windowMs: 60_000, store: { db: counted, secret }, lease: true });
    const [a, b] = [replica(), replica()];
    const run = async (l: ReturnType<typeof replica>, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await l.consume('hot-caller')) === null) ok++;
      return ok;
    };
    const okA = await run(a, 60);
    assert.equal(okA, 60);
    assert.ok(roundTrips <= 20, `60 requests took ${roundTrips} round trips`);
    const okB = await run(b, 60);
    assert.ok(okA + okB <= 100, `the two replicas let ${okA + okB} through a limit of 100`);
    assert.ok(okA + okB >= 90, `only ${okA + okB} of 100 let through: leases held back too much`);
    // Idle for a second, each replica gives back what it leased and did not use.
    await new Promise((r) => setTimeout(r, 2_500));
    const row = await db.selectFrom('rate_limits').select('points').where('key', 'like', `${name}:%`).executeTakeFirstOrThrow();
    assert.equal(row.points, okA + okB, 'PostgreSQL counts exactly what was let through');
  });

  it('counts a caller seen once with one point, exactly (no lease to hoard)', async () => {
    const { db } = await database();
    const name = `rl:once-${randomUUID()}`;
    const replicas = [0, 1, 2].map(() => limiter({ name, points: 100, windowMs: 60_000, store: { db, secret }, lease: true }));
    for (const r of replicas) assert.equal(await r.consume('caller'), null);
    const row = await db.selectFrom('rate_limits').select('points').where('key', 'like', `${name}:%`).executeTakeFirstOrThrow();
    assert.equal(row.points, 3);
  });
});
