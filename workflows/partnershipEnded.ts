/** P11: either side ended a partnership (the API already ended the access); both are told, durably. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { messageActivity } from './shared/activityOptions';

const notify = proxyActivities<Pick<Activities, 'notifyPartnershipEnded'>>(messageActivity());

export async function partnershipEnded({ partnershipId }: { partnershipId: string }): Promise<void> {
  await notify.notifyPartnershipEnded({ partnershipId });
}
