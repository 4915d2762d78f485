import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Role } from '../../api/auth';
import { issueBearerToken, parseLifetime } from '../../api/services/bearerTokens';
import { createApp } from '../../api/app';
import { silentLogger, type Logger } from '../../lib/logger';
import { createDataConverter } from '../../temporal/dataConverter';
import { requestIdClientInterceptor } from '../../temporal/requestIds';
import { tracingClientInterceptor, type Tracing } from '../../temporal/tracing';
import { database, devServerEnv, fixtureKeyring, seedOrganization } from './fixtures';
import { testWorker } from './worker';

/** Recovery limits high enough for suites that make many requests; the limit test uses the real ones. */
export const TEST_RECOVERY_LIMITS = { perPhone: 1000, perLogin: 1000, perClientAddress: 100_000, windowMs: 3_600_000 };

export const AUTH_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** Serves an app on a free loopback port; close() also ends the connections left open. */
export async function serveApp(app: ReturnType<typeof createApp>): Promise<{ server: Server; base: string; close: () => Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close };
}

/** The API over real HTTP, backed by the Temporal dev server, a worker and real PostgreSQL. */
/** `log`: the API's logger (silent unless a test reads the lines); `tracing`: traces through client and worker. */
export async function startApi(opts: { log?: Logger; tracing?: Tracing; codecOrigins?: string[] } = {}) {
  const env = await devServerEnv();
  const { db } = await database();
  const { worker, taskQueue } = await testWorker(env, undefined, opts.tracing ? { tracing: opts.tracing } : {});
  const running = worker.run();
  const client = new Client({
    connection: env.connection,
    namespace: env.namespace ?? 'default',
    dataConverter: createDataConverter(fixtureKeyring()),
    interceptors: { workflow: [requestIdClientInterceptor, ...(opts.tracing ? [tracingClientInterceptor()] : [])] },
  });
  const app = createApp({
    client,
    db,
    log: opts.log ?? silentLogger,
    keyring: fixtureKeyring(),
    config: {
      authSecret: AUTH_SECRET,
      taskQueue,
      rateLimitPerMinute: 10_000,
      publicUrl: 'http://backoffice.test',
      recoveryLimits: TEST_RECOVERY_LIMITS,
      paymentSettleWaitMs: 20_000,
      ...(opts.codecOrigins ? { codecOrigins: opts.codecOrigins } : {}),
    },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const call = async (method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    let json: any = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };

  return {
    base,
    db,
    client,
    taskQueue,
    worker: worker as Worker,
    call,
    /** A token as an operator issues it: customers and agents get a session of `ttl` (default 12h). */
    token: async (role: Role, sub: string, ttl = '12h') => (await issueBearerToken({ db, authSecret: AUTH_SECRET }, { role, sub }, parseLifetime(ttl)!)).token,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      worker.shutdown();
      await running;
    },
  };
}

type Seed = Awaited<ReturnType<typeof seedOrganization>>;

/**
 * Hooks for an API suite: one API over HTTP for the suite, a fresh organization before each test,
 * and a token for each of its people (customers by role, both agents, the system).
 */
export function apiSuite() {
  const suite = {
    api: undefined as unknown as Awaited<ReturnType<typeof startApi>>,
    seed: undefined as unknown as Seed,
    tokens: {} as Record<'legalRep' | 'admin' | 'collaborator' | 'outsider' | 'agent' | 'otherAgent' | 'system', string>,
  };
  before(async function () {
    this.timeout(300_000);
    suite.api = await startApi();
  });
  after(async () => suite.api?.stop());
  beforeEach(async () => {
    const { api } = suite;
    const seed = (suite.seed = await seedOrganization(api.db));
    suite.tokens = {
      legalRep: await api.token('customer', seed.legalRep.id),
      admin: await api.token('customer', seed.admin.id),
      collaborator: await api.token('customer', seed.collaborator.id),
      outsider: await api.token('customer', seed.outsider.id),
      agent: await api.token('agent', seed.agent.id),
      otherAgent: await api.token('agent', seed.otherAgent.id),
      system: await api.token('system', 'test-suite'),
    };
  });
  return suite;
}

/** An RFC 9457 answer with this status and problem type. */
export function assertProblem(res: { status: number; headers?: Headers; json: any }, status: number, type: string): void {
  assert.equal(res.status, status, JSON.stringify(res.json));
  if (res.headers) assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.json.type, `/problems/${type}`);
}
