import { sql, type Kysely } from 'kysely';

// Issue 14, item 6: the phone number and the position a customer gives are sealed here by the API,
// one row per submission under the case key, and the workflow receives only the row's id, so no
// personal value enters Temporal's history. A row is attached once the workflow accepted it; the
// rows go with the documents when the case ends or its 72 hours run out. The case's
// evidence_sealed column stays only for what runs from before this migration wrote there.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('verification_evidence')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('case_id', 'uuid', (c) => c.notNull().references('verification_cases.id').onDelete('cascade'))
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('phone', 'position')`))
    .addColumn('sealed', 'bytea', (c) => c.notNull())
    .addColumn('attached', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('verification_evidence_case_idx').on('verification_evidence').column('case_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('verification_evidence').execute();
}
