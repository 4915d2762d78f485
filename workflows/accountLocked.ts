/** P7: an account was locked after too many failed logins; its holder is told (when alerts are on), durably. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { messageActivity } from './shared/activityOptions';

const notify = proxyActivities<Pick<Activities, 'sendAccountLockedNotice'>>(messageActivity());

export async function accountLocked(input: { accountId: string; lockedAt: string }): Promise<void> {
  await notify.sendAccountLockedNotice(input);
}
