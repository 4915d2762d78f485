/**
 * The daily renewal sweep (P14): makes sure every product with a due date has its renewal process.
 * It pages through products by id, starting processes with bounded concurrency; the business-key
 * workflow ID makes a re-run (or two sweeps at once) start nothing twice.
 */
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { recordRenewalRun, releaseRenewalRun, renewableProductsPage } from '../db/repositories/renewalRuns';
import { renewalWorkflowId, type RenewalInput, type SweepCounts, type SweepMode } from '../workflows/shared/renewal';
import type { ActivityDeps } from './deps';

/** Starts in flight at once: enough to hide round trips, few enough not to flood the server. */
export const SWEEP_CONCURRENCY = 16;

export function createRenewalSweepActivities({ db, temporal, clock }: ActivityDeps) {
  async function ensureRenewalPage({
    afterId,
    limit,
    organizationId,
    mode = 'missing',
  }: {
    afterId: string | null;
    limit: number;
    organizationId: string | null;
    mode?: SweepMode;
  }): Promise<SweepCounts & { lastId: string | null }> {
    if (!temporal) throw ApplicationFailure.nonRetryable('the worker has no Temporal client for the sweep', 'Misconfigured');
    // The daily sweep reads only the products without a known run; the weekly reconciliation reads all.
    const page = await renewableProductsPage(db, { afterId, limit, organizationId, missingOnly: mode === 'missing' });
    const counts: SweepCounts = { scanned: page.length, started: 0, alreadyRunning: 0, failed: 0 };
    let next = 0;
    const work = async () => {
      while (next < page.length) {
        const product = page[next++]!;
        await recordRenewalRun(db, product.id, clock.now());
        try {
          await temporal.client.workflow.start('renewal', {
            workflowId: renewalWorkflowId(product.id),
            taskQueue: temporal.taskQueue,
            args: [{ productId: product.id, dueAt: product.due_at!.toISOString() } satisfies RenewalInput],
            // Running: leave it. Closed (a product that stopped renewing and renews again): start anew.
            workflowIdConflictPolicy: 'FAIL',
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          });
          counts.started += 1;
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) counts.alreadyRunning += 1;
          else {
            counts.failed += 1;
            // Not started: tomorrow's sweep must see it missing again.
            await releaseRenewalRun(db, product.id).catch(() => undefined);
          }
        }
        Context.current().heartbeat(next);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, page.length) }, work));
    return { ...counts, lastId: page.at(-1)?.id ?? null };
  }

  async function recordSweep({
    counts,
    organizationId,
    mode = 'missing',
  }: {
    counts: SweepCounts;
    organizationId: string | null;
    mode?: SweepMode;
  }): Promise<void> {
    await audit(db, {
      actor_type: 'system',
      actor_id: 'renewal-sweep',
      action: 'renewal.sweep_completed',
      subject_type: organizationId ? 'organization' : 'renewal_sweep',
      subject_id: organizationId ?? 'all',
      decision: null,
      details: { ...counts, mode },
    });
  }

  return { ensureRenewalPage, recordSweep };
}
