/**
 * Sends the workflow commands a transaction committed (db/repositories/workflowCommands.ts,
 * issue 15). Calling Temporal after a commit is a dual write: if Temporal is unreachable then, or
 * the API dies, the change stands and its follow-up (a security notice, the signal a process waits
 * for) is lost, and a retry of the request finds nothing left to do. The API sends the commands
 * right after its commit; the worker's relay sends any left behind, so they survive both.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { isDependencyDown } from '../api/dependencyErrors';
import type { Database } from '../db/database';
import { claimDueCommands, completeCommand, deferCommands, type WorkflowCommandRow } from '../db/repositories/workflowCommands';
import type { Logger } from '../lib/logger';

const errorText = (err: unknown) => `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;

/** Idempotent: a start that finds its workflow (running or closed) is done; so is a signal to a process that has ended, as nothing waits for it. */
export async function sendWorkflowCommand(client: Client, row: WorkflowCommandRow): Promise<void> {
  try {
    if (row.kind === 'start') {
      // REJECT_DUPLICATE: a start sent again after its run closed must not run it twice.
      await client.workflow.start(row.workflow_type!, {
        workflowId: row.workflow_id,
        taskQueue: row.task_queue!,
        args: row.args,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } else {
      await client.workflow.getHandle(row.workflow_id).signal(row.signal_name!, ...row.args);
    }
  } catch (err) {
    if (row.kind === 'start' && err instanceof WorkflowExecutionAlreadyStartedError) return;
    if (row.kind === 'signal' && err instanceof WorkflowNotFoundError) return;
    throw err;
  }
}

/**
 * The writer, right after its commit: sends in order and deletes each row sent. On the first
 * failure the rest are handed to the relay at once and the error goes on (Temporal unreachable
 * answers 503 as before; the change and its follow-ups are both kept).
 */
export async function sendCommitted(deps: { client: Client; db: Kysely<Database> }, rows: WorkflowCommandRow[]): Promise<void> {
  for (const [i, row] of rows.entries()) {
    try {
      await sendWorkflowCommand(deps.client, row);
    } catch (err) {
      // If PostgreSQL refuses too, the writer's lease runs out and the relay sends them anyway.
      await deferCommands(
        deps.db,
        rows.slice(i).map((r) => r.id),
        { error: errorText(err), retryInMs: 0 },
      ).catch(() => undefined);
      throw err;
    }
    // A row left after a send is sent again by the relay: idempotent, so not worth failing the request.
    await completeCommand(deps.db, row.id).catch(() => undefined);
  }
}

/**
 * The worker's relay: a plain loop rather than a scheduled workflow, since it only calls Temporal's
 * client idempotently, and a schedule firing every few seconds would leave a workflow history per
 * tick. Every worker process runs one; SKIP LOCKED leases keep them off each other's rows.
 */
export function startWorkflowCommandRelay(deps: { client: Client; db: Kysely<Database>; log: Logger; intervalMs?: number; batch?: number; leaseMs?: number }) {
  const { client, db, log, intervalMs = 2_000, batch = 20, leaseMs = 60_000 } = deps;
  const backoffMs = (attempts: number) => Math.min(1_000 * 2 ** Math.min(attempts, 6), 60_000);

  /** One pass; returns how many commands were sent. */
  async function tick(): Promise<number> {
    const rows = await claimDueCommands(db, { limit: batch, leaseMs });
    let sent = 0;
    for (const [i, row] of rows.entries()) {
      try {
        await sendWorkflowCommand(client, row);
      } catch (err) {
        // Temporal unreachable: the rest of the batch would fail the same way, after the same wait.
        const ids = isDependencyDown(err) ? rows.slice(i).map((r) => r.id) : [row.id];
        log.warn('workflow command not sent', { workflowId: row.workflow_id, kind: row.kind, attempts: row.attempts, error: (err as Error)?.name });
        await deferCommands(db, ids, { error: errorText(err), retryInMs: backoffMs(row.attempts) });
        if (ids.length > 1) break;
        continue;
      }
      await completeCommand(db, row.id);
      sent += 1;
    }
    if (sent) log.info('workflow commands sent by the relay', { sent });
    return sent;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = tick()
      .catch((err: Error & { code?: unknown }) => log.warn('workflow command relay pass failed', { error: err.name, code: err.code }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  loop();
  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
