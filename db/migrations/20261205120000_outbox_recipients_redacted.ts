import { sql, type Kysely } from 'kysely';

// Issue 14, item 6: rows settled before the outbox redacted its recipients (retention 0) still hold
// a phone number or an address, here and in a provider's refusal that quotes it. Irreversible.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update notification_outbox
       set last_error = replace(last_error, recipient, '[redacted]'), recipient = '[redacted]'
     where status in ('sent', 'failed') and recipient <> '[redacted]'`.execute(db);
}

export async function down(): Promise<void> {
  // The values are gone on purpose.
}
