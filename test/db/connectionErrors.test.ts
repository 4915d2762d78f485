import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { createDb } from '../../db/connection';
import { currentRequestId, withRequestId } from '../../lib/requestContext';
import { database } from '../support/fixtures';

describe('database connection errors (PostgreSQL)', () => {
  it('are reported outside the request that happened to open the connection, so a log search does not blame it', async () => {
    const { db: admin, url } = await database();
    const seen: string[] = [];
    const db = createDb(url, { max: 1, onError: () => seen.push(currentRequestId() ?? 'none') });
    try {
      const { rows } = await withRequestId('request-that-opened-it', () => sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db));
      await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(admin);
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(seen.length > 0, 'the idle connection reported its end');
      assert.deepEqual([...new Set(seen)], ['none']);
    } finally {
      await db.destroy();
    }
  });
});
