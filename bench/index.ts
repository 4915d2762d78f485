/**
 * `npm run bench` (issue 20, item 5): the same measurements on each Temporal server, one child
 * process per server so each has its own memory high-water mark, side by side at the end, and as
 * JSON under bench/results/ so runs can be compared. Prints figures and ratios; asserts nothing.
 *
 * Per server (`--server dev|postgres|both`, default both; `--only <section>[,<section>]`):
 * - `starts`: grant starts through the whole API (auth, limits, validation, PostgreSQL, workflow
 *   start, audit) against bare starts through a Temporal client, in alternating rounds so both
 *   paths see the same machine (BENCH_N per path, default 300; BENCH_CONCURRENCY in flight, 16);
 *   and two floors on the machine the bench runs on: a bare HTTP hop (node:http, parse, start,
 *   answer: no auth, rules or database), and the same hop writing one row to PostgreSQL before the
 *   start, as any API that records what it starts must.
 * - `updates`: revoking those grants through the API against the same update sent by a bare
 *   client (an update that runs an activity and answers), alternating too.
 * - `sweep`: the daily renewal sweep over BENCH_SWEEP_PRODUCTS products (default 100,000): first run
 *   (every run started), re-run (the registry: nothing to start), weekly full reconciliation.
 * - `memory`: BENCH_OPEN_CASES verification cases (default 10,000) opened through the API and left
 *   waiting, next to the renewal runs the sweep left open; the process's peak RSS (VmHWM) is the
 *   worker's, together with the API and this client (item 4).
 * - `recovery-timing`: the known/unknown timing gap of recovery and login (bench/recoveryTiming.ts).
 *
 * `--placement shared|split` (default shared; `shared,split` runs both): split gives Temporal its
 * own half of the CPUs, as production gives it its own machines (bench/placement.ts).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { sql } from 'kysely';
import { issueBearerToken } from '../api/services/bearerTokens';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startStack, type Stack } from '../scripts/stack';
import { embeddedStackSettings, seedOrganization } from '../test/support/fixtures';
import { revokeUpdate, supportAccessWorkflowId } from '../workflows/shared/supportAccess';
import { splitPlacement } from './placement';
import { benchRecoveryTiming } from './recoveryTiming';

const SECTIONS = ['starts', 'updates', 'sweep', 'memory', 'recovery-timing'] as const;
type Section = (typeof SECTIONS)[number];
const SERVERS = ['dev', 'postgres'] as const;
type Server = (typeof SERVERS)[number];
const PLACEMENTS = ['shared', 'split'] as const;
type Placement = (typeof PLACEMENTS)[number];

function option(argv: string[], name: string): string | undefined {
  const at = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  return argv[at]!.includes('=') ? argv[at]!.slice(`--${name}=`.length) : argv[at + 1];
}

function listOption<T extends string>(argv: string[], name: string, allowed: readonly T[], all: readonly T[]): T[] {
  const value = option(argv, name);
  if (value === undefined) return [...all];
  const names = value.split(',').filter(Boolean);
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--${name} takes ${allowed.join(', ')}${unknown.length ? `, not ${unknown.join(', ')}` : ''}`);
  return names as T[];
}

const N = Number(process.env.BENCH_N ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SWEEP_PRODUCTS = Number(process.env.BENCH_SWEEP_PRODUCTS ?? 100_000);
const OPEN_CASES = Number(process.env.BENCH_OPEN_CASES ?? 10_000);
/** Rounds per path in the start and update sections; alternating rounds share the machine's drifts. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);

interface Latencies {
  throughput: number;
  p50: number;
  p99: number;
  /** CPU milliseconds per operation: this process less its HTTP load thread (API, worker, Temporal client), that thread, the rest of the machine (Temporal, PostgreSQL). */
  cpuMsPerOp?: { process: number; httpClient: number; elsewhere: number };
}

/** CPU used so far: by this process, and by the whole machine (/proc/stat, in USER_HZ = 10 ms ticks). */
function cpuNow(): { processMs: number; machineMs: number; clientMs: number } {
  const { user, system } = process.cpuUsage();
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [u = 0, nice = 0, sys = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return { processMs: (user + system) / 1000, machineMs: (u + nice + sys + irq + softirq + steal) * 10, clientMs: clientCpuMs };
}

/** Runs `op` count times, CONCURRENCY in flight, from `from`. */
async function run(from: number, count: number, op: (i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = from;
  const end = from + count;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < end) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

function summarize(runs: { seconds: number; latencies: number[] }[]): Latencies {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { throughput: latencies.length / seconds, p50: pct(50), p99: pct(99) };
}

interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

// The API's callers are other processes: its requests are sent from one thread of their own, kept
// for the whole run (a thread per batch charged its start-up to the API), over keep-alive
// connections with node:http (lighter than fetch). The thread reports its own CPU
// (/proc/thread-self/stat) so the client's work can be told apart from the server's.
const HTTP_LOAD = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const { readFileSync } = require('node:fs');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const threadCpuMs = () => { const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const send = (r) => new Promise((resolve, reject) => {
  const req = http.request(r.url, { method: r.method, headers: r.body ? { ...r.headers, 'content-length': Buffer.byteLength(r.body) } : r.headers, agent }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
  });
  req.on('error', reject);
  req.end(r.body);
});
parentPort.on('message', async ({ requests, concurrency, expect }) => {
  try {
    const latencies = [];
    const bodies = new Array(requests.length);
    let next = 0;
    const cpu = threadCpuMs();
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
      while (next < requests.length) {
        const i = next++;
        const t = performance.now();
        const res = await send(requests[i]);
        if (res.status !== expect) throw new Error('API answered ' + res.status + ': ' + res.text);
        latencies.push(performance.now() - t);
        bodies[i] = res.text;
      }
    }));
    parentPort.postMessage({ seconds: (performance.now() - started) / 1000, latencies, bodies, clientCpuMs: threadCpuMs() - cpu });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
});
`;

let loadThread: Worker | undefined;
let clientCpuMs = 0;

/** Sends the requests, CONCURRENCY in flight, from the load thread; every answer must have status `expect`. */
function httpLoad(requests: HttpRequest[], expect: number): Promise<{ seconds: number; latencies: number[]; bodies: string[] }> {
  // The thread answers batches in turn with untagged messages: a second batch sent before the
  // first's answer would take that answer for its own. Batches queue.
  const batch = loadQueue.then(() => sendBatch(requests, expect));
  loadQueue = batch.catch(() => undefined);
  return batch;
}
let loadQueue: Promise<unknown> = Promise.resolve();

function sendBatch(requests: HttpRequest[], expect: number): Promise<{ seconds: number; latencies: number[]; bodies: string[] }> {
  loadThread ??= new Worker(HTTP_LOAD, { eval: true });
  loadThread.unref();
  const thread = loadThread;
  return new Promise((resolve, reject) => {
    // One batch at a time: its error listener goes with its answer (the thread serves the whole run).
    const failed = (err: Error) => reject(err);
    thread.once('error', failed);
    thread.once('message', (m: { error?: string; seconds: number; latencies: number[]; bodies: string[]; clientCpuMs: number }) => {
      thread.off('error', failed);
      if (m.error) return reject(new Error(m.error));
      clientCpuMs += m.clientCpuMs;
      resolve(m);
    });
    thread.postMessage({ requests, concurrency: CONCURRENCY, expect });
  });
}

type Batch = (from: number, count: number) => Promise<{ seconds: number; latencies: number[] }>;
type PathName = 'raw' | 'hop' | 'hopWrite' | 'api';

/**
 * `ROUNDS` rounds of each path over `total` operations per path, the order rotated every round so
 * no path always goes first. The floors, `hop` and `hopWrite` (starts only), are optional.
 */
async function alternate(total: number, paths: { raw: Batch; api: Batch; hop?: Batch; hopWrite?: Batch }, leadIn?: Batch) {
  const names = (['raw', 'hop', 'hopWrite', 'api'] as const).filter((n) => paths[n]);
  const runs = new Map<PathName, { seconds: number; latencies: number[] }[]>(names.map((n) => [n, []]));
  const cpu = new Map(names.map((n) => [n, { processMs: 0, machineMs: 0, clientMs: 0 }]));
  const per = Math.ceil(total / ROUNDS);
  // A start leaves its workflow's first tasks to the next round: a round of the same size, not
  // measured, leaves the first measured round the backlog every later one inherits.
  if (leadIn) await leadIn(0, per);
  for (let r = 0, done = 0; done < total; r++, done += per) {
    const count = Math.min(per, total - done);
    const order = names.map((_, k) => names[(k + r) % names.length]!);
    for (const which of order) {
      const before = cpuNow();
      runs.get(which)!.push(await paths[which]!(done, count));
      const after = cpuNow();
      const c = cpu.get(which)!;
      c.processMs += after.processMs - before.processMs;
      c.machineMs += after.machineMs - before.machineMs;
      c.clientMs += after.clientMs - before.clientMs;
    }
  }
  const summary = (which: PathName): Latencies => {
    const c = cpu.get(which)!;
    return {
      ...summarize(runs.get(which)!),
      cpuMsPerOp: { process: (c.processMs - c.clientMs) / total, httpClient: c.clientMs / total, elsewhere: Math.max(0, c.machineMs - c.processMs) / total },
    };
  };
  const ratio = (a: Latencies, b: Latencies) => ({ throughput: a.throughput / b.throughput, p50: a.p50 / b.p50, p99: a.p99 / b.p99 });
  const raw = summary('raw');
  const api = summary('api');
  const hop = paths.hop ? summary('hop') : undefined;
  const hopWrite = paths.hopWrite ? summary('hopWrite') : undefined;
  return {
    raw,
    api,
    ratio: ratio(api, raw),
    ...(hop ? { hop, hopRatio: ratio(hop, raw) } : {}),
    ...(hopWrite ? { hopWrite, hopWriteRatio: ratio(hopWrite, raw) } : {}),
  };
}

type Comparison = Awaited<ReturnType<typeof alternate>>;

interface Results {
  server: Server;
  /** split: Temporal and its database on CPUs of their own (bench/placement.ts). */
  placement?: Placement;
  machine: { cores: number; cpu: string; memoryGB: number; node: string };
  settings: { n: number; concurrency: number; sweepProducts: number; openCases: number; maxCachedWorkflows: number };
  starts?: Comparison;
  updates?: Comparison;
  sweep?: {
    products: number;
    /** settledSeconds: until the task queue had no backlog after the first run (the started runs' first tasks). */
    first: { started: number; seconds: number; perSecond: number; settledSeconds: number };
    rerun: { read: number; started: number; seconds: number };
    full: { alreadyRunning: number; started: number; seconds: number; perSecond: number };
  };
  memory?: { openCases: number; openRenewalRuns: number; rssBeforeMB: number; peakRssMB: number; casesPerSecond: number };
}

const peakRssMB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const rssMB = () => process.memoryUsage().rss / 1024 / 1024;

async function benchServer(server: Server, placement: Placement, sections: Section[], out: string) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'backoffice-bench-'));
  const config = loadConfig({
    ...process.env,
    ...(await embeddedStackSettings(dataDir, { smtp: false, sms: false })),
    PORT: '0',
    TEMPORAL_PERSISTENCE: server,
    // The limits stay on (they are part of the path measured), above what the bench sends.
    RATE_LIMIT_PER_MINUTE: String(Math.max(N, OPEN_CASES) * 10),
  });
  const results: Results = {
    server,
    placement,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    settings: { n: N, concurrency: CONCURRENCY, sweepProducts: SWEEP_PRODUCTS, openCases: OPEN_CASES, maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS },
  };
  const stack = await startStack({ config, log: createLogger('warn'), roles: { api: true, worker: true } });
  const split = placement === 'split' ? splitPlacement() : undefined;
  const hopServers: HttpServer[] = [];
  if (split) console.log(`[${server}] Temporal and its databases on CPUs ${split.cpus.temporal}, the rest of the stack on ${split.cpus.app}`);
  try {
    const seed = await seedOrganization(stack.db);
    const api = stack.urls['API']!;
    const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    const { token } = await issueBearerToken({ db: stack.db, authSecret: stack.authSecret }, { role: 'customer', sub: seed.legalRep.id }, 3_600_000);
    const grantIds: string[] = [];
    const grantRequest: HttpRequest = {
      method: 'POST',
      url: `${api}/v1/support-access-grants`,
      headers: auth(token),
      body: JSON.stringify({ organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail', resourceIds: ['info@shop.test'] }),
    };
    const grant: Batch = async (_from, count) => {
      const res = await httpLoad(Array<HttpRequest>(count).fill(grantRequest), 201);
      grantIds.push(...res.bodies.map((b) => (JSON.parse(b) as { id: string }).id));
      return res;
    };
    const rawStart: Batch = (from, count) =>
      run(from, count, async () => {
        await stack.client.workflow.start('supportAccess', {
          workflowId: supportAccessWorkflowId(randomUUID()),
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          args: [{ grantId: randomUUID() }],
        });
      });
    // The floor of any HTTP API in front of the start on this machine: the same request, parsed and
    // answered by a bare node:http server in this process, with no auth, rules or database.
    // And the same hop writing one row (its own commit) before the start: the floor of an API that
    // records what it starts.
    await sql`create table bench_hop_writes (id uuid primary key, body jsonb not null, at timestamptz not null default now())`.execute(stack.db);
    const floor = async (write: boolean): Promise<Batch> => {
      const server = await bareHop(stack, config.TEMPORAL_TASK_QUEUE, write);
      hopServers.push(server);
      const request: HttpRequest = { ...grantRequest, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
      return (_from, count) => httpLoad(Array<HttpRequest>(count).fill(request), 201);
    };
    const hop = await floor(false);
    const hopWrite = await floor(true);
    // Warm every path (connections, JIT) before measuring.
    await Promise.all([grant(0, 20), rawStart(0, 20), hop(0, 20), hopWrite(0, 20)]);

    if (sections.includes('starts') || sections.includes('updates')) {
      grantIds.length = 0;
      results.starts = await alternate(N, { raw: rawStart, hop, hopWrite, api: grant }, rawStart);
      print(`${server}, ${placement}`, 'starts', results.starts);
    }
    if (sections.includes('updates')) {
      // The grants' first tasks first: an update sent before its workflow's first task ran waits
      // for the backlog, and only the path that went first would pay for it.
      await settle(stack, config.TEMPORAL_TASK_QUEUE);
      // Half of the grants the API made are revoked through it, the other half by a bare update.
      const half = Math.floor(grantIds.length / 2);
      results.updates = await alternate(half, {
        api: (from, count) =>
          httpLoad(
            grantIds.slice(from, from + count).map((id) => ({ method: 'DELETE', url: `${api}/v1/support-access-grants/${id}`, headers: auth(token) })),
            200,
          ),
        raw: (from, count) =>
          run(from, count, async (i) => {
            await stack.client.workflow.getHandle(supportAccessWorkflowId(grantIds[half + i]!)).executeUpdate(revokeUpdate, { args: [{ actor: 'bench' }] });
          }),
      });
      print(`${server}, ${placement}`, 'updates', results.updates);
    }
    if (sections.includes('sweep')) {
      results.sweep = await benchSweep(stack, seed.org.id, config.TEMPORAL_TASK_QUEUE);
      const s = results.sweep;
      console.log(
        `[${server}] sweep over ${s.products} products: first run ${s.first.started} started in ${s.first.seconds.toFixed(1)} s (${s.first.perSecond.toFixed(1)}/s), settled ${s.first.settledSeconds.toFixed(0)} s later; ` +
          `re-run ${s.rerun.read} read, ${s.rerun.started} started in ${s.rerun.seconds.toFixed(2)} s; ` +
          `full reconciliation ${s.full.alreadyRunning} running, ${s.full.started} started in ${s.full.seconds.toFixed(1)} s`,
      );
    }
    if (sections.includes('memory')) {
      const { token: system } = await issueBearerToken({ authSecret: stack.authSecret }, { role: 'system', sub: 'bench' }, 3_600_000);
      const before = rssMB();
      const open: HttpRequest = {
        method: 'POST',
        url: `${api}/v1/verification-cases`,
        headers: auth(system),
        body: JSON.stringify({ accountId: seed.collaborator.id, reason: 'account_unblock', subject: null }),
      };
      const opened = await httpLoad(Array<HttpRequest>(OPEN_CASES).fill(open), 201);
      // Let the worker take every case's first tasks (the email) before reading the peak.
      await new Promise((r) => setTimeout(r, 15_000));
      results.memory = {
        openCases: OPEN_CASES,
        openRenewalRuns: results.sweep ? results.sweep.first.started : 0,
        rssBeforeMB: Math.round(before),
        peakRssMB: Math.round(peakRssMB()),
        casesPerSecond: OPEN_CASES / opened.seconds,
      };
      console.log(
        `[${server}] memory: ${OPEN_CASES} open verification cases (${(OPEN_CASES / opened.seconds).toFixed(1)}/s through the API) next to ${results.memory.openRenewalRuns} renewal runs, ${config.WORKER_MAX_CACHED_WORKFLOWS} workflows cached at most; RSS ${results.memory.rssBeforeMB} MB before, peak ${results.memory.peakRssMB} MB`,
      );
    }
    if (sections.includes('recovery-timing')) await benchRecoveryTiming(stack);
  } finally {
    for (const server of hopServers) server.close();
    split?.stop();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  writeFileSync(out, JSON.stringify(results, null, 2));
}

function print(where: string, what: string, c: Comparison) {
  const row = (label: string, r: Latencies) =>
    `  ${label.padEnd(34)} ${r.throughput.toFixed(1).padStart(8)}/s   p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms` +
    (r.cpuMsPerOp
      ? `   CPU/op ${r.cpuMsPerOp.process.toFixed(2)} ms server + ${r.cpuMsPerOp.httpClient.toFixed(2)} ms HTTP client + ${r.cpuMsPerOp.elsewhere.toFixed(2)} ms Temporal/PostgreSQL`
      : '');
  const labels =
    what === 'starts' ? ['raw client start', 'POST /v1/support-access-grants'] : ['raw client update (revoke)', 'DELETE /v1/support-access-grants/:id'];
  console.log(`[${where}] ${what}: ${CONCURRENCY} in flight, ${ROUNDS} alternating rounds per path`);
  console.log(row(labels[0]!, c.raw));
  if (c.hop) console.log(row('bare HTTP hop, then start', c.hop));
  if (c.hopWrite) console.log(row('bare hop, one row written, start', c.hopWrite));
  console.log(row(labels[1]!, c.api));
  const r = (x: Comparison['ratio']) => `throughput ×${x.throughput.toFixed(2)}, p50 ×${x.p50.toFixed(2)}, p99 ×${x.p99.toFixed(2)}`;
  if (c.hopRatio) console.log(`  bare hop / raw: ${r(c.hopRatio)}`);
  if (c.hopWriteRatio) console.log(`  bare hop with a write / raw: ${r(c.hopWriteRatio)}`);
  console.log(`  API / raw: ${r(c.ratio)}`);
}

async function benchSweep(stack: Stack, organizationId: string, taskQueue: string): Promise<NonNullable<Results['sweep']>> {
  // Due 4 to 12 months ahead: each process starts, reads its plan and waits on a timer, as in production.
  const now = Date.now();
  for (let i = 0; i < SWEEP_PRODUCTS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, SWEEP_PRODUCTS - i) }, (_, k) => ({
      id: randomUUID(),
      organization_id: organizationId,
      order_line_id: null,
      product_type: 'web_hosting',
      name: `Bench hosting ${i + k}`,
      due_at: new Date(now + (120 + ((i + k) % 240)) * 86_400_000),
      renewal_price_cents: 12_000,
      currency: 'CHF' as const,
    }));
    await stack.db.insertInto('products').values(batch).execute();
  }
  const sweep = async (mode?: 'full') => {
    const t = performance.now();
    const counts = await stack.client.workflow.execute('renewalSweep', {
      workflowId: `renewal-sweep-bench-${randomUUID()}`,
      taskQueue,
      args: [{ organizationId, mode }],
    });
    return { counts, seconds: (performance.now() - t) / 1000 };
  };
  const first = await sweep();
  // The re-run is the next day's: the runs the first one started have taken their first tasks.
  const settled = await settle(stack, taskQueue);
  const rerun = await sweep();
  const full = await sweep('full');
  return {
    products: SWEEP_PRODUCTS,
    first: { started: first.counts.started, seconds: first.seconds, perSecond: first.counts.scanned / first.seconds, settledSeconds: settled },
    rerun: { read: rerun.counts.scanned, started: rerun.counts.started, seconds: rerun.seconds },
    full: { alreadyRunning: full.counts.alreadyRunning, started: full.counts.started, seconds: full.seconds, perSecond: full.counts.scanned / full.seconds },
  };
}

/**
 * A bare HTTP hop: reads and parses the grant's body, (with `write`, inserts one row with it, its
 * own commit), starts the same workflow, answers 201 with an id.
 */
async function bareHop(stack: Stack, taskQueue: string, write: boolean): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = randomUUID();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
      (write ? sql`insert into bench_hop_writes (id, body) values (${id}, ${JSON.stringify(body)})`.execute(stack.db) : Promise.resolve())
        .then(() => stack.client.workflow.start('supportAccess', { workflowId: supportAccessWorkflowId(id), taskQueue, args: [{ grantId: id }] }))
        .then(
          () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id })),
          (err: Error) => res.writeHead(500).end(err.message),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Waits until the task queue's workflow and activity backlogs are empty; the seconds it took. */
async function settle(stack: Stack, taskQueue: string): Promise<number> {
  const t = performance.now();
  const backlog = async (taskQueueType: 1 | 2) => {
    const res = await stack.client.workflowService.describeTaskQueue({
      namespace: stack.config.TEMPORAL_NAMESPACE,
      taskQueue: { name: taskQueue },
      taskQueueType,
      reportStats: true,
    });
    return Number(res.stats?.approximateBacklogCount ?? 0);
  };
  // Twice in a row empty: a backlog count is approximate and lags.
  for (let empty = 0; empty < 2 && performance.now() - t < 30 * 60_000;) {
    await new Promise((r) => setTimeout(r, 1000));
    empty = (await backlog(1)) + (await backlog(2)) === 0 ? empty + 1 : 0;
  }
  return (performance.now() - t) / 1000;
}

/** The side-by-side table of every server's results. */
function table(all: Results[]): string {
  const f = (n: number | undefined, d = 1) => (n === undefined ? '–' : n.toFixed(d));
  const lat = (r?: Latencies) => (r ? `${f(r.throughput)}/s, p50 ${f(r.p50, 0)} ms, p99 ${f(r.p99, 0)} ms` : '–');
  const cpu = (r?: Latencies) =>
    r?.cpuMsPerOp ? `${f(r.cpuMsPerOp.process, 2)} + ${f(r.cpuMsPerOp.httpClient, 2)} + ${f(r.cpuMsPerOp.elsewhere, 2)} ms` : '–';
  const ratio = (c?: Pick<Comparison, 'ratio'>) => (c ? `×${f(c.ratio.throughput, 2)}, ×${f(c.ratio.p50, 2)}, ×${f(c.ratio.p99, 2)}` : '–');
  const rows: [string, (r: Results) => string][] = [
    ['raw start', (r) => lat(r.starts?.raw)],
    ['API grant (POST)', (r) => lat(r.starts?.api)],
    ['bare HTTP hop, then start', (r) => lat(r.starts?.hop)],
    ['bare hop, one row written, then start', (r) => lat(r.starts?.hopWrite)],
    ['API / raw start (throughput, p50, p99)', (r) => ratio(r.starts)],
    ['bare hop / raw start (throughput, p50, p99)', (r) => ratio(r.starts?.hopRatio ? { ratio: r.starts.hopRatio } : undefined)],
    ['bare hop with a write / raw start (throughput, p50, p99)', (r) => ratio(r.starts?.hopWriteRatio ? { ratio: r.starts.hopWriteRatio } : undefined)],
    [
      'CPU per start, raw / bare hop / hop with a write / API (server process + HTTP client + Temporal and PostgreSQL)',
      (r) => `${cpu(r.starts?.raw)} / ${cpu(r.starts?.hop)} / ${cpu(r.starts?.hopWrite)} / ${cpu(r.starts?.api)}`,
    ],
    ['raw update', (r) => lat(r.updates?.raw)],
    ['API revoke (DELETE)', (r) => lat(r.updates?.api)],
    ['API / raw update (throughput, p50, p99)', (r) => ratio(r.updates)],
    ['sweep, first run', (r) => (r.sweep ? `${r.sweep.first.started} started, ${f(r.sweep.first.seconds)} s (${f(r.sweep.first.perSecond)}/s)` : '–')],
    ['sweep, re-run', (r) => (r.sweep ? `${r.sweep.rerun.read} read, ${r.sweep.rerun.started} started, ${f(r.sweep.rerun.seconds, 2)} s` : '–')],
    [
      'sweep, full reconciliation',
      (r) => (r.sweep ? `${r.sweep.full.alreadyRunning} running, ${f(r.sweep.full.seconds)} s (${f(r.sweep.full.perSecond)}/s)` : '–'),
    ],
    [
      'peak RSS (API + worker + client)',
      (r) => (r.memory ? `${r.memory.peakRssMB} MB with ${r.memory.openCases} open cases and ${r.memory.openRenewalRuns} renewal runs` : '–'),
    ],
  ];
  const name = (r: Results) =>
    (r.server === 'dev' ? 'dev server (SQLite)' : 'Temporal server on PostgreSQL') + (r.placement === 'split' ? ', Temporal on its own CPUs' : '');
  const head = `| measure | ${all.map(name).join(' | ')} |`;
  return [head, `| --- |${all.map(() => ' --- |').join('')}`, ...rows.map(([label, cell]) => `| ${label} | ${all.map(cell).join(' | ')} |`)].join('\n');
}

(async () => {
  const argv = process.argv.slice(2);
  const sections = listOption(argv, 'only', SECTIONS, SECTIONS);
  const child = option(argv, 'child-out');
  if (child) return benchServer(option(argv, 'server') as Server, option(argv, 'placement') as Placement, sections, child);

  const servers = listOption(argv, 'server', [...SERVERS, 'both' as const], SERVERS).flatMap((s) => (s === 'both' ? [...SERVERS] : [s]));
  const stamp = new Date().toISOString().replaceAll(':', '-').slice(0, 19);
  const dir = path.resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const placements = listOption(argv, 'placement', PLACEMENTS, ['shared']);
  const all: Results[] = [];
  for (const server of servers) {
    for (const placement of placements) {
      // One process per server and placement: its memory high-water mark is its own.
      const out = path.join(dir, `${stamp}-${server}${placement === 'split' ? '-split' : ''}.json`);
      const args = [...process.execArgv, __filename, '--server', server, '--placement', placement, '--only', sections.join(','), '--child-out', out];
      const code = await new Promise<number | null>((resolve) => spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', resolve));
      if (code !== 0) throw new Error(`the bench on the ${server} server (${placement}) exited with ${code}`);
      all.push(JSON.parse(readFileSync(out, 'utf8')) as Results);
    }
  }
  const m = all[0]!.machine;
  console.log(`\n${m.cores} cores (${m.cpu}), ${m.memoryGB} GB, Node ${m.node}; results in ${path.relative(process.cwd(), dir)}/${stamp}-*.json\n`);
  console.log(table(all));
})().catch((err: Error) => (console.error(err), process.exit(1)));
