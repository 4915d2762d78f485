/**
 * `npm run fleet` (issue 21, items 3 and 5): the back office as a fleet on one machine. The embedded
 * servers (Temporal, PostgreSQL, the SMTP and SMS peers) start here; 2 API replicas and 2 workers
 * run as child processes (`scripts/api.ts`, `scripts/worker.ts`) against them, and a small proxy on
 * PORT spreads requests over the replicas. Limits hold across replicas (they live in PostgreSQL).
 * Ctrl-C drains: the proxy stops accepting, each API replica finishes its requests, each worker
 * finishes or hands back its in-flight activities within its grace time, then the servers stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { silentLogger } from '../lib/logger';
import { startFleetProxy } from './fleetProxy';
import { startStack } from './stack';

const REPLICAS = 2;
const WORKERS = 2;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

(async () => {
  const config = loadConfig(process.env);
  // The servers only: no API, no worker in this process.
  const infra = await startStack({ config, log: silentLogger, roles: { api: false, worker: false } });
  const children: ChildProcess[] = [];
  const env = {
    ...process.env,
    DATA_DIR: config.DATA_DIR,
    TEMPORAL_ADDRESS: infra.urls['Temporal gRPC'],
    DATABASE_URL: process.env.DATABASE_URL || `postgres://postgres:postgres@127.0.0.1:${config.EMBEDDED_POSTGRES_PORT}/backoffice`,
    SMTP_URL: infra.smtp?.url ?? process.env.SMTP_URL,
    ...(infra.smsSink
      ? {
          TWILIO_ACCOUNT_SID: infra.smsSink.accountSid,
          TWILIO_AUTH_TOKEN: infra.smsSink.authToken,
          TWILIO_FROM: '+15005550006',
          TWILIO_API_URL: infra.smsSink.url,
        }
      : {}),
    // The replicas take the client's address from the proxy, and only from it.
    TRUSTED_PROXIES: '127.0.0.1,::1,::ffff:127.0.0.1',
    PUBLIC_URL: process.env.PUBLIC_URL || `http://${config.API_HOST}:${config.PORT}`,
    TEMPORAL_METRICS_PORT: '0',
  };
  const role = (script: string, extra: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script)], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    return child;
  };
  const apiPorts = await Promise.all(Array.from({ length: REPLICAS }, freePort));
  const workerPorts = await Promise.all(Array.from({ length: WORKERS }, freePort));
  for (const port of workerPorts) role('worker.ts', { WORKER_METRICS_PORT: String(port) });
  for (const port of apiPorts) role('api.ts', { PORT: String(port), WORKER_METRICS_PORT: '0' });
  for (const port of apiPorts) await until(`API replica on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok);
  for (const port of workerPorts) await until(`worker on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok);
  const proxy = await startFleetProxy({ host: config.API_HOST, port: config.PORT, upstreams: apiPorts });

  console.log(
    [
      '',
      'backoffice fleet is up:',
      `  proxy (API)      ${proxy.url}`,
      ...apiPorts.map((p, i) => `  API replica ${i + 1}    http://127.0.0.1:${p}`),
      ...workerPorts.map((p, i) => `  worker ${i + 1}         http://127.0.0.1:${p}/metrics`),
      ...Object.entries(infra.urls).map(([k, v]) => `  ${k.padEnd(16)} ${v}`),
      '',
      'Stop with Ctrl-C (drains the replicas and the workers).',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`fleet: ${signal}, draining`);
    await proxy.close();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await infra.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  for (const c of children) c.once('exit', (code) => !stopping && (console.error(`fleet: a child exited (${code}); stopping`), void stop('child exit')));
})().catch((err: Error) => (console.error(`fleet failed to start: ${err.message}`), process.exit(1)));
