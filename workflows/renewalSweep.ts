/**
 * P14 scheduler: run daily by the `renewal-sweep` Temporal Schedule (mode `missing`: the renewable
 * products without a known run) and weekly by `renewal-reconciliation` (mode `full`: every one).
 * Ensures each one's `renewal:<productId>` process runs; returns (and audits) the counts.
 * Continues as new every 50 pages so its history stays small whatever the number of products.
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { databaseActivity } from './shared/activityOptions';
import type { SweepCounts, SweepInput } from './shared/renewal';

const PAGE_SIZE = 500;
const PAGES_PER_RUN = 50;

// One page starts up to 500 processes: long, with a heartbeat per product, and bounded so that a
// broken page fails the day's sweep (the next day's sweep starts over) instead of retrying forever.
const sweep = proxyActivities<Pick<Activities, 'ensureRenewalPage'>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10 },
});
const db = proxyActivities<Pick<Activities, 'recordSweep'>>(databaseActivity());

export async function renewalSweep(input: SweepInput = {}): Promise<SweepCounts> {
  const counts: SweepCounts = { scanned: 0, started: 0, alreadyRunning: 0, failed: 0, ...input.counts };
  let afterId = input.afterId ?? null;
  for (let pages = 0; ; pages += 1) {
    if (pages === PAGES_PER_RUN || workflowInfo().continueAsNewSuggested)
      return continueAsNew<typeof renewalSweep>({ ...input, afterId: afterId ?? undefined, counts });
    const page = await sweep.ensureRenewalPage({ afterId, limit: PAGE_SIZE, organizationId: input.organizationId ?? null, mode: input.mode ?? 'missing' });
    counts.scanned += page.scanned;
    counts.started += page.started;
    counts.alreadyRunning += page.alreadyRunning;
    counts.failed += page.failed;
    if (page.lastId === null || page.scanned < PAGE_SIZE) break;
    afterId = page.lastId;
  }
  await db.recordSweep({ counts, organizationId: input.organizationId ?? null, mode: input.mode ?? 'missing' });
  return counts;
}
