/**
 * The one way a service starts or updates a process (issue 16, item 3): the id policies in one
 * place, and the Temporal failures a caller can cause mapped to problems in one place. Anything
 * not mapped is ours and rethrown (the problem handler answers 500, or 503 for a dependency down).
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { Problem } from '../problems';

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

/**
 * What an id already in use means:
 * - `refuse`: one process of this id at a time, and never twice (an order is blocked once): REJECT_DUPLICATE.
 * - `one-at-a-time`: one running at a time, a new one may follow a closed one (a handover): ALLOW_DUPLICATE.
 * - `attach`: a running one is the answer (a second click joins the first): USE_EXISTING.
 */
export type IdPolicy = 'refuse' | 'one-at-a-time' | 'attach';

const policies = {
  refuse: { workflowIdReusePolicy: 'REJECT_DUPLICATE', workflowIdConflictPolicy: 'FAIL' },
  'one-at-a-time': { workflowIdReusePolicy: 'ALLOW_DUPLICATE', workflowIdConflictPolicy: 'FAIL' },
  attach: { workflowIdReusePolicy: 'ALLOW_DUPLICATE', workflowIdConflictPolicy: 'USE_EXISTING' },
} as const;

/**
 * Starts `type` as `workflowId`. When the id is taken under the policy, throws `ifTaken` (a problem)
 * or, without one, returns false; true when this call started it.
 */
export async function startProcess<A>(
  { client, taskQueue }: TemporalDeps,
  type: string,
  workflowId: string,
  input: A,
  { policy = 'refuse', ifTaken }: { policy?: IdPolicy; ifTaken?: Problem } = {},
): Promise<boolean> {
  try {
    await client.workflow.start(type, { workflowId, taskQueue, args: [input], ...policies[policy] });
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    if (ifTaken) throw ifTaken;
    return false;
  }
}

/** The ApplicationFailure type at the bottom of an update's failure (through activity failures), if any. */
export function failureTypeOf(err: unknown): string | undefined {
  let cause: unknown = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  while (cause instanceof ActivityFailure) cause = cause.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The message of the workflow's refusal, to pass on as a problem's detail. */
export function failureMessageOf(err: unknown): string | undefined {
  return err instanceof WorkflowUpdateFailedError ? err.cause?.message : undefined;
}

export interface Refusals {
  /** The process has ended (or never existed): what the caller is told. */
  closed: Problem;
  /** The workflow's refusals by ApplicationFailure type; a function gets the refusal's message. */
  byType?: Record<string, Problem | ((message: string | undefined) => Problem)>;
  /** Any other refusal by the update's validator or handler; without it, rethrown as ours. */
  otherwise?: Problem;
}

/** Maps a failure of an update (or of a signal/query on a gone process) to the caller's problem. */
export function asProcessProblem(err: unknown, refusals: Refusals): unknown {
  if (err instanceof WorkflowNotFoundError) return refusals.closed;
  if (!(err instanceof WorkflowUpdateFailedError)) return err;
  const type = failureTypeOf(err);
  const mapped = type ? refusals.byType?.[type] : undefined;
  if (mapped) return typeof mapped === 'function' ? mapped(failureMessageOf(err)) : mapped;
  return refusals.otherwise ?? err;
}

/** Runs an update on a process and maps its refusals (see Refusals). */
export async function updateProcess<Ret, Args extends [unknown, ...unknown[]]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  refusals: Refusals,
): Promise<Ret> {
  try {
    return await handle.executeUpdate(update, { args });
  } catch (err) {
    throw asProcessProblem(err, refusals);
  }
}
