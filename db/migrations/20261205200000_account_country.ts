import { sql, type Kysely } from 'kysely';

// Issue 18, item 2: the holder's country (ISO 3166-1 alpha-2, as the Manager's account details give
// it), which the agent compares with the identity document; null where the account never said.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('country', 'text', (c) => c.check(sql`country ~ '^[A-Z]{2}$'`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('accounts').dropColumn('country').execute();
}
