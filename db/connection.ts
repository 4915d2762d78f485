import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { Pool, types } from 'pg';
import { outsideRequest } from '../lib/requestContext';
import type { Database } from './database';
import { migrations } from './migrations';

// bigint columns (bigserial ids) come back as strings; keep them so, JSON cannot hold int64 safely.
types.setTypeParser(types.builtins.INT8, (v) => v);

export function createDb(connectionString: string, opts: { max?: number; onError?: (err: Error) => void } = {}): Kysely<Database> {
  const pool = new Pool({ connectionString, max: opts.max ?? 10 });
  // A server restart or shutdown errors idle and closing connections; unhandled, that is an
  // uncaught exception. The pool drops the broken client; queries in flight reject on their own.
  // A connection's error listener runs in the context the connection was opened in, i.e. the
  // first request that needed it: report it as nobody's.
  const onError = outsideRequest(opts.onError ?? (() => undefined));
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
