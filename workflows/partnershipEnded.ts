/** P11: either side ended a partnership (the API already ended the access); both are told, durably. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';

const acts = proxyActivities<activities.Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes' } });

export async function partnershipEnded({ partnershipId }: { partnershipId: string }): Promise<void> {
  await acts.notifyPartnershipEnded({ partnershipId });
}
