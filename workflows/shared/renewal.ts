/**
 * Contract of the renewal process (P14), importable by the API, plus the pure timeline that says
 * which step of a term happens when. Pure functions only: the workflow runs them in its sandbox.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import {
  AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS,
  AUTO_RENEW_RETRY_INTERVAL_MS,
  RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS,
  RENEWAL_REMINDER_FREQUENCY_DAYS,
  RENEWAL_REMINDER_MAX_LEAD_MONTHS,
  RENEWAL_SUSPENSION_GRACE_MS,
  RENEWAL_TERMINATION_AFTER_SUSPENSION_MS,
} from '../../lib/rules';

export interface RenewalInput {
  productId: string;
  /** The due date of the term this run looks after (ISO 8601). */
  dueAt: string;
}

export type ReminderFrequency = 'off' | 'weekly' | 'every_two_weeks' | 'monthly';

/** What PostgreSQL says about the product's current term; re-read after every step and signal. */
export interface RenewalPlan {
  productStatus: 'active' | 'suspended' | 'terminated';
  /** Null once the product no longer renews. */
  dueAt: string | null;
  autoRenew: boolean;
  /** Renewal Warranty switched on (and allowed for the product). */
  warranty: boolean;
  reminders: { frequency: ReminderFrequency; startMonths: number };
  /** The invoice that bills this term, once issued. */
  invoice: { id: string; status: 'open' | 'paid' | 'void'; totalCents: number; paidCents: number } | null;
}

export type StepKind = 'issue-invoice' | 'reminder' | 'auto-renew-reminder' | 'charge' | 'due' | 'suspend' | 'final-notice' | 'terminate';

export interface RenewalStep {
  kind: StepKind;
  /** Epoch milliseconds. */
  at: number;
  /** Charges are numbered from 1: the idempotency key of each attempt. */
  attempt?: number;
}

export type RenewalState = 'scheduled' | 'awaiting_payment' | 'overdue' | 'suspended' | 'terminated';

export interface RenewalStatus {
  productId: string;
  dueAt: string;
  state: RenewalState;
  nextStep: { kind: StepKind; at: string } | null;
  chargeAttempts: number;
  lastDecline: string | null;
}

export interface RenewalResult {
  productId: string;
  outcome: 'terminated' | 'not_renewable';
}

/** Settings changed or a payment was recorded: the process re-reads PostgreSQL. */
export const renewalChangedSignal = defineSignal('renewalChanged');
export const renewalStatusQuery = defineQuery<RenewalStatus>('status');

export const renewalWorkflowId = (productId: string) => `renewal:${productId}`;
export const RENEWAL_SWEEP_SCHEDULE_ID = 'renewal-sweep';

/**
 * Issue 20: `missing` (the daily sweep) starts processes only for renewable products PostgreSQL
 * knows no run of, so it costs what changed; `full` (the weekly reconciliation, or on demand) asks
 * Temporal about every renewable product, and finds runs lost outside our knowledge.
 */
export type SweepMode = 'missing' | 'full';
export const RENEWAL_RECONCILIATION_SCHEDULE_ID = 'renewal-reconciliation';

export interface SweepInput {
  /** Default `missing`. */
  mode?: SweepMode;
  /** Resume after this product id (continue-as-new carries it). */
  afterId?: string;
  /** Sweep one organization's products only (support re-running it for a customer; tests). */
  organizationId?: string;
  counts?: SweepCounts;
}
export interface SweepCounts {
  scanned: number;
  started: number;
  alreadyRunning: number;
  failed: number;
}

/** The same day of the month `months` later (negative: earlier), clamped to the month's last day, in UTC. */
export function addMonths(at: number, months: number): number {
  const d = new Date(at);
  const day = d.getUTCDate();
  const target = new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.getTime();
}

const DAY = 86_400_000;
const ORDER: StepKind[] = ['issue-invoice', 'reminder', 'auto-renew-reminder', 'charge', 'due', 'suspend', 'final-notice', 'terminate'];

export const stepKey = (s: RenewalStep) => `${s.kind}@${new Date(s.at).toISOString()}`;

/**
 * Every step of the term ending at `dueAt`, in order. Nothing happens earlier than 2 months before
 * the due date: the invoice is issued then, and reminders start at most that early.
 */
export function renewalTimeline(plan: Pick<RenewalPlan, 'autoRenew' | 'warranty' | 'reminders'>, dueAt: string): RenewalStep[] {
  const due = Date.parse(dueAt);
  const steps: RenewalStep[] = [{ kind: 'issue-invoice', at: addMonths(due, -RENEWAL_REMINDER_MAX_LEAD_MONTHS) }];
  if (plan.autoRenew) {
    // The reminder and the first attempt share the moment: the email announces the debit.
    const first = due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS;
    steps.push({ kind: 'auto-renew-reminder', at: first });
    for (let at = first, attempt = 1; at < due; at += AUTO_RENEW_RETRY_INTERVAL_MS, attempt += 1) steps.push({ kind: 'charge', at, attempt });
  } else if (plan.reminders.frequency !== 'off') {
    const start = addMonths(due, -Math.min(Math.max(plan.reminders.startMonths, 1), RENEWAL_REMINDER_MAX_LEAD_MONTHS));
    const days = RENEWAL_REMINDER_FREQUENCY_DAYS[plan.reminders.frequency];
    for (let k = 0; ; k += 1) {
      const at = days === null ? addMonths(start, k) : start + k * days * DAY;
      if (at >= due) break;
      steps.push({ kind: 'reminder', at });
    }
  }
  steps.push({ kind: 'due', at: due });
  if (!plan.warranty) {
    const suspendAt = due + RENEWAL_SUSPENSION_GRACE_MS;
    const terminateAt = suspendAt + RENEWAL_TERMINATION_AFTER_SUSPENSION_MS;
    steps.push(
      { kind: 'suspend', at: suspendAt },
      { kind: 'final-notice', at: terminateAt - RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS },
      { kind: 'terminate', at: terminateAt },
    );
  }
  return steps.sort((a, b) => a.at - b.at || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
}

/** Notices are worth sending only near their moment; actions happen however late. */
export const isNotice = (kind: StepKind) => kind === 'reminder' || kind === 'auto-renew-reminder' || kind === 'final-notice';
