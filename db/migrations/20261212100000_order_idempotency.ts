import type { Kysely } from 'kysely';

// A paid order is recorded once per checkout: the shop's Idempotency-Key, unique, and a digest of
// the request it came with (the same key with another request is refused). Orders recorded before
// have none.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('orders')
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('request_digest', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('idempotency_key').dropColumn('request_digest').execute();
}
