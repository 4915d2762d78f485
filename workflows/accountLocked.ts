/** P7: an account was locked after too many failed logins; its holder is told (when alerts are on), durably. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';

const acts = proxyActivities<activities.Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes' } });

export async function accountLocked(input: { accountId: string; lockedAt: string }): Promise<void> {
  await acts.sendAccountLockedNotice(input);
}
