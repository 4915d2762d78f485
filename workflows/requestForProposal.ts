/**
 * P11 Request for proposal [seed 002]: the excerpt goes to the partners who opted in, the author gets
 * a link that cancels it at once; it closes by itself after 30 days [inferred]. Partners open the full
 * request, with the author's contact, only while it is open (the API checks the row).
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { RFP_OPEN_MS } from '../lib/rules';
import { rfpCancelledSignal, type RfpInput, type RfpResult } from './shared/rfp';

const db = proxyActivities<Pick<Activities, 'closeRequestForProposal'>>(databaseActivity());
const notify = proxyActivities<Pick<Activities, 'publishRequestForProposal'>>({ ...messageActivity(), startToCloseTimeout: '2 minutes' });

export async function requestForProposal({ rfpId }: RfpInput): Promise<RfpResult> {
  let cancelled = false;
  setHandler(rfpCancelledSignal, () => void (cancelled = true));
  await notify.publishRequestForProposal({ rfpId });
  if (await condition(() => cancelled, RFP_OPEN_MS)) return { rfpId, status: 'cancelled' };
  await db.closeRequestForProposal({ rfpId });
  return { rfpId, status: 'closed' };
}
