/**
 * P5 `login-address-recovery:<accountId>`: the hosted mailbox used as login is gone. The holder is
 * told at once by email (recovery address) and SMS (the recovery username), and reminded after 3
 * and 14 days [inferred] until a new login address is confirmed. The state itself lives in
 * PostgreSQL (the username works until then), so this process ends after the last reminder.
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LOGIN_ADDRESS_RECOVERY_REMINDERS_MS } from '../lib/rules';
import { messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import { loginAddressRestoredSignal, type LoginAddressRecoveryInput } from './shared/recovery';

const notify = proxyActivities<Pick<Activities, 'sendLoginAddressLostNotices' | 'remindLoginAddressLost'>>(messageActivity([FailureType.NotFound]));

export async function loginAddressRecovery({ accountId }: LoginAddressRecoveryInput): Promise<{ restored: boolean; reminders: number }> {
  let restored = false;
  setHandler(loginAddressRestoredSignal, () => void (restored = true));
  await notify.sendLoginAddressLostNotices({ accountId });
  let elapsed = 0;
  let reminders = 0;
  for (const at of LOGIN_ADDRESS_RECOVERY_REMINDERS_MS) {
    if (await condition(() => restored, at - elapsed)) break;
    elapsed = at;
    // The activity re-reads the account: a restoration the signal has not reached yet sends nothing.
    if (await notify.remindLoginAddressLost({ accountId, reminder: reminders + 1 })) reminders += 1;
    else restored = true;
  }
  return { restored, reminders };
}
