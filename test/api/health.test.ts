import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { createApp } from '../../api/app';
import { issueToken } from '../../api/auth';
import { createDb } from '../../db/connection';
import type { Database } from '../../db/database';
import { silentLogger } from '../../lib/logger';
import { createWorkerMetrics, serveWorkerMetrics } from '../../temporal/workerMetrics';
import { AUTH_SECRET, serveApp } from '../support/api';
import { database, devServerEnv, fixtureKeyring, freePort, testClient } from '../support/fixtures';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const appConfig = (rateLimitPerMinute = 10_000) => ({ authSecret: AUTH_SECRET, taskQueue: 'unused', rateLimitPerMinute, publicUrl: 'http://backoffice.test' });

describe('operations: /health, /ready and /metrics on the API and the worker (issue 19, items 2 and 6)', function () {
  this.timeout(60_000);
  const closers: (() => Promise<void>)[] = [];
  let systemToken: string;
  before(async () => {
    systemToken = await issueToken(AUTH_SECRET, { role: 'system', sub: 'prometheus' }, '1h');
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  const serve = async (db: Kysely<Database>, rateLimitPerMinute?: number) => {
    // Limits live in PostgreSQL, shared by every app of the run: a key secret of its own gives this one fresh counters.
    const app = createApp({
      client: testClient(await devServerEnv()),
      db,
      log: silentLogger,
      keyring: fixtureKeyring(),
      config: { ...appConfig(rateLimitPerMinute), limitKeySecret: randomUUID() },
    });
    const served = await serveApp(app);
    closers.push(served.close);
    return served.base;
  };

  it('answers /health and /ready 200 while Temporal and PostgreSQL are up', async () => {
    const base = await serve((await database()).db);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { temporal: 'ok', database: 'ok' } });
  });

  it('answers /ready 503 unavailable problem+json with Retry-After while PostgreSQL is unreachable, /health still 200', async () => {
    // Nothing listens on a port just found free: every connection is refused.
    const deadDb = createDb(`postgres://nobody:nothing@127.0.0.1:${await freePort()}/none`);
    closers.push(() => deadDb.destroy());
    const base = await serve(deadDb);
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 503);
    assert.match(ready.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(ready.headers.get('retry-after'), '5');
    const problem = (await ready.json()) as { type: string; status: number; checks: Record<string, string> };
    assert.equal(problem.type, '/problems/unavailable');
    assert.equal(problem.status, 503);
    assert.deepEqual(problem.checks, { temporal: 'ok', database: 'unavailable' });
    assert.equal((await fetch(`${base}/health`)).status, 200, 'the process is alive: no restart would help');
  });

  it('serves /metrics to a system token only: route-labelled latency, problems by type, limiter refusals, no ids in labels', async () => {
    const { db } = await database();
    // Two requests a minute per client address before authentication: the third is refused.
    const base = await serve(db, 1);
    const auth = { authorization: `Bearer ${systemToken}` };
    assert.equal((await fetch(`${base}/metrics`)).status, 401);

    assert.equal((await fetch(`${base}/problems/no-such-type`)).status, 404);
    assert.equal((await fetch(`${base}/problems/not-found`)).status, 200);
    const orderId = randomUUID();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/v1/orders/${orderId}`, { headers: auth })).status);
    assert.equal(statuses[2], 429);

    const res = await fetch(`${base}/metrics`, { headers: auth });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/problems\/:slug",status="404"\} \d+$/m);
    assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/problems\/:slug",status="200"\} 1$/m);
    assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/v1\/orders\/:id",status="\d{3}"\} \d+$/m);
    assert.match(text, /^backoffice_problems_total\{type="\/problems\/not-found",status="404"\} \d+$/m);
    assert.match(text, /^backoffice_rate_limit_refusals_total\{limiter="principal"\} 1$/m);
    assert.match(text, /^backoffice_rate_limit_refusals_total\{limiter="client-address"\} 1$/m);
    assert.doesNotMatch(text, UUID);
    assert.ok(!text.includes('no-such-type'), 'the raw path is no label');
  });

  it('serves the worker role /metrics with the outbox backlog and age, overdue cases and activity failures, and /health, /ready', async () => {
    const { db } = await database();
    const metrics = createWorkerMetrics({ db });
    const ops = await serveWorkerMetrics({ host: '127.0.0.1', port: 0, metrics, client: testClient(await devServerEnv()), db, workerRunning: () => true });
    closers.push(ops.close);
    const key = `test:metrics:${randomUUID()}`;
    await db
      .insertInto('notification_outbox')
      .values({ key, channel: 'email', recipient: 'ops@example.test', subject: 'backlog', body: 'waiting', created_at: new Date(Date.now() - 3_600_000) })
      .execute();
    closers.push(async () => void (await db.deleteFrom('notification_outbox').where('key', '=', key).execute()));
    // An activity that throws a typed failure is counted by its activity type and failure type.
    const interceptor = metrics.activityInterceptor({ info: { activityType: 'sendEmail' } } as never).inbound!;
    await assert.rejects(
      interceptor.execute!({ args: [], headers: {} }, async () => {
        throw ApplicationFailure.nonRetryable('no such mailbox', 'undeliverable');
      }),
    );

    const text = await (await fetch(`${ops.url}/metrics`)).text();
    const pending = /^backoffice_outbox_pending\{channel="email"\} (\d+)$/m.exec(text);
    assert.ok(pending && Number(pending[1]) >= 1, 'the pending row is counted');
    const age = /^backoffice_outbox_oldest_pending_age_seconds\{channel="email"\} ([\d.]+)$/m.exec(text);
    assert.ok(age && Number(age[1]) >= 3_600, 'the oldest pending row is at least an hour old');
    assert.match(text, /^backoffice_outbox_pending\{channel="sms"\} \d+$/m);
    assert.match(text, /^backoffice_verification_cases_overdue \d+$/m);
    assert.match(text, /^backoffice_activity_failures_total\{activity="sendEmail",type="undeliverable"\} 1$/m);
    assert.doesNotMatch(text, UUID);

    assert.equal((await fetch(`${ops.url}/health`)).status, 200);
    const ready = await fetch(`${ops.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { temporal: 'ok', database: 'ok', worker: 'ok' } });
  });
});
