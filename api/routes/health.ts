import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** Both dependencies answer, or the service is not healthy. */
export async function checkHealth(client: Client, db: Kysely<Database>) {
  const [temporal, database] = await Promise.all([
    withTimeout(client.workflowService.getSystemInfo({}), 3000).then(() => 'ok' as const, () => 'unavailable' as const),
    withTimeout(sql`select 1`.execute(db), 3000).then(() => 'ok' as const, () => 'unavailable' as const),
  ]);
  const ok = temporal === 'ok' && database === 'ok';
  return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'degraded', checks: { temporal, database } } };
}
