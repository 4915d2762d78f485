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

export function limiter({ name, points, windowMs, store }: { name: string; points: number; windowMs: number; store?: LimitStore }): Limiter {
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
  return {
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
}
