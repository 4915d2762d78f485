/**
 * `npm run bench`: grant starts through the whole API (auth, validation, PostgreSQL, workflow
 * start, audit) against the baseline of bare workflow starts through a Temporal client, on the same
 * embedded dev server in the same process. Prints figures and ratios; asserts nothing.
 * BENCH_N (default 300) starts per path, BENCH_CONCURRENCY (default 16) in flight.
 *
 * Then the daily renewal sweep over BENCH_SWEEP_PRODUCTS (default 10,000) products: the time to ensure
 * every renewal process (first run: all started; re-run: all found running), against the raw start
 * rate above, and the peak memory of this process, which hosts the worker.
 *
 * Then the known/unknown timing gap of every recovery step and of the login (bench/recoveryTiming.ts).
 *
 * `npm run bench -- --only <section>[,<section>]` runs some sections: `starts` (grant starts and the
 * sweep, which is compared against their baseline) or `recovery-timing`. By default, all of them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { issueBearerToken } from '../api/services/bearerTokens';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startStack, type Stack } from '../scripts/stack';
import { benchRecoveryTiming } from './recoveryTiming';
import { freePort, seedOrganization } from '../test/support/fixtures';
import { supportAccessWorkflowId } from '../workflows/shared/supportAccess';

const SECTIONS = ['starts', 'recovery-timing'] as const;
type Section = (typeof SECTIONS)[number];

function selectedSections(argv: string[]): Set<Section> {
  const at = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (at < 0) return new Set(SECTIONS);
  const value = argv[at]!.includes('=') ? argv[at]!.slice('--only='.length) : argv[at + 1];
  const names = (value ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(`--only takes sections among ${SECTIONS.join(', ')}${unknown.length ? `, not ${unknown.join(', ')}` : ''}`);
  return new Set(names as Section[]);
}

const N = Number(process.env.BENCH_N ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function measure(label: string, op: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { label, throughput: N / seconds, p50: pct(50), p99: pct(99) };
}

const SWEEP_PRODUCTS = Number(process.env.BENCH_SWEEP_PRODUCTS ?? 10_000);

async function benchSweep(stack: Stack, organizationId: string, taskQueue: string, baselineStartsPerSecond: number) {
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
  const memory = { peak: process.memoryUsage().rss, before: process.memoryUsage().rss };
  const sampler = setInterval(() => (memory.peak = Math.max(memory.peak, process.memoryUsage().rss)), 100);
  const sweep = async (mode?: 'full') => {
    const t = performance.now();
    const counts = await stack.client.workflow.execute('renewalSweep', {
      workflowId: `renewal-sweep-bench-${randomUUID()}`,
      taskQueue,
      args: [{ organizationId, mode }],
    });
    return { counts, seconds: (performance.now() - t) / 1000 };
  };
  try {
    const first = await sweep();
    const rerun = await sweep();
    const full = await sweep('full');
    const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
    const rate = (r: typeof first) => r.counts.scanned / r.seconds;
    console.log(`renewal sweep over ${SWEEP_PRODUCTS} products (${SWEEP_PRODUCTS / 500} pages of 500, 16 starts in flight)\n`);
    console.log(
      `  first run: ${first.counts.started} started in ${first.seconds.toFixed(1)} s (${rate(first).toFixed(1)}/s, ×${(rate(first) / baselineStartsPerSecond).toFixed(2)} the raw start rate)`,
    );
    // Issue 20: the daily re-run reads only products without a known run; its cost is its total time.
    console.log(
      `  re-run (daily, registry): ${rerun.counts.scanned} read, ${rerun.counts.started} started, in ${rerun.seconds.toFixed(2)} s (×${(rerun.seconds / first.seconds).toFixed(3)} the first run's time)`,
    );
    console.log(
      `  reconciliation (weekly, full): ${full.counts.alreadyRunning} already running, ${full.counts.started} started, in ${full.seconds.toFixed(1)} s (${rate(full).toFixed(1)}/s, ×${(rate(full) / baselineStartsPerSecond).toFixed(2)} the raw start rate)`,
    );
    console.log(
      `  process RSS (API + worker + client): ${mb(memory.before)} MB before, peak ${mb(memory.peak)} MB (×${(memory.peak / memory.before).toFixed(2)})\n`,
    );
  } finally {
    clearInterval(sampler);
  }
}

async function benchStarts(stack: Stack) {
  const { config } = stack;
  const seed = await seedOrganization(stack.db);
  const { token } = await issueBearerToken({ db: stack.db, authSecret: stack.authSecret }, { role: 'customer', sub: seed.legalRep.id }, 3_600_000);
  const body = JSON.stringify({ organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail', resourceIds: ['info@shop.test'] });
  const api = stack.urls['API']!;
  const viaApi = async () => {
    const res = await fetch(`${api}/v1/support-access-grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    if (res.status !== 201) throw new Error(`API answered ${res.status}: ${await res.text()}`);
  };
  const viaClient = async () => {
    await stack.client.workflow.start('supportAccess', {
      workflowId: supportAccessWorkflowId(randomUUID()),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ grantId: randomUUID() }],
    });
  };

  // Warm both paths (connections, JIT) before measuring.
  await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? viaApi() : viaClient())));
  const baseline = await measure('raw Temporal client start', viaClient);
  const through = await measure('POST /v1/support-access-grants', viaApi);

  console.log(`\n${N} starts per path, ${CONCURRENCY} in flight, embedded dev server + PostgreSQL, ${os.cpus().length} cores\n`);
  const row = (r: typeof baseline) =>
    `  ${r.label.padEnd(34)} ${r.throughput.toFixed(1).padStart(8)}/s   p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms`;
  console.log(row(baseline));
  console.log(row(through));
  console.log(
    `\n  API / baseline: throughput ×${(through.throughput / baseline.throughput).toFixed(2)}, p50 ×${(through.p50 / baseline.p50).toFixed(2)}, p99 ×${(through.p99 / baseline.p99).toFixed(2)}\n`,
  );

  await benchSweep(stack, seed.org.id, config.TEMPORAL_TASK_QUEUE, baseline.throughput);
}

(async () => {
  const sections = selectedSections(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'backoffice-bench-'));
  const config = loadConfig({
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: '0',
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    SMTP_CAPTURE_PORT: '0',
    SMS_SINK_PORT: '0',
    WORKER_METRICS_PORT: '0',
    RATE_LIMIT_PER_MINUTE: String(N * 10),
    TEMPORAL_ADDRESS: '',
    DATABASE_URL: '',
    SMTP_URL: '',
    TWILIO_ACCOUNT_SID: '',
    TWILIO_AUTH_TOKEN: '',
    TWILIO_FROM: '',
  });
  const stack = await startStack({ config, log: createLogger('warn'), roles: { api: true, worker: true } });
  try {
    if (sections.has('starts')) await benchStarts(stack);
    if (sections.has('recovery-timing')) await benchRecoveryTiming(stack);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
})().catch((err: Error) => (console.error(err), process.exit(1)));
