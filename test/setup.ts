// Mocha root hooks: stop every shared server the tests started, so the run leaves no process behind.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { teardownAll } from './support/fixtures';

/** Everything the SDK logged during the run (workers, workflows, activities), for privacy checks. */
export const runtimeLog: LogEntry[] = [];

// Workers log state changes at INFO: tests record them but print only what went wrong.
Runtime.install({
  logger: new DefaultLogger('INFO', (entry) => {
    runtimeLog.push(entry);
    if (entry.level !== 'WARN' && entry.level !== 'ERROR') return;
    // One line each: many tests provoke failures on purpose (undeliverable messages, refused decisions).
    const meta = (entry.meta ?? {}) as { activityType?: string; workflowType?: string; error?: { message?: string } };
    console.error(`[${entry.level}] ${entry.message} ${meta.activityType ?? meta.workflowType ?? ''} ${meta.error?.message ?? ''}`.trimEnd());
  }),
});

process.env.TEMPORAL_PROVISION_NO_DOWNLOAD ??= '1';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await teardownAll();
  },
};
