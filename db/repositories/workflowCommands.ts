import { sql, type Selectable } from 'kysely';
import type { Db } from '../database';
import type { WorkflowCommandsTable } from '../tables/workflowCommands.table';

/**
 * A workflow start or signal written in the transaction whose change calls for it (issue 15), so
 * the change and its follow-up commit together. A start's workflow id names the one event it is
 * for: a second send of the same start is a no-op. A signal may arrive twice; its handler must
 * tolerate that.
 */
export type WorkflowCommand =
  | { kind: 'start'; workflowType: string; workflowId: string; taskQueue: string; args: unknown[] }
  | { kind: 'signal'; workflowId: string; signal: string; args?: unknown[] };

export type WorkflowCommandRow = Selectable<WorkflowCommandsTable>;

/** How long the writer keeps a new command to itself before the relay may send it. */
export const WRITER_LEASE_MS = 30_000;

export async function queueWorkflowCommands(db: Db, commands: WorkflowCommand[]): Promise<WorkflowCommandRow[]> {
  if (!commands.length) return [];
  return db
    .insertInto('workflow_commands')
    .values(
      commands.map((c) => ({
        kind: c.kind,
        workflow_id: c.workflowId,
        workflow_type: c.kind === 'start' ? c.workflowType : null,
        task_queue: c.kind === 'start' ? c.taskQueue : null,
        signal_name: c.kind === 'signal' ? c.signal : null,
        args: JSON.stringify(c.args ?? []),
        next_attempt_at: sql<Date>`now() + ${`${WRITER_LEASE_MS} milliseconds`}::interval`,
        last_error: null,
      })),
    )
    .returningAll()
    .execute();
}

/**
 * Due commands, leased for `leaseMs` to the caller (SKIP LOCKED: two relays never take the same
 * row at once; a relay that dies loses its lease, and the row is sent again).
 */
export async function claimDueCommands(db: Db, opts: { limit: number; leaseMs: number }): Promise<WorkflowCommandRow[]> {
  return db
    .updateTable('workflow_commands')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: sql<Date>`now() + ${`${opts.leaseMs} milliseconds`}::interval` }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('workflow_commands')
        .select('id')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('id')
        .limit(opts.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

/** Temporal has it. */
export async function completeCommand(db: Db, id: string): Promise<void> {
  await db.deleteFrom('workflow_commands').where('id', '=', id).execute();
}

/** Not sent: due again in `retryInMs`. */
export async function deferCommands(db: Db, ids: string[], opts: { error: string; retryInMs: number }): Promise<void> {
  if (!ids.length) return;
  await db
    .updateTable('workflow_commands')
    .set({ last_error: opts.error.slice(0, 500), next_attempt_at: sql<Date>`now() + ${`${opts.retryInMs} milliseconds`}::interval` })
    .where('id', 'in', ids)
    .execute();
}

export async function pendingCommands(db: Db, workflowId: string): Promise<WorkflowCommandRow[]> {
  return db.selectFrom('workflow_commands').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
}
