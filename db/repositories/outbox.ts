import { sql, type Selectable } from 'kysely';
import type { Db } from '../database';
import type { NotificationChannel, NotificationOutboxTable } from '../tables/notificationOutbox.table';

export type OutboxMessage = Selectable<NotificationOutboxTable>;

/** Inserts the message unless its key exists; returns the row either way (first write wins). */
export async function enqueue(
  db: Db,
  msg: { key: string; channel: NotificationChannel; recipient: string; subject?: string | null; body: string },
): Promise<OutboxMessage> {
  await db
    .insertInto('notification_outbox')
    .values({ key: msg.key, channel: msg.channel, recipient: msg.recipient, subject: msg.subject ?? null, body: msg.body, last_error: null, provider_message_id: null, sent_at: null })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return db.selectFrom('notification_outbox').selectAll().where('key', '=', msg.key).executeTakeFirstOrThrow();
}

export async function findByKey(db: Db, key: string): Promise<OutboxMessage | undefined> {
  return db.selectFrom('notification_outbox').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function recordAttempt(db: Db, key: string, outcome: { sent: true; providerMessageId: string } | { sent: false; error: string; permanent: boolean }): Promise<void> {
  await db
    .updateTable('notification_outbox')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      ...(outcome.sent
        ? { status: 'sent' as const, provider_message_id: outcome.providerMessageId, sent_at: sql<Date>`now()`, last_error: null }
        : { status: outcome.permanent ? ('failed' as const) : ('pending' as const), last_error: outcome.error.slice(0, 500) }),
    }))
    .where('key', '=', key)
    .where('status', '!=', 'sent')
    .execute();
}

/** Once a message holding a secret (a code, a link token) is sent, the row keeps no usable copy. */
export async function redactSecret(db: Db, key: string, secret: string): Promise<void> {
  const row = await db.selectFrom('notification_outbox').select('body').where('key', '=', key).executeTakeFirst();
  if (!row || !row.body.includes(secret)) return;
  await db.updateTable('notification_outbox').set({ body: row.body.split(secret).join('[redacted]') }).where('key', '=', key).execute();
}
