import { sql, type Kysely } from 'kysely';
import type { Database } from '../database';

/** The cheapest statement PostgreSQL must answer: readiness asks nothing more of it. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
