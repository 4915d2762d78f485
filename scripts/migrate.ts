// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database).
import { migrateToLatest } from '../db/connection';
import { loadConfig } from '../lib/config';
import { openDatabase } from './connect';

(async () => {
  const { db, close } = await openDatabase(loadConfig());
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await close();
  }
})().catch((err: unknown) => (console.error(err instanceof Error ? err.message : err), process.exit(1)));
