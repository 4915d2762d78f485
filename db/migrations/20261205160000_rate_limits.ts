import type { Kysely } from 'kysely';

// Issue 21, item 1: request limits shared by every API replica and kept across restarts. The shape
// is the one rate-limiter-flexible's PostgreSQL store reads and writes (api/limiterStore.ts); keys
// are keyed hashes, never a number, a login or an address. Expired rows are deleted an hour after
// their window by the library, one by one, never wholesale.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
