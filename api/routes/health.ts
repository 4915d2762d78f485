/**
 * Liveness and readiness (issue 19, item 6). `/health` says the process answers, nothing more: a
 * restart would not bring PostgreSQL back. `/ready` says whether this instance can serve now: both
 * Temporal and PostgreSQL answer within 3 s; otherwise 503 `unavailable` problem+json with
 * Retry-After, so a load balancer takes it out of rotation until they are back. The worker's metrics
 * listener answers the same two paths (temporal/workerMetrics.ts).
 */
import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { Problem } from '../problems';

export type Check = 'ok' | 'unavailable';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

const probe = (p: () => Promise<unknown>): Promise<Check> =>
  withTimeout(Promise.resolve().then(p), 3000).then(() => 'ok' as const, () => 'unavailable' as const);

/** Both dependencies answer, or the service is not ready. */
export async function checkDependencies(client: Client, db: Kysely<Database>): Promise<{ temporal: Check; database: Check }> {
  const [temporal, database] = await Promise.all([probe(() => client.workflowService.getSystemInfo({})), probe(() => sql`select 1`.execute(db))]);
  return { temporal, database };
}

/** The answer to `/ready`: 200 with the checks, or the problem to send. */
export function readiness(checks: Record<string, Check>): { ready: true; body: { status: 'ready'; checks: Record<string, Check> } } | { ready: false; problem: Problem } {
  const down = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k);
  if (!down.length) return { ready: true, body: { status: 'ready', checks } };
  return { ready: false, problem: new Problem('unavailable', `Not ready: ${down.join(' and ')} unavailable`, { checks, retryAfterSeconds: 5 }) };
}

export const LIVENESS = { status: 'ok' } as const;
