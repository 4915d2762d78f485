import type { ColumnType, Generated } from 'kysely';

export type NotificationChannel = 'email' | 'sms';
export type NotificationStatus = 'pending' | 'sent' | 'failed';

/** One row per message. The unique business key makes enqueueing and sending idempotent. */
export interface NotificationOutboxTable {
  id: Generated<string>;
  key: string;
  channel: NotificationChannel;
  recipient: string;
  subject: string | null;
  body: string;
  /** Email only: a link to draw as an inline QR code at send time, its secret marked as in the body (issue 17, item 10). */
  qr: ColumnType<string | null, string | null | undefined, string | null>;
  status: ColumnType<NotificationStatus, NotificationStatus | undefined, NotificationStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  provider_message_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  sent_at: Date | null;
}
