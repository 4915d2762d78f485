/**
 * Readiness (issue 19, item 6): this instance can serve now when both Temporal and PostgreSQL
 * answer within READINESS_PROBE_TIMEOUT_MS. Shared by the API's `/ready` and the worker's metrics
 * listener (temporal/workerMetrics.ts); the answers themselves are in api/routes/health.ts.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { pingDatabase } from '../../db/repositories/health';

export type Check = 'ok' | 'unavailable';

const READINESS_PROBE_TIMEOUT_MS = 3000;

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

const probe = (p: () => Promise<unknown>): Promise<Check> =>
  withTimeout(Promise.resolve().then(p), READINESS_PROBE_TIMEOUT_MS).then(
    () => 'ok' as const,
    () => 'unavailable' as const,
  );

/** Both dependencies answer, or the service is not ready. */
export async function checkDependencies(client: Client, db: Kysely<Database>): Promise<{ temporal: Check; database: Check }> {
  const [temporal, database] = await Promise.all([probe(() => client.workflowService.getSystemInfo({})), probe(() => pingDatabase(db))]);
  return { temporal, database };
}
