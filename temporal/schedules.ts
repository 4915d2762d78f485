/**
 * Temporal Schedules the system owns, created at worker start-up. Idempotent: an existing schedule
 * is updated to the definition in code, so a changed time or task queue takes effect on deploy.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
import { API_TOKEN_SWEEP_SCHEDULE_ID } from '../workflows/shared/recovery';
import { RENEWAL_RECONCILIATION_SCHEDULE_ID, RENEWAL_SWEEP_SCHEDULE_ID, type SweepInput } from '../workflows/shared/renewal';

export function renewalSweepSchedule(taskQueue: string, timeZone: string): ScheduleOptions {
  return {
    scheduleId: RENEWAL_SWEEP_SCHEDULE_ID,
    // Early morning, before customers' working day, every day.
    spec: { calendars: [{ hour: 3, minute: 15, comment: 'daily renewal sweep' }], timezone: timeZone },
    action: { type: 'startWorkflow', workflowType: 'renewalSweep', taskQueue, workflowId: 'renewal-sweep', args: [{} satisfies SweepInput] },
    // A sweep still running when the next is due makes the next one pointless; a missed day is caught up once.
    policies: { overlap: 'SKIP', catchupWindow: '1 day' },
  };
}

/**
 * Issue 20: the daily sweep trusts PostgreSQL's registry of running renewals; once a week, before
 * that day's sweep, every renewable product is checked against Temporal itself, so a run lost
 * outside our knowledge (terminated by hand, a namespace restored) is back within a week.
 */
export function renewalReconciliationSchedule(taskQueue: string, timeZone: string): ScheduleOptions {
  return {
    scheduleId: RENEWAL_RECONCILIATION_SCHEDULE_ID,
    spec: { calendars: [{ dayOfWeek: 'SUNDAY', hour: 2, minute: 15, comment: 'weekly renewal reconciliation' }], timezone: timeZone },
    action: {
      type: 'startWorkflow',
      workflowType: 'renewalSweep',
      taskQueue,
      workflowId: 'renewal-reconciliation',
      args: [{ mode: 'full' } satisfies SweepInput],
    },
    policies: { overlap: 'SKIP', catchupWindow: '1 day' },
  };
}

/** P8: API tokens unused for a year are deactivated; checked daily, after the renewal sweep. */
export function apiTokenSweepSchedule(taskQueue: string, timeZone: string): ScheduleOptions {
  return {
    scheduleId: API_TOKEN_SWEEP_SCHEDULE_ID,
    spec: { calendars: [{ hour: 4, minute: 30, comment: 'daily API token sweep' }], timezone: timeZone },
    action: { type: 'startWorkflow', workflowType: 'apiTokenSweep', taskQueue, workflowId: 'api-token-sweep', args: [] },
    policies: { overlap: 'SKIP', catchupWindow: '1 day' },
  };
}

export async function ensureSchedule(client: Client, options: ScheduleOptions): Promise<'created' | 'updated' | 'recreated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
    return 'updated';
  } catch {
    // The stored schedule cannot be read (its arguments sealed with a key no longer configured):
    // it is fully defined here, so replace it rather than fail the worker's start.
    await handle.delete();
    await client.schedule.create(options);
    return 'recreated';
  }
}
