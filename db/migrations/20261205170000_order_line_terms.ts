import { sql, type Kysely } from 'kysely';

// Issue 17, item 1 [001]: a product created by a fulfilled order renews. Its order line says for how
// many months (null: a one-off purchase that does not renew); without a word from the checkout a
// line renews yearly, the provider's usual term.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('order_lines')
    .addColumn('term_months', 'integer', (c) => c.defaultTo(12).check(sql`term_months between 1 and 120`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('order_lines').dropColumn('term_months').execute();
}
