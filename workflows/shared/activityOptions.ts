/**
 * Activity options by kind of side effect (issue 16, item 4). Each workflow proxies only the
 * activities it calls, one proxy per kind, and adds the failure types that are final for it:
 *
 * - database: PostgreSQL (or a signal through the Temporal service) only. A call is short, so a
 *   hung one is cut after 30 seconds; retried quickly and without limit, because the database
 *   coming back is all it waits for.
 * - message: sends an email or an SMS (through the outbox, once per key), with the database work
 *   around it. A provider may be away for hours: retried without limit, backing off to 10 minutes.
 *   An address that can never work is recorded on its outbox row, not retried.
 * - charge: takes money at the payment provider under an idempotency key. Retried without limit:
 *   an attempt that timed out may have been executed, and only a later attempt under the same
 *   key can say so; giving up would void a reservation whose money may have been taken.
 * - refund: gives money back at the provider under an idempotency key. Never given up: it is
 *   owed, so it is retried for as long as it takes, backing off to 5 minutes.
 */
import type { ActivityOptions } from '@temporalio/workflow';

const database = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} satisfies ActivityOptions;

const message = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
} satisfies ActivityOptions;

const charge = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} satisfies ActivityOptions;

const refund = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
} satisfies ActivityOptions;

const withFinal = (base: ActivityOptions, nonRetryableErrorTypes: readonly string[]): ActivityOptions => ({
  ...base,
  retry: { ...base.retry, nonRetryableErrorTypes: [...nonRetryableErrorTypes] },
});

/** PostgreSQL-only activities; `final` lists the failure types not worth a retry. */
export const databaseActivity = (final: readonly string[] = []) => withFinal(database, final);
/** Activities that send an email or an SMS. */
export const messageActivity = (final: readonly string[] = []) => withFinal(message, final);
/** Activities that take money at the payment provider. */
export const chargeActivity = (final: readonly string[] = []) => withFinal(charge, final);
/** Activities that give money back at the payment provider. */
export const refundActivity = (final: readonly string[] = []) => withFinal(refund, final);
