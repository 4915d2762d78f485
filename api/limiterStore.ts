/**
 * Request limits shared by every API replica (issue 21, item 1): fixed windows counted in
 * PostgreSQL by rate-limiter-flexible, so two replicas do not double a limit and a restart does not
 * reset it. Keys are HMACs under the deployment's secret (the same on every replica): the table
 * never holds a phone number, a login or a client address. While PostgreSQL is unreachable each
 * process falls back to its own memory, so the limits still hold, per process, rather than vanish.
 */
import { createHmac } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Database } from '../db/database';

export interface LimitStore {
  db: Kysely<Database>;
  /** Keys the hashes: the same on every replica (the token signing secret). */
  secret: string;
}

export interface Limiter {
  /** Counts one request of `key`; the seconds to wait when over the limit, else null. */
  consume(key: string): Promise<number | null>;
}

/** pg's `query({ text, values })` over kysely's pool, which is what the library calls. */
const poolOf = (db: Kysely<Database>) => ({
  query: async (q: { text: string; values?: unknown[] }) => ({ rows: (await db.executeQuery(CompiledQuery.raw(q.text, q.values ?? []))).rows }),
});

export function limiter({
  name,
  points,
  windowMs,
  store,
  lease = false,
}: {
  name: string;
  points: number;
  windowMs: number;
  store?: LimitStore;
  /** Take points from PostgreSQL in leases for keys hot in this process (see leasing below). */
  lease?: boolean;
}): Limiter {
  const duration = Math.max(1, Math.round(windowMs / 1000));
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
  const shared = store
    ? new RateLimiterPostgres({
        storeClient: poolOf(store.db),
        storeType: 'pool',
        tableName: 'rate_limits',
        tableCreated: true, // by the migration
        keyPrefix: name,
        points,
        duration,
        // A key over its limit is refused from memory until its window ends: abuse costs no round trip.
        inMemoryBlockOnConsumed: points + 1,
        inMemoryBlockDuration: duration,
        insuranceLimiter: memory,
      })
    : memory;
  const hashed = (key: string) => (store ? createHmac('sha256', store.secret).update(`${name}:${key}`).digest('base64url') : key);
  const exact: Limiter = {
    async consume(key) {
      try {
        await shared.consume(hashed(key));
        return null;
      } catch (res) {
        if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        throw res;
      }
    },
  };
  return lease && store ? leasing(shared, hashed, points) : exact;
}

interface Lease {
  /** Points taken from PostgreSQL and not used yet. */
  available: number;
  windowEnd: number;
  lastUse: number;
  /** Requests in the current and the previous second: the size of the next lease. */
  second: number;
  thisSecond: number;
  lastSecond: number;
}

const LEASE_IDLE_MS = 1_000;

/**
 * A general request limit without a round trip per request (issue 20, item 3). A key takes points
 * from PostgreSQL in leases as large as the requests it had here in the last second (at most a
 * twentieth of its limit), so a caller seen once still costs one point a round trip and a hot one a
 * round trip per lease. Leased points count in PostgreSQL at once: the replicas together never let
 * more through than the limit; one may refuse a little early while another holds unused points,
 * which go back after a second of idleness. The recovery limits stay exact (no lease).
 */
function leasing(shared: Pick<RateLimiterPostgres, 'consume' | 'reward'>, hashed: (key: string) => string, points: number): Limiter {
  const maxLease = Math.max(1, Math.floor(points / 20));
  const leases = new Map<string, Lease>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [key, l] of leases) {
      if (now >= l.windowEnd) leases.delete(key);
      else if (now - l.lastUse >= LEASE_IDLE_MS) {
        leases.delete(key);
        if (l.available > 0) shared.reward(key, l.available).catch(() => undefined); // at worst counted until the window ends
      }
    }
  }, LEASE_IDLE_MS);
  timer.unref();

  return {
    async consume(raw) {
      const key = hashed(raw);
      const now = Date.now();
      let l = leases.get(key);
      if (l && now >= l.windowEnd) (leases.delete(key), (l = undefined));
      if (l) {
        const second = Math.floor(now / 1000);
        if (second !== l.second) [l.lastSecond, l.thisSecond, l.second] = [second === l.second + 1 ? l.thisSecond : 0, 0, second];
        l.thisSecond += 1;
        l.lastUse = now;
        if (l.available > 0) {
          l.available -= 1;
          return null;
        }
      }
      const size = Math.min(maxLease, Math.max(1, l?.lastSecond ?? 0, l?.thisSecond ?? 0));
      let granted: number;
      let msBeforeNext: number;
      try {
        const res = await shared.consume(key, size);
        [granted, msBeforeNext] = [size, res.msBeforeNext];
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        // Over the limit with this lease: what was left before it is still ours.
        granted = Math.max(0, points - (res.consumedPoints - size));
        msBeforeNext = res.msBeforeNext;
        if (granted === 0 || res.consumedPoints === 0) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        shared.reward(key, size - granted).catch(() => undefined); // PostgreSQL counts what was let through
      }
      const second = Math.floor(now / 1000);
      // Another request of this key may have leased meanwhile: add to its lease, not over it.
      const fresh = leases.get(key) ?? l ?? { available: 0, windowEnd: 0, lastUse: now, second, thisSecond: 1, lastSecond: 0 };
      fresh.available += granted - 1;
      fresh.windowEnd = now + msBeforeNext;
      leases.set(key, fresh);
      return null;
    },
  };
}
