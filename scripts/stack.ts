/**
 * Composition root. Starts what the configuration asks for and wires it together; every embedded
 * part (Temporal dev server, PostgreSQL, SMTP capture, SMS sink) is used only when its variables are
 * unset. `npm start`, `npm run worker`, `npm run api`, the end-to-end tests and the bench all use it.
 */
import type { Server, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import express from 'express';
import type { Kysely } from 'kysely';
import { createActivities } from '../activities';
import { createApp } from '../api/app';
import { createApiMetrics } from '../api/metrics';
import { devOutboxRouter } from '../api/routes/devOutbox';
import { devPaymentsRouter } from '../api/routes/devPayments';
import { createDb, migrateToLatest } from '../db/connection';
import type { Database } from '../db/database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../db/embedded';
import { parseBusinessHours } from '../lib/businessHours';
import type { Config } from '../lib/config';
import { startSmsSink, type SmsSink } from '../lib/dev/smsSink';
import { startSmtpCapture, type SmtpCapture } from '../lib/dev/smtpCapture';
import type { Logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { LocalPaymentProvider } from '../lib/payments';
import { createSmsSender } from '../lib/sms';
import { connectClient } from '../temporal/client';
import { createDataConverter } from '../temporal/dataConverter';
import { loadAuthSecret, loadKeyring } from '../temporal/keys';
import { startPostgresServer } from '../temporal/postgresServer';
import { startDevServer } from '../temporal/servers';
import { apiTokenSweepSchedule, ensureSchedule, renewalReconciliationSchedule, renewalSweepSchedule } from '../temporal/schedules';
import { deploymentOptions } from '../temporal/deployments';
import { startTracing } from '../temporal/tracing';
import { createWorker } from '../temporal/worker';
import { createWorkerMetrics, serveWorkerMetrics } from '../temporal/workerMetrics';
import { startWorkflowCommandRelay } from '../temporal/workflowCommands';
import { RENEWAL_SWEEP_SCHEDULE_ID } from '../workflows/shared/renewal';

export interface Stack {
  config: Config;
  client: Client;
  db: Kysely<Database>;
  authSecret: string;
  urls: Record<string, string>;
  smtp?: SmtpCapture;
  smsSink?: SmsSink;
  worker?: Worker;
  stop(): Promise<void>;
}

export async function startStack(opts: {
  config: Config;
  log: Logger;
  roles: { api: boolean; worker: boolean };
  /** Tests pass a prebuilt bundle to skip webpack. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** CPU, memory and event-loop metrics: once per process, so only the entry points ask. */
  processMetrics?: boolean;
  /** Where the Temporal SDK's Prometheus exporter answers, when the entry point installed it. */
  sdkMetricsUrl?: string;
}): Promise<Stack> {
  const { config, log } = opts;
  const stops: { name: string; fn: () => Promise<void> }[] = [];
  const urls: Record<string, string> = {};
  // Stops in reverse order of start: API, worker (drained), clients, peers, database, servers.
  const stop = async () => {
    for (const { name, fn } of stops.splice(0).reverse()) {
      log.debug('stopping', { part: name });
      await fn().catch((err: Error) => log.warn('stop step failed', { part: name, error: err.message }));
    }
  };
  const onStop = (name: string, fn: () => Promise<void>) => stops.push({ name, fn });

  try {
    const keyring = loadKeyring(config);
    const dataConverter = createDataConverter(keyring);
    const calendar = parseBusinessHours(config.VERIFICATION_BUSINESS_HOURS, config.VERIFICATION_TIME_ZONE);
    const authSecret = loadAuthSecret(config);

    let temporalAddress = config.TEMPORAL_ADDRESS;
    // The embedded UI decodes payloads through the API's codec endpoint, for supervisors (issue 19, item 5).
    const embeddedUiOrigins: string[] = [];
    const codecEndpoint = `${config.PUBLIC_URL ?? `http://${config.API_HOST}:${config.PORT}`}/codec`;
    if (!temporalAddress && config.TEMPORAL_PERSISTENCE === 'dev') {
      log.info('starting embedded Temporal dev server');
      const env: TestWorkflowEnvironment = await startDevServer({
        port: config.TEMPORAL_DEV_PORT,
        // TEMPORAL_UI_PORT=0 runs without the web UI (tests, bench).
        ui: config.TEMPORAL_UI_PORT !== 0,
        uiPort: config.TEMPORAL_UI_PORT || undefined,
        dbFilename: path.resolve(config.DATA_DIR, 'temporal.sqlite'),
        namespace: config.TEMPORAL_NAMESPACE,
        ...(config.TEMPORAL_UI_PORT && opts.roles.api ? { uiCodecEndpoint: codecEndpoint } : {}),
        log: (line) => log.info(line),
      });
      onStop('temporal dev server', () => env.teardown());
      if (config.TEMPORAL_UI_PORT) embeddedUiOrigins.push(`http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, `http://localhost:${config.TEMPORAL_UI_PORT}`);
      temporalAddress = env.address;
      if (config.TEMPORAL_UI_PORT) urls['Temporal UI'] = `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
    }

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      log.info('starting embedded PostgreSQL');
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'postgres'), port: config.EMBEDDED_POSTGRES_PORT });
      onStop('postgres', () => pg.stop());
      databaseUrl = pg.url;
      urls['PostgreSQL'] = pg.url.replace(/:[^:@/]+@/, ':***@');
    }
    if (!temporalAddress) {
      // TEMPORAL_PERSISTENCE=postgres: the full server, as production runs it, on this PostgreSQL (its own two databases).
      log.info('starting embedded Temporal server on PostgreSQL');
      const temporal = await startPostgresServer({
        databaseUrl,
        root: path.resolve(config.DATA_DIR, 'temporal-postgres'),
        port: config.TEMPORAL_DEV_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        log: (line) => log.info(line),
      });
      onStop('temporal server', () => temporal.stop());
      temporalAddress = temporal.address;
    }
    urls['Temporal gRPC'] = temporalAddress;
    const db = createDb(databaseUrl, { onError: (err) => log.warn('database connection error', { error: err.message }) });
    onStop('database pool', () => db.destroy());
    const applied = await migrateToLatest(db);
    if (applied.length) log.info('migrations applied', { migrations: applied });

    let smtp: SmtpCapture | undefined;
    let smtpUrl = config.SMTP_URL;
    if (!smtpUrl) {
      smtp = await startSmtpCapture({ port: config.SMTP_CAPTURE_PORT, file: path.join(config.DATA_DIR, 'outbox', 'mail.jsonl') });
      onStop('smtp capture', () => smtp!.close());
      smtpUrl = smtp.url;
      urls['SMTP capture'] = smtp.url;
    }
    const mailer = createMailer(smtpUrl, config.MAIL_FROM);
    onStop('mailer', async () => mailer.close());

    let smsSink: SmsSink | undefined;
    let twilio = config.TWILIO_ACCOUNT_SID
      ? { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN!, from: config.TWILIO_FROM!, apiUrl: config.TWILIO_API_URL }
      : undefined;
    if (!twilio) {
      smsSink = await startSmsSink({ port: config.SMS_SINK_PORT, file: path.join(config.DATA_DIR, 'outbox', 'sms.jsonl') });
      onStop('sms sink', () => smsSink!.close());
      twilio = { accountSid: smsSink.accountSid, authToken: smsSink.authToken, from: '+15005550006', apiUrl: smsSink.url };
      urls['SMS sink'] = smsSink.url;
    }
    const sms = createSmsSender(twilio);

    // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; stopped after the API and the worker, so their last spans go out.
    const tracing = startTracing({
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: opts.roles.api && opts.roles.worker ? 'backoffice' : opts.roles.api ? 'backoffice-api' : 'backoffice-worker',
    });
    if (tracing) {
      onStop('tracing', () => tracing.shutdown());
      urls['Traces (OTLP)'] = config.OTEL_EXPORTER_OTLP_ENDPOINT!;
    }
    const client = await connectClient({ address: temporalAddress, namespace: config.TEMPORAL_NAMESPACE, dataConverter, tracing: !!tracing });
    onStop('temporal client', () => client.connection.close());

    // No payment provider is wired yet: the local one keeps a durable ledger and moves no money.
    const payments = new LocalPaymentProvider(db);
    const publicUrl = config.PUBLIC_URL ?? `http://${config.API_HOST}:${config.PORT}`;
    let worker: Worker | undefined;
    if (opts.roles.worker) {
      // With both roles in one process, the API's registry carries the process metrics.
      const metrics = createWorkerMetrics({ db, processMetrics: opts.processMetrics && !opts.roles.api });
      const connection = await NativeConnection.connect({ address: temporalAddress });
      onStop('worker connection', () => connection.close());
      worker = await createWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        dataConverter,
        workflowBundle: opts.workflowBundle ?? (config.WORKFLOW_BUNDLE_PATH ? { codePath: config.WORKFLOW_BUNDLE_PATH } : undefined),
        maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
        activityInterceptors: [metrics.activityInterceptor],
        ...(tracing ? { tracing } : {}),
        ...(deploymentOptions(config) ? { deployment: deploymentOptions(config)! } : {}),
        activities: createActivities({
          db,
          mailer,
          sms,
          clock: { now: () => new Date() },
          config: { publicUrl },
          keyring,
          verification: { calendar, supervisorsEmail: config.SUPERVISORS_EMAIL },
          payments,
          temporal: { client, taskQueue: config.TEMPORAL_TASK_QUEUE },
        }),
      });
      const running = worker.run();
      onStop('worker', async () => {
        // Drain: no new tasks, in-flight activities get the grace time to finish.
        if (worker!.getState() === 'RUNNING') worker!.shutdown();
        await running;
      });
      running.catch((err: Error) => log.error('worker stopped with an error', { error: err.message }));
      // The worker owns the task queue the schedule starts the sweep on, so it creates the schedule.
      const schedule = await ensureSchedule(client, renewalSweepSchedule(config.TEMPORAL_TASK_QUEUE, config.RENEWAL_SWEEP_TIME_ZONE));
      log.info('renewal sweep schedule ready', { scheduleId: RENEWAL_SWEEP_SCHEDULE_ID, outcome: schedule });
      const reconciliation = await ensureSchedule(client, renewalReconciliationSchedule(config.TEMPORAL_TASK_QUEUE, config.RENEWAL_SWEEP_TIME_ZONE));
      log.info('renewal reconciliation schedule ready', { scheduleId: 'renewal-reconciliation', outcome: reconciliation });
      const tokenSweep = await ensureSchedule(client, apiTokenSweepSchedule(config.TEMPORAL_TASK_QUEUE, config.RENEWAL_SWEEP_TIME_ZONE));
      log.info('API token sweep schedule ready', { scheduleId: 'api-token-sweep', outcome: tokenSweep });
      // Starts and signals a commit asked for and its writer could not send (temporal/workflowCommands.ts).
      const relay = startWorkflowCommandRelay({ client, db, log });
      onStop('workflow command relay', () => relay.stop());
      if (config.WORKER_METRICS_PORT !== 0) {
        const running = worker;
        const ops = await serveWorkerMetrics({
          host: config.API_HOST,
          port: config.WORKER_METRICS_PORT,
          metrics,
          client,
          db,
          workerRunning: () => running.getState() === 'RUNNING',
          sdkMetricsUrl: opts.sdkMetricsUrl,
          onError: (err) => log.warn('worker metrics failed', { error: err.message }),
        });
        onStop('worker metrics', () => ops.close());
        urls['Worker metrics'] = `${ops.url}/metrics`;
      }
    }

    if (opts.roles.api) {
      const devRouter = express.Router();
      if (smtp || smsSink) devRouter.use(devOutboxRouter({ smtp, sms: smsSink }));
      devRouter.use(devPaymentsRouter(db));
      const app = createApp({
        metrics: createApiMetrics({ processMetrics: opts.processMetrics }),
        client,
        db,
        log,
        keyring,
        devRouter: config.NODE_ENV === 'production' ? undefined : devRouter,
        config: {
          authSecret,
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
          trustedProxies: config.TRUSTED_PROXIES,
          publicUrl,
          lockAfterFailedLogins: config.ACCOUNT_LOCK_FAILED_LOGINS,
          paymentSettleWaitMs: config.PAYMENT_SETTLE_WAIT_MS,
          requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS,
          codecOrigins: [...config.CODEC_CORS_ORIGINS, ...embeddedUiOrigins],
        },
      });
      const server: Server = await new Promise((resolve, reject) => {
        const s = app.listen(config.PORT, config.API_HOST, () => resolve(s));
        s.once('error', reject);
      });
      // Drain: stop accepting, let the requests in flight finish (up to their deadline), then close what is left.
      // A kept-alive connection is closed as soon as its answer is out, not after keepAliveTimeout.
      let draining = false;
      server.on('request', (_req, res: ServerResponse) => res.on('finish', () => draining && setImmediate(() => server.closeIdleConnections())));
      onStop(
        'api server',
        () =>
          new Promise<void>((resolve) => {
            draining = true;
            const force = setTimeout(() => server.closeAllConnections(), config.API_REQUEST_TIMEOUT_MS + 1_000);
            server.close(() => (clearTimeout(force), resolve()));
            server.closeIdleConnections();
          }),
      );
      const address = server.address() as { port: number };
      const base = `http://${config.API_HOST}:${address.port}`;
      urls['API'] = base;
      urls['API docs'] = `${base}/docs`;
      if (config.NODE_ENV !== 'production') {
        if (smtp || smsSink) urls['Dev outbox'] = `${base}/dev/outbox`;
        urls['Dev payments'] = `${base}/dev/payments`;
      }
    }

    return { config, client, db, authSecret, urls, smtp, smsSink, worker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
