/**
 * P14 Renewal cycles [seeds 001, 002, 003]: one long-running process per product, one run per term
 * (continue-as-new when the term is renewed). Before the due date: the invoice is issued 2 months
 * ahead, reminders go at the customer's frequency, or with automatic renewal a reminder and the first
 * payment attempt 14 days ahead, then retries. Unpaid at the due date: Renewal Warranty renews anyway
 * and leaves the invoice due; otherwise the product is blocked after a grace period and terminated
 * later. A payment at any point renews it (and lifts a block) at once.
 *
 * The automatic charge is a payment process of its own (workflows/payment.ts), a child of the run:
 * reserved under the invoice's lock like any other payment, so it never crosses a customer's.
 *
 * PostgreSQL is the truth: every step's activity re-reads the product, its invoice and the
 * preferences, and refuses to remind or charge for an invoice already paid, so a reminder never
 * crosses a payment even before the payment's signal arrives.
 */
import { condition, continueAsNew, executeChild, patched, proxyActivities, setHandler, setWorkflowOptions, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RENEWAL_STALE_NOTICE_MS } from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import { paymentWorkflowId, type PaymentInput, type PaymentOutcome } from './shared/payment';
import {
  isNotice,
  renewalChangedSignal,
  renewalStatusQuery,
  renewalTimeline,
  stepKey,
  type RenewalInput,
  type RenewalPlan,
  type RenewalResult,
  type RenewalState,
  type RenewalStep,
} from './shared/renewal';

const finalFailures = [FailureType.NotFound];
const db = proxyActivities<Pick<Activities, 'loadRenewalPlan'>>(databaseActivity(finalFailures));
const notify = proxyActivities<Pick<Activities, 'runRenewalStep' | 'recordRenewalCharge' | 'completeRenewal'>>(messageActivity(finalFailures));

// Inside the workflow sandbox `Date` is the time of the current workflow task, identical on replay
// (and skipped along with the test server's clock). Due dates are absolute, so the process needs it.
const now = () => new Date().getTime();

export async function renewal({ productId, dueAt }: RenewalInput): Promise<RenewalResult> {
  const due = Date.parse(dueAt);
  const done = new Set<string>();
  let changed = false;
  let next: RenewalStep | null = null;
  let chargeAttempts = 0;
  let lastDecline: string | null = null;
  // The latest plan, for the status query (the loop's own variable narrows better).
  let latest: RenewalPlan | undefined;

  const state = (): RenewalState => {
    if (!latest || latest.productStatus === 'active') {
      if (now() >= due) return 'overdue';
      return latest?.invoice?.status === 'open' ? 'awaiting_payment' : 'scheduled';
    }
    return latest.productStatus;
  };
  setHandler(renewalChangedSignal, () => void (changed = true));
  setHandler(renewalStatusQuery, () => ({
    productId,
    dueAt,
    state: state(),
    nextStep: next ? { kind: next.kind, at: new Date(next.at).toISOString() } : null,
    chargeAttempts,
    lastDecline,
  }));

  let plan: RenewalPlan = await db.loadRenewalPlan({ productId, dueAt });
  for (;;) {
    latest = plan;
    if (plan.productStatus === 'terminated' || plan.dueAt === null) {
      next = null;
      return { productId, outcome: plan.productStatus === 'terminated' ? 'terminated' : 'not_renewable' };
    }
    // Renewed (paid, paid ahead, or under warranty): the next term is a new run with a short history.
    if (Date.parse(plan.dueAt) !== due) return continueAsNew<typeof renewal>({ productId, dueAt: plan.dueAt });
    if (plan.invoice?.status === 'paid') {
      plan = await notify.completeRenewal({ productId, dueAt });
      continue;
    }
    // A long term with many setting changes: start afresh; outbox keys and charge keys make repeats harmless.
    if (workflowInfo().continueAsNewSuggested) return continueAsNew<typeof renewal>({ productId, dueAt });

    const pending: RenewalStep[] = renewalTimeline(plan, dueAt).filter((s) => !done.has(stepKey(s)));
    next = pending[0] ?? null;
    const wait = next ? next.at - now() : undefined;
    if (changed || wait === undefined || wait > 0) {
      const woke = changed || (await condition(() => changed, wait));
      if (woke) {
        changed = false;
        plan = await db.loadRenewalPlan({ productId, dueAt });
        continue;
      }
    }
    const step: RenewalStep = next!;
    done.add(stepKey(step));
    // Late (the process started after the moment, or a retry fell behind): send no stale notice, and
    // only the latest of several overdue reminders or charge attempts.
    const t = now();
    if (isNotice(step.kind) && t - step.at > RENEWAL_STALE_NOTICE_MS) continue;
    if (pending.some((s) => s !== step && s.kind === step.kind && s.at <= t)) continue;

    const nextCharge = pending.find((s) => s.kind === 'charge' && s.at > step.at);
    if (step.kind === 'charge') chargeAttempts = step.attempt ?? chargeAttempts + 1;
    const stepInput = {
      productId,
      dueAt,
      step: { kind: step.kind, at: new Date(step.at).toISOString(), attempt: step.attempt },
      nextChargeAt: nextCharge ? new Date(nextCharge.at).toISOString() : null,
    };
    let outcome: { plan: RenewalPlan; declined?: string };
    // Runs recorded before payments became processes charged inside runRenewalStep.
    if (step.kind === 'charge' && patched('renewal-charge-as-payment-process')) {
      const paymentId = uuid4();
      const paid = await executeChild<(input: PaymentInput) => Promise<PaymentOutcome>>('payment', {
        workflowId: paymentWorkflowId(paymentId),
        args: [{ paymentId, request: { kind: 'renewal-charge', productId, dueAt, attempt: step.attempt ?? chargeAttempts } }],
        // A payment in flight finishes even if this run ends first.
        parentClosePolicy: 'ABANDON',
      });
      outcome = await notify.recordRenewalCharge({ ...stepInput, payment: paid });
    } else {
      outcome = await notify.runRenewalStep(stepInput);
    }
    if (outcome.declined) lastDecline = outcome.declined;
    plan = outcome.plan;
  }
}

// A renewal run lives as long as its product: on a versioned worker (temporal/deployments.ts) it
// follows the current build at its next task, its changes going behind patched(); other processes
// stay pinned to their build. An unversioned worker (npm start) has a deployment version without a
// deployment name, and must declare no behavior: the server refuses the task of one that does.
setWorkflowOptions(() => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}), renewal);
