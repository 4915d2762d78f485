import { type Kysely } from 'kysely';

// Issue 17, item 10: an email may carry a QR code of a link, drawn at send time. The column holds
// the text to encode with its secret marked like the body's, so it is redacted in the same statement.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notification_outbox').addColumn('qr', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notification_outbox').dropColumn('qr').execute();
}
