import { sql, type Selectable } from 'kysely';
import { OUTBOX_RECIPIENT_RETENTION_MS } from '../../lib/rules';
import type { Db } from '../database';
import type { NotificationChannel, NotificationOutboxTable } from '../tables/notificationOutbox.table';

export type OutboxMessage = Selectable<NotificationOutboxTable>;

/** Inserts the message unless its key exists; returns the row either way (first write wins). */
export async function enqueue(
  db: Db,
  msg: { key: string; channel: NotificationChannel; recipient: string; subject?: string | null; body: string; qr?: string | null },
): Promise<OutboxMessage> {
  await db
    .insertInto('notification_outbox')
    .values({
      key: msg.key,
      channel: msg.channel,
      recipient: msg.recipient,
      subject: msg.subject ?? null,
      body: msg.body,
      qr: msg.qr ?? null,
      last_error: null,
      provider_message_id: null,
      sent_at: null,
    })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return db.selectFrom('notification_outbox').selectAll().where('key', '=', msg.key).executeTakeFirstOrThrow();
}

/**
 * Messages a step queued but did not get out: a step whose transaction committed and whose
 * delivery then failed finds, on its retry, nothing left to decide; it delivers these instead.
 */
export async function pendingKeys(db: Db, prefix: string): Promise<string[]> {
  const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db.selectFrom('notification_outbox').select('key').where('key', 'like', like).where('status', '=', 'pending').orderBy('id').execute();
  return rows.map((r) => r.key);
}

export async function findByKey(db: Db, key: string): Promise<OutboxMessage | undefined> {
  return db.selectFrom('notification_outbox').selectAll().where('key', '=', key).executeTakeFirst();
}

/**
 * Secrets in a queued message (issue 14, item 5). A code or link token is minted once per outbox
 * key and written into the body between two private-use marks: the message goes out with the
 * secret (marks removed), and the statement that records it as sent, or as failed for good,
 * replaces every marked secret with `[redacted]`. So whichever attempt sends it, a retry re-sends
 * the same secret, and none stays readable once the message is out. The marks (U+E000, U+E001)
 * never occur in the text we write. The same holds for the link an email shows as a QR code (`qr`):
 * drawn from the marked secret at send time, redacted with the body.
 */
const OPEN = '\ue000';
const CLOSE = '\ue001';
const MARKED_SECRET = `${OPEN}[^${CLOSE}]*${CLOSE}`;
export const REDACTED = '[redacted]';

/** A secret as written into an outbox body. */
export const markSecret = (secret: string) => `${OPEN}${secret}${CLOSE}`;
/** The body as the recipient gets it: the secrets in clear. */
export const bodyToSend = (body: string) => body.replaceAll(OPEN, '').replaceAll(CLOSE, '');
/** The body as it stays once sent: no secret left. */
export const redactSecrets = (body: string) => body.replace(new RegExp(MARKED_SECRET, 'g'), REDACTED);

// Issue 14, item 6: a settled row keeps no phone number or address. No sweep erases recipients later: a retention above 0 (lib/rules.ts) must come with one.
const recipientRetention: 0 = OUTBOX_RECIPIENT_RETENTION_MS;

export async function recordAttempt(
  db: Db,
  key: string,
  outcome: { sent: true; providerMessageId: string } | { sent: false; error: string; permanent: boolean },
): Promise<void> {
  // Nothing will send it again once sent or failed for good: its secrets and its recipient go in
  // the same statement.
  const settled = outcome.sent || outcome.permanent;
  await db
    .updateTable('notification_outbox')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      ...(settled
        ? {
            body: sql<string>`regexp_replace(body, ${MARKED_SECRET}, ${REDACTED}, 'g')`,
            qr: sql<string | null>`regexp_replace(qr, ${MARKED_SECRET}, ${REDACTED}, 'g')`,
          }
        : {}),
      ...(settled && recipientRetention === 0 ? { recipient: REDACTED } : {}),
      ...(outcome.sent
        ? { status: 'sent' as const, provider_message_id: outcome.providerMessageId, sent_at: sql<Date>`now()`, last_error: null }
        : {
            status: outcome.permanent ? ('failed' as const) : ('pending' as const),
            // A provider's refusal may quote the number or address (Twilio's 21211 does).
            last_error: outcome.permanent ? sql<string>`replace(${outcome.error.slice(0, 500)}, recipient, ${REDACTED})` : outcome.error.slice(0, 500),
          }),
    }))
    .where('key', '=', key)
    .where('status', '!=', 'sent')
    .execute();
}

/**
 * Once a message holding a secret (a code, a link token) is sent, the row keeps no usable copy.
 * For messages whose secret is not marked (`markSecret`): only the attempt that minted it knows it.
 */
export async function redactSecret(db: Db, key: string, secret: string): Promise<void> {
  const row = await db.selectFrom('notification_outbox').select('body').where('key', '=', key).executeTakeFirst();
  if (!row || !row.body.includes(secret)) return;
  await db
    .updateTable('notification_outbox')
    .set({ body: row.body.split(secret).join('[redacted]') })
    .where('key', '=', key)
    .execute();
}
