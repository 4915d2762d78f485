/**
 * Sends outbox messages. Idempotent per outbox key: a message already sent is not sent again, a
 * message that failed for good stays failed. Secrets marked in a body go out in clear and are
 * redacted when the message is recorded as sent or failed for good (db/repositories/outbox.ts). Transport errors are retried by Temporal with backoff;
 * permanent ones are recorded on the row and raised as non-retryable.
 * Failure messages name the key and the provider code only: addresses and numbers stay in the row,
 * until the statement that records it sent or failed for good erases them (issue 14, item 6).
 */
import { ApplicationFailure } from '@temporalio/common';
import { bodyToSend, findByKey, recordAttempt } from '../db/repositories/outbox';
import { htmlOfText, isPermanentMailError, type OutgoingEmail } from '../lib/mailer';
import { qrPng } from '../lib/qr';
import { E164 } from '../lib/phone';
import { isPermanentSmsError } from '../lib/sms';
import { FailureType } from '../workflows/shared/failures';
import type { ActivityDeps } from './deps';

const EMAIL_SHAPE = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** Long enough for PostgreSQL to restart, short of the 30 s the shortest sending activity may run. */
const SENT_MARK_RETRY_FOR_MS = 20_000;

export function createNotificationActivities({ db, mailer, sms }: ActivityDeps) {
  async function deliverNotification({ key }: { key: string }): Promise<{ status: 'sent' }> {
    const msg = await findByKey(db, key);
    if (!msg) throw ApplicationFailure.nonRetryable(`no outbox message ${key}`, FailureType.NotFound);
    if (msg.status === 'sent') return { status: 'sent' };
    if (msg.status === 'failed') {
      throw ApplicationFailure.nonRetryable(`outbox message ${key} failed permanently`, FailureType.PermanentDeliveryFailure);
    }

    const malformed = msg.channel === 'email' ? !EMAIL_SHAPE.test(msg.recipient) : !E164.test(msg.recipient);
    if (malformed) {
      await recordAttempt(db, key, { sent: false, error: `malformed ${msg.channel} recipient`, permanent: true });
      throw ApplicationFailure.nonRetryable(`outbox message ${key}: malformed recipient`, FailureType.PermanentDeliveryFailure);
    }

    let providerMessageId: string;
    try {
      ({ providerMessageId } =
        msg.channel === 'email'
          ? await mailer.send({
              to: msg.recipient,
              subject: msg.subject ?? '',
              ...(await emailParts(msg.body, msg.qr)),
              messageId: `<${encodeURIComponent(key)}@backoffice>`,
            })
          : await sms.send({ to: msg.recipient, body: bodyToSend(msg.body) }));
    } catch (err) {
      const permanent = msg.channel === 'email' ? isPermanentMailError(err) : isPermanentSmsError(err);
      const e = err as { code?: unknown; responseCode?: unknown; status?: unknown; message?: string };
      const summary = `${msg.channel} ${permanent ? 'rejected' : 'failed'} (code ${String(e.responseCode ?? e.code ?? e.status ?? 'n/a')})`;
      await recordAttempt(db, key, { sent: false, error: `${summary}: ${e.message ?? String(err)}`, permanent });
      if (permanent) throw ApplicationFailure.nonRetryable(`outbox message ${key}: ${summary}`, FailureType.PermanentDeliveryFailure);
      throw ApplicationFailure.retryable(`outbox message ${key}: ${summary}`, 'TransientDeliveryFailure');
    }
    await recordSent(key, providerMessageId);
    return { status: 'sent' };
  }

  /**
   * The provider has the message: its sent mark is retried here for a while when PostgreSQL does not
   * take it. Failing at once would also record the sent message as a failed attempt and have Temporal
   * send it again, so a PostgreSQL outage between the two steps duplicated the message (issue 15);
   * only a worker dying in this window still sends twice.
   */
  async function recordSent(key: string, providerMessageId: string): Promise<void> {
    const giveUpAt = Date.now() + SENT_MARK_RETRY_FOR_MS;
    for (;;) {
      try {
        return await recordAttempt(db, key, { sent: true, providerMessageId });
      } catch (err) {
        if (Date.now() >= giveUpAt) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  return { deliverNotification };
}

/**
 * Text only, or (issue 17, item 10) text and HTML with the QR code of the row's link inline. The
 * code is drawn here from the secret still marked in the row, never stored as an image: every
 * attempt draws the same code from the same link, and none is left once the row is redacted.
 */
async function emailParts(body: string, qr: string | null): Promise<Pick<OutgoingEmail, 'text' | 'html' | 'inlineImages'>> {
  const text = bodyToSend(body);
  if (qr === null) return { text };
  const link = bodyToSend(qr);
  const cid = 'qr@backoffice';
  return { text, html: htmlOfText(text, { link, cid }), inlineImages: [{ cid, filename: 'qr.png', contentType: 'image/png', content: await qrPng(link) }] };
}

/**
 * Sends an outbox message for a process that goes on whatever happens to the message: false when it
 * can never be delivered (the row records why); transient failures still throw, to be retried.
 */
export async function deliverIfPossible(deliverNotification: (input: { key: string }) => Promise<unknown>, key: string): Promise<boolean> {
  try {
    await deliverNotification({ key });
    return true;
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === FailureType.PermanentDeliveryFailure) return false;
    throw err;
  }
}
