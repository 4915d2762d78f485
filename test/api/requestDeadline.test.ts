import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import express from 'express';
import { sql } from 'kysely';
import { createApp } from '../../api/app';
import { issueBearerToken } from '../../api/services/bearerTokens';
import { Problem, problemHandler } from '../../api/problems';
import { silentLogger, type Logger } from '../../lib/logger';
import { AUTH_SECRET, serveApp } from '../support/api';
import { database, fixtureKeyring, seedOrganization } from '../support/fixtures';

type Entry = { level: string; msg: string; fields?: Record<string, unknown> };

describe('request deadline: a request stuck on PostgreSQL answers 503 (PostgreSQL, no Temporal)', function () {
  this.timeout(60_000);
  const DEADLINE_MS = 500;
  const entries: Entry[] = [];
  const watchers: { msg: string; resolve: (e: Entry) => void }[] = [];
  const record = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    const entry = { level, msg, fields };
    entries.push(entry);
    for (const w of watchers.filter((w) => w.msg === msg)) w.resolve(entry);
  };
  const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const logged = (msg: string) => new Promise<Entry>((resolve) => watchers.push({ msg, resolve }));
  let base: string;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    const { db } = await database();
    // The client connects lazily and is never used: the route under test only reaches PostgreSQL.
    const app = createApp({
      client: new Client(),
      db,
      log,
      keyring: fixtureKeyring(),
      config: { authSecret: AUTH_SECRET, taskQueue: 'unused', rateLimitPerMinute: 10_000, publicUrl: 'http://backoffice.test', requestTimeoutMs: DEADLINE_MS },
    });
    ({ base, close } = await serveApp(app));
  });
  after(async () => {
    await close?.();
  });

  it('answers 503 unavailable with Retry-After while the handler waits on a lock, then drops its late 201 and keeps the order it recorded', async () => {
    const { db } = await database();
    const seed = await seedOrganization(db);
    await db
      .insertInto('prepaid_ledger_entries')
      .values({ organization_id: seed.org.id, currency: 'CHF', amount_cents: 10_000, reason: 'top-up', reference: `test:${randomUUID()}` })
      .execute();
    const token = (await issueBearerToken({ db, authSecret: AUTH_SECRET }, { role: 'system', sub: 'deadline-test' }, 3_600_000)).token;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    // Hold the lock that serializes the organization's prepaid debits, as a long transaction would.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${seed.org.id}::text || 'CHF'))`.execute(trx);
      locked();
      await released;
    });
    await isLocked;

    const body = {
      organizationId: seed.org.id,
      accountId: seed.legalRep.id,
      currency: 'CHF',
      lines: [{ productType: 'domain', description: 'example.ch', quantity: 1, unitPriceCents: 1_500 }],
      payment: { means: 'prepaid' },
    };
    const res = await fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': `checkout-${randomUUID()}` },
      body: JSON.stringify(body),
    });
    // Answered while the lock is still held: only the deadline can have answered.
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.headers.get('retry-after'), '5');
    const problem = (await res.json()) as { type: string; detail: string };
    assert.equal(problem.type, '/problems/unavailable');
    assert.match(problem.detail, /within 0\.5 s/);
    assert.ok(entries.some((e) => e.level === 'warn' && e.msg === 'request deadline passed' && e.fields?.route === '/v1/orders'));

    const dropped = logged('answer after the deadline dropped');
    release();
    await holder;
    assert.equal((await dropped).fields?.status, 201, 'the handler finished and its answer was dropped');

    // What the handler did stays done, once; a retry would find it. The server still answers.
    const orders = await db.selectFrom('orders').select('id').where('organization_id', '=', seed.org.id).execute();
    assert.equal(orders.length, 1);
    const read = await fetch(`${base}/v1/orders/${orders[0]!.id}`, { headers });
    assert.equal(read.status, 200);
    assert.deepEqual(
      entries.filter((e) => e.level === 'error'),
      [],
    );
  });

  it('leaves a request answered in time alone', async () => {
    const { db } = await database();
    const token = (await issueBearerToken({ db, authSecret: AUTH_SECRET }, { role: 'system', sub: 'deadline-test' }, 3_600_000)).token;
    const res = await fetch(`${base}/v1/orders/${randomUUID()}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('retry-after'), null);
  });
});

describe('503 answers', () => {
  it('carry Retry-After even when a route raises unavailable itself (could not start its process)', async () => {
    const app = express();
    app.get('/x', () => {
      throw new Problem('unavailable', 'Could not start the grant; nothing was granted', { cause: 'ServiceError' });
    });
    app.use(problemHandler(silentLogger));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(((await res.json()) as { type: string }).type, '/problems/unavailable');
    } finally {
      server.close();
    }
  });
});
