/**
 * The worker role's operations listener (issue 19, items 2 and 6): `/metrics`, `/health`, `/ready`
 * on WORKER_METRICS_PORT. Internal by placement (the worker has no public listener), so no token.
 * `/metrics` holds what only the worker sees: activity failures by type (an activity interceptor),
 * the notification outbox's backlog and the age of its oldest pending row, verification cases past
 * their due time; then, appended, the Temporal SDK's own metrics, which the SDK's Rust core serves
 * on a loopback port of its own (TEMPORAL_METRICS_PORT): one scrape target per worker.
 */
import { createServer, type Server } from 'node:http';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/database';
import { LIVENESS, checkDependencies, readiness } from '../api/routes/health';

export interface WorkerMetrics {
  registry: Registry;
  /** Counts each activity attempt that throws, by activity type and failure type. */
  activityInterceptor: ActivityInterceptorsFactory;
}

/** An ApplicationFailure's type (one string enum, see STYLE rule 6), else the error's class: bounded labels. */
const failureType = (err: unknown): string => {
  if (err instanceof ApplicationFailure) return err.type ?? 'ApplicationFailure';
  if (err instanceof CancelledFailure) return 'cancelled';
  return (err instanceof Error ? err.name : typeof err).slice(0, 64);
};

export function createWorkerMetrics(opts: { db: Kysely<Database>; now?: () => Date; processMetrics?: boolean }): WorkerMetrics {
  const { db } = opts;
  const now = opts.now ?? (() => new Date());
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });

  const failures = new Counter({
    name: 'backoffice_activity_failures_total',
    help: 'Activity attempts that failed, by activity type and failure type (retried attempts count each)',
    labelNames: ['activity', 'type'] as const,
    registers: [registry],
  });
  const channels = ['email', 'sms'] as const;
  const pendingOutbox = () =>
    db
      .selectFrom('notification_outbox')
      .select(['channel', sql<string>`count(*)`.as('pending'), sql<Date | null>`min(created_at)`.as('oldest')])
      .where('status', '=', 'pending')
      .groupBy('channel')
      .execute();
  new Gauge({
    name: 'backoffice_outbox_pending',
    help: 'Notification outbox rows not yet sent, by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
    async collect() {
      const rows = await pendingOutbox();
      for (const channel of channels) this.set({ channel }, Number(rows.find((r) => r.channel === channel)?.pending ?? 0));
    },
  });
  new Gauge({
    name: 'backoffice_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest unsent notification outbox row, by channel (0 when none)',
    labelNames: ['channel'] as const,
    registers: [registry],
    async collect() {
      const rows = await pendingOutbox();
      for (const channel of channels) {
        const oldest = rows.find((r) => r.channel === channel)?.oldest;
        this.set({ channel }, oldest ? Math.max(0, (now().getTime() - new Date(oldest).getTime()) / 1000) : 0);
      }
    },
  });
  new Gauge({
    name: 'backoffice_verification_cases_overdue',
    help: 'Verification cases submitted and not decided past their due time (P2: 2 business hours)',
    registers: [registry],
    async collect() {
      const row = await db
        .selectFrom('verification_cases')
        .select(sql<string>`count(*)`.as('n'))
        .where('status', '=', 'submitted')
        .where('due_at', '<', now())
        .executeTakeFirstOrThrow();
      this.set(Number(row.n));
    },
  });

  const activityInterceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          failures.inc({ activity: ctx.info.activityType, type: failureType(err) });
          throw err;
        }
      },
    },
  });
  return { registry, activityInterceptor };
}

export interface WorkerMetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the worker's `/metrics`, `/health` and `/ready`; `sdkMetricsUrl` is the SDK exporter's, appended when set. */
export async function serveWorkerMetrics(opts: {
  host: string;
  port: number;
  metrics: WorkerMetrics;
  client: Client;
  db: Kysely<Database>;
  workerRunning: () => boolean;
  sdkMetricsUrl?: string;
  onError?: (err: Error) => void;
}): Promise<WorkerMetricsServer> {
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type, ...(status === 503 ? { 'retry-after': '5' } : {}) });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async () => {
      if (req.method !== 'GET') return json(res, 405, { type: '/problems/not-found', title: 'Only GET', status: 405 }, 'application/problem+json');
      if (path === '/health') return json(res, 200, LIVENESS);
      if (path === '/ready') {
        const checks = { ...(await checkDependencies(opts.client, opts.db)), worker: opts.workerRunning() ? ('ok' as const) : ('unavailable' as const) };
        const ready = readiness(checks);
        return ready.ready ? json(res, 200, ready.body) : json(res, 503, ready.problem.toJSON(path), 'application/problem+json');
      }
      if (path === '/metrics') {
        let text = await opts.metrics.registry.metrics();
        // The SDK's exporter may be down or still binding; our own metrics are served regardless.
        if (opts.sdkMetricsUrl)
          text += await fetch(opts.sdkMetricsUrl, { signal: AbortSignal.timeout(2000) }).then(
            (r) => (r.ok ? r.text() : ''),
            () => '',
          );
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
        return res.end(text);
      }
      json(res, 404, { type: '/problems/not-found', title: 'No such resource', status: 404 }, 'application/problem+json');
    };
    answer().catch((err: Error) => {
      opts.onError?.(err);
      if (!res.headersSent) json(res, 500, { type: '/problems/internal', title: 'Something went wrong on our side', status: 500 }, 'application/problem+json');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${opts.host}:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
