/**
 * Known/unknown timing gap of recovery and login (issue 14, item 1): the answers are the same bytes
 * for a known and an unknown identifier (test/api/recoveryOracle.test.ts); this measures whether
 * they also take the same time. Each route of the whole recovery sequences (P3 by mobile number,
 * P4 by login with the email and SMS channels) and POST /v1/sessions is called for known and
 * unknown identifiers alternately, one request in flight, so both see the same machine, the same
 * background work and the same warm state; each step is measured for every pair before the next
 * step, as the oracle test drives it, and the steps after the identity-check ask wait until every
 * process acted on it (unmatched requests closed, matched ones with a case). A gap is reported as
 * known − unknown, in ms and relative to unknown.
 * BENCH_TIMING_N (default 40) samples of each side per route, after BENCH_TIMING_WARMUP (default 5)
 * pairs that are not counted.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import os from 'node:os';
import { createApp } from '../api/app';
import { createLogger } from '../lib/logger';
import { hashPassword } from '../lib/passwords';
import type { Stack } from '../scripts/stack';
import { loadKeyring } from '../temporal/keys';

const SAMPLES = Number(process.env.BENCH_TIMING_N ?? 40);
const WARMUP = Number(process.env.BENCH_TIMING_WARMUP ?? 5);
const PASSWORD = 'bench horse battery staple';

type Side = 'known' | 'unknown';
type Row = { route: string; known: number[]; unknown: number[] };
type Step = { name: string; path: (requestId: string) => string; body: object };

const phone = () => `+4178${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function benchRecoveryTiming(stack: Stack) {
  // The stack's API keeps the real recovery limits (30 requests an hour per client address), which
  // this section passes in its first seconds; a second API over the same database, Temporal client
  // and keys differs only in its limits.
  const app = createApp({
    client: stack.client,
    db: stack.db,
    log: createLogger('warn'),
    keyring: loadKeyring(stack.config),
    config: {
      authSecret: stack.authSecret,
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      rateLimitPerMinute: 1_000_000,
      publicUrl: 'http://bench.test',
      lockAfterFailedLogins: stack.config.ACCOUNT_LOCK_FAILED_LOGINS,
      recoveryLimits: { perPhone: 1_000_000, perLogin: 1_000_000, perClientAddress: 1_000_000, windowMs: 3_600_000 },
    },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const db = stack.db;
  const passwordHash = await hashPassword(PASSWORD);

  /** One request, timed from sending to the last byte of the answer. */
  const call = async (path: string, body: object) => {
    const t = performance.now();
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { ms: performance.now() - t, status: res.status, text };
  };

  const newAccounts = async (n: number) => {
    const rows = Array.from({ length: n }, () => {
      const tag = randomUUID().slice(0, 8);
      return {
        id: randomUUID(),
        login_email: `bench-${tag}@customer.test`,
        display_name: `Bench ${tag}`,
        mobile_phone: phone(),
        recovery_email: `rescue-${tag}@elsewhere.test`,
        password_hash: passwordHash,
      };
    });
    await db.insertInto('accounts').values(rows).execute();
    return rows;
  };

  const pairs = WARMUP + SAMPLES;
  /** Pair i: known first on even i, unknown first on odd i, so neither side always follows the other. */
  const sides = (i: number): Side[] => (i % 2 ? ['unknown', 'known'] : ['known', 'unknown']);
  const rows: Row[] = [];
  const record = (route: string) => {
    const row: Row = { route, known: [], unknown: [] };
    rows.push(row);
    return (i: number, side: Side, ms: number) => i >= WARMUP && row[side].push(ms);
  };
  const expect = (res: { status: number; text: string }, status: number, what: string) => {
    if (res.status !== status) throw new Error(`${what} answered ${res.status}, not ${status}: ${res.text}`);
  };

  /** A genuine, current code of another request: the best-looking guess an attacker has. */
  async function someoneElsesCode() {
    const [other] = await newAccounts(1);
    expect(await call('/v1/recovery/login-email', { phone: other!.mobile_phone }), 202, 'a recovery request');
    const sms = await stack.smsSink!.waitFor((m) => m.to === other!.mobile_phone && /recover your login/.test(m.body), 30_000);
    return /\b(\d{6})\b/.exec(sms.body)![1]!;
  }

  /** Every process has acted on the identity-check ask: unmatched requests closed, matched ones with a case. */
  async function processesActed(ids: string[]) {
    const until = Date.now() + 60_000;
    for (;;) {
      const pending = await db
        .selectFrom('recovery_requests as r')
        .leftJoin('verification_cases as c', 'c.id', 'r.verification_case_id')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('r.id', 'in', ids)
        .where((eb) =>
          eb.or([
            eb.and([eb('r.account_id', 'is', null), eb('r.closed_at', 'is', null)]),
            eb.and([eb('r.account_id', 'is not', null), eb('c.id', 'is', null)]),
          ]),
        )
        .executeTakeFirstOrThrow();
      if (Number(pending.n) === 0) return;
      if (Date.now() > until) throw new Error(`${pending.n} recovery processes did not act on the identity-check ask within 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function flow(label: string, route: string, starts: Record<Side, object>[], steps: { before: Step[]; after: Step[]; expected: number[] }) {
    const ids: Record<Side, string>[] = [];
    const requestRow = record(`POST ${route}  ${label}`);
    for (const [i, start] of starts.entries()) {
      const pair = {} as Record<Side, string>;
      for (const side of sides(i)) {
        const res = await call(route, start[side]);
        expect(res, 202, `${label} request`);
        pair[side] = (JSON.parse(res.text) as { requestId: string }).requestId;
        requestRow(i, side, res.ms);
      }
      ids.push(pair);
    }
    const run = async (list: Step[], statuses: number[]) => {
      for (const [k, step] of list.entries()) {
        const at = record(`POST ${step.path(':id')}  ${step.name}`);
        for (const [i, pair] of ids.entries()) {
          for (const side of sides(i)) {
            const res = await call(step.path(pair[side]), step.body);
            expect(res, statuses[k]!, `${label}, ${step.name} (${side})`);
            at(i, side, res.ms);
          }
        }
      }
    };
    await run(steps.before, steps.expected.slice(0, steps.before.length));
    await processesActed(ids.flatMap((p) => [p.known, p.unknown]));
    await run(steps.after, steps.expected.slice(steps.before.length));
  }

  const t0 = performance.now();
  try {
    // P3, by mobile number: the statuses are those the oracle test pins for every identifier.
    {
      const guess = await someoneElsesCode();
      const wrong = guess === '000000' ? '111111' : '000000';
      const p = '/v1/recovery/login-email';
      const confirm = (name: string, code: string): Step => ({ name, path: (id) => `${p}/${id}/confirm`, body: { code } });
      const deliver = (name: string): Step => ({ name, path: (id) => `${p}/${id}/deliver`, body: { channel: 'sms' } });
      const verification = (name: string): Step => ({ name, path: (id) => `${p}/${id}/verification`, body: {} });
      const known = await newAccounts(pairs);
      await flow(
        'P3 by phone',
        p,
        known.map((a) => ({ known: { phone: a.mobile_phone }, unknown: { phone: phone() } })),
        {
          before: [confirm('wrong code', wrong), confirm('right-looking code', guess), deliver('deliver, early'), verification('identity check')],
          after: [verification('identity check again'), confirm('code after the check', guess), deliver('deliver after the check')],
          expected: [422, 422, 409, 202, 202, 422, 409],
        },
      );
    }
    // P4, by login, with each channel.
    for (const channel of ['email', 'sms'] as const) {
      const guess = await someoneElsesCode();
      const wrong = guess === '000000' ? '111111' : '000000';
      const p = '/v1/recovery/password';
      const confirm = (name: string, code: string): Step => ({ name, path: (id) => `${p}/${id}/confirm`, body: { code } });
      const verification = (name: string): Step => ({ name, path: (id) => `${p}/${id}/verification`, body: {} });
      const known = await newAccounts(pairs);
      await flow(
        `P4 by login (${channel})`,
        p,
        known.map((a) => ({ known: { login: a.login_email, channel }, unknown: { login: `nobody-${randomUUID().slice(0, 8)}@customer.test`, channel } })),
        {
          before: [confirm(`wrong code (${channel})`, wrong), confirm(`right-looking code (${channel})`, guess), verification(`identity check (${channel})`)],
          after: [verification(`identity check again (${channel})`), confirm(`code after the check (${channel})`, guess)],
          expected: [422, 422, 202, 202, 422],
        },
      );
    }
    // Login: a known login with a wrong password against an unknown login, the probe an enumerating
    // attacker can make (a right password is not theirs to send, and its 201 differs anyway). Each
    // known sample uses its own account, so every one takes the same path (one failure counted,
    // far from the lock) and none is locked by the bench; a reset between samples would instead
    // time a row whose counter keeps being rewritten.
    {
      const known = await newAccounts(pairs);
      const at = record('POST /v1/sessions  wrong password / unknown login');
      for (const [i, a] of known.entries()) {
        for (const side of sides(i)) {
          const login = side === 'known' ? a.login_email : `nobody-${randomUUID().slice(0, 8)}@customer.test`;
          const res = await call('/v1/sessions', { login, password: 'not the password at all' });
          expect(res, 401, `login (${side})`);
          at(i, side, res.ms);
        }
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  const seconds = (performance.now() - t0) / 1000;
  const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);
  const gap = (k: number, u: number) =>
    `${k - u >= 0 ? '+' : '−'}${Math.abs(k - u).toFixed(1)} ms (${k - u >= 0 ? '+' : '−'}${Math.abs(((k - u) / u) * 100).toFixed(0)}%)`.padStart(18);
  const width = Math.max(...rows.map((r) => r.route.length));
  console.log(
    `\nknown vs unknown identifier: ${SAMPLES} requests of each per route, interleaved after ${WARMUP} warm-up pairs, one in flight, ${os.cpus().length} cores, ${seconds.toFixed(0)} s\n`,
  );
  console.log(
    `  ${'route  step'.padEnd(width)}  ${'p50 known'.padStart(9)}  ${'p50 unkn.'.padStart(9)}  ${'gap p50'.padStart(18)}  ${'p95 known'.padStart(9)}  ${'p95 unkn.'.padStart(9)}  ${'gap p95'.padStart(18)}`,
  );
  for (const r of rows) {
    const k = [...r.known].sort((a, b) => a - b);
    const u = [...r.unknown].sort((a, b) => a - b);
    const [k50, u50, k95, u95] = [pct(k, 50), pct(u, 50), pct(k, 95), pct(u, 95)];
    console.log(`  ${r.route.padEnd(width)}  ${ms(k50)}  ${ms(u50)}  ${gap(k50, u50)}  ${ms(k95)}  ${ms(u95)}  ${gap(k95, u95)}`);
  }
  console.log('');
}
