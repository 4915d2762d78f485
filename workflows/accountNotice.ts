/** Tells the holder, durably and once, about a change to the account's security (issue 5). */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { AccountNoticeInput } from './shared/recovery';

const acts = proxyActivities<activities.Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes' } });

export async function accountNotice(input: AccountNoticeInput): Promise<void> {
  await acts.sendAccountNotice(input);
}
