/**
 * The fleet of `npm run fleet` (scripts/fleet.ts launches it in a process group of its own): the
 * embedded servers, 2 workers and 2 API replicas as child processes, the proxy, and their drain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../lib/ports';
import { ConfigError, loadConfig } from '../lib/config';
import { silentLogger } from '../lib/logger';
import { WORKER_SHUTDOWN_FORCE_MS } from '../temporal/worker';
import { startFleetProxy, type FleetProxy } from './fleetProxy';
import { startStack } from './stack';

const REPLICAS = 2;
const WORKERS = 2;

const tsx = (script: string, env: NodeJS.ProcessEnv) =>
  spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script)], { env, stdio: ['ignore', 'inherit', 'inherit'] });

async function until(what: string, child: ChildProcess, probe: () => Promise<boolean>, timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it was ready`);
    if (Date.now() > end) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface Member {
  name: string;
  kind: 'api' | 'worker';
  port: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function runFleet() {
  const config = loadConfig(process.env);
  // The longest a member may take to drain: an API request's deadline, a worker's force time.
  const drainMs = Math.max(config.API_REQUEST_TIMEOUT_MS + 1_000, WORKER_SHUTDOWN_FORCE_MS) + 5_000;
  // The servers only: no API, no worker in this process. Keys and secrets are made here, once, in DATA_DIR.
  const infra = await startStack({ config, log: silentLogger, roles: { api: false, worker: false } });
  const env: NodeJS.ProcessEnv = {
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

  const members: Member[] = [];
  let stopping = false;
  let failures = 0;
  const start = async (kind: Member['kind'], index: number) => {
    const port = await freePort();
    const child = tsx(kind === 'api' ? 'api.ts' : 'worker.ts', {
      ...env,
      ...(kind === 'api' ? { PORT: String(port), WORKER_METRICS_PORT: '0' } : { WORKER_METRICS_PORT: String(port) }),
    });
    const name = `${kind === 'api' ? 'API replica' : 'worker'} ${index}`;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const member: Member = { name, kind, port, child, exited };
    members.push(member);
    void exited.then(({ code, signal }) => {
      console.log(`fleet: ${name} (pid ${child.pid}) exited with ${signal ?? `code ${code}`}`);
      if (stopping) return;
      const left = members.filter((m) => m.kind === kind && m.child.exitCode === null && m.child.signalCode === null);
      if (left.length === 0) return void stop(`no ${kind === 'api' ? 'API replica' : 'worker'} left`, 1);
      console.log(`fleet: ${left.map((m) => m.name).join(', ')} carr${left.length === 1 ? 'ies' : 'y'} on`);
    });
    return member;
  };
  const alive = (m: Member) => m.child.exitCode === null && m.child.signalCode === null;
  const drain = async (group: Member[]) => {
    await Promise.all(
      group.filter(alive).map(async (m) => {
        m.child.kill('SIGTERM');
        const killer = setTimeout(() => {
          console.error(`fleet: ${m.name} did not drain within ${drainMs} ms; killing it`);
          m.child.kill('SIGKILL');
        }, drainMs);
        const { code } = await m.exited;
        clearTimeout(killer);
        if (code !== 0) failures++;
      }),
    );
  };
  let proxy: FleetProxy | undefined;
  const stop = async (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    console.log(`fleet: ${why}, draining`);
    const proxyClosed = proxy?.close(drainMs);
    await Promise.all([drain(members.filter((m) => m.kind === 'worker')), proxyClosed]);
    await drain(members.filter((m) => m.kind === 'api'));
    await infra.stop();
    console.log('fleet: stopped');
    process.exit(failures ? 1 : exitCode);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The launcher is gone (killed, its terminal closed): nothing would stop the fleet any more.
  process.on('disconnect', () => void stop('launcher gone'));
  process.on('exit', () => members.filter(alive).forEach((m) => m.child.kill('SIGKILL')));

  let workers: Member[] = [];
  let apis: Member[] = [];
  try {
    workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => start('worker', i + 1)));
    apis = await Promise.all(Array.from({ length: REPLICAS }, (_, i) => start('api', i + 1)));
    for (const m of apis) await until(m.name, m.child, async () => (await fetch(`http://127.0.0.1:${m.port}/health`)).ok);
    for (const m of workers) await until(m.name, m.child, async () => (await fetch(`http://127.0.0.1:${m.port}/ready`)).ok);
    if (stopping) return;
    proxy = await startFleetProxy({ host: config.API_HOST, port: config.PORT, upstreams: apis.map((m) => m.port) });
  } catch (err) {
    // What started stops (the servers too) before the fleet exits.
    console.error(`fleet failed to start: ${(err as Error).message}`);
    return void stop('start-up failed', 1);
  }

  console.log(
    [
      '',
      'backoffice fleet is up:',
      `  proxy (API)       ${proxy.url}`,
      ...apis.map((m) => `  ${m.name.padEnd(16)}  http://127.0.0.1:${m.port}  pid ${m.child.pid}`),
      ...workers.map((m) => `  ${m.name.padEnd(16)}  http://127.0.0.1:${m.port}/metrics  pid ${m.child.pid}`),
      ...Object.entries(infra.urls).map(([k, v]) => `  ${k.padEnd(16)}  ${v}`),
      '',
      `Stop with Ctrl-C: the proxy, the workers and the replicas drain (${drainMs / 1000} s at most), then the servers stop.`,
      '',
    ].join('\n'),
  );
}

runFleet().catch((err: Error) => {
  console.error(`fleet failed to start: ${err.message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
