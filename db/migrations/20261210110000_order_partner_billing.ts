import type { Kysely } from 'kysely';

// Issue 17, item 3 [003]: an order of a partner's client remembers the partner that managed the client
// when it was placed (it earns the cashback) and the organization billed for it (the partner when the
// client is billed to it, at the partner price; null: the ordering organization, at the public price).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('orders')
    .addColumn('partner_organization_id', 'uuid', (c) => c.references('organizations.id'))
    .addColumn('billed_organization_id', 'uuid', (c) => c.references('organizations.id'))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('partner_organization_id').dropColumn('billed_organization_id').execute();
}
