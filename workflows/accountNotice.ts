/** Tells the holder, durably and once, about a change to the account's security (issue 5). */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { messageActivity } from './shared/activityOptions';
import type { AccountNoticeInput } from './shared/recovery';

const notify = proxyActivities<Pick<Activities, 'sendAccountNotice'>>(messageActivity());

export async function accountNotice(input: AccountNoticeInput): Promise<void> {
  await notify.sendAccountNotice(input);
}
