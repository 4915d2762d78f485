import { sql, type Kysely } from 'kysely';

// Issue 17, item 8 [001, 002]: a handover may keep the former legal representative as a member, with
// the role they choose; null: they leave, as before.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('legal_rep_handovers')
    .addColumn('former_stays_as', 'text', (c) => c.check(sql`former_stays_as in ('administrator', 'collaborator')`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('legal_rep_handovers').dropColumn('former_stays_as').execute();
}
