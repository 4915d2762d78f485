import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { up } from '../../db/migrations/20261205120000_outbox_recipients_redacted';
import { database } from '../support/fixtures';

// Rows settled before the outbox redacted recipients lose them when the migration runs; pending ones keep theirs.
describe('migration 20261205120000_outbox_recipients_redacted (PostgreSQL)', () => {
  it('redacts the recipient of sent and failed rows, and in the error that quotes it, not of pending rows', async () => {
    const { db } = await database();
    const phone = `+4179${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const row = (status: 'sent' | 'failed' | 'pending', last_error: string | null = null) => ({
      key: `test:${randomUUID()}`,
      channel: 'sms' as const,
      recipient: phone,
      subject: null,
      body: 'code',
      status,
      last_error,
    });
    const rows = [row('sent'), row('failed', `21211: The 'To' number ${phone} is not a valid phone number`), row('pending', 'timeout')];
    await db.insertInto('notification_outbox').values(rows).execute();
    await up(db);
    const after = await db
      .selectFrom('notification_outbox')
      .select(['status', 'recipient', 'last_error'])
      .where(
        'key',
        'in',
        rows.map((r) => r.key),
      )
      .orderBy('status')
      .execute();
    assert.deepEqual(after, [
      { status: 'failed', recipient: '[redacted]', last_error: "21211: The 'To' number [redacted] is not a valid phone number" },
      { status: 'pending', recipient: phone, last_error: 'timeout' },
      { status: 'sent', recipient: '[redacted]', last_error: null },
    ]);
  });
});
