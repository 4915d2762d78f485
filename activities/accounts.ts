/** Side effects around account security (P7). */
import { enqueue } from '../db/repositories/outbox';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

export function createAccountActivities({ db }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  /** Tells the holder, unless they switched login alerts off or the account was unlocked meanwhile. */
  async function sendAccountLockedNotice({ accountId, lockedAt }: { accountId: string; lockedAt: string }): Promise<void> {
    const a = await db
      .selectFrom('accounts')
      .select(['login_email', 'recovery_email', 'display_name', 'login_alerts', 'locked_at'])
      .where('id', '=', accountId)
      .executeTakeFirst();
    if (!a || a.login_alerts === 'off' || a.locked_at?.toISOString() !== lockedAt) return;
    const key = `account:${accountId}:locked:${lockedAt}`;
    await enqueue(db, {
      key,
      channel: 'email',
      recipient: a.recovery_email ?? a.login_email,
      subject: 'Your account has been locked',
      body: [
        `Hello ${a.display_name},`,
        '',
        'Your account was locked after several failed logins in a row. If this was not you, someone may be trying your password.',
        'An administrator of your organization can unlock it, or you can ask for an identity check in the Manager.',
      ].join('\n'),
    });
    await deliverIfPossible(deliverNotification, key);
  }
  return { sendAccountLockedNotice };
}
