import type { ColumnType, Generated } from 'kysely';

export type WorkflowCommandKind = 'start' | 'signal';

/** A start or signal committed with the change that calls for it, until Temporal has it. */
export interface WorkflowCommandsTable {
  id: Generated<string>;
  kind: WorkflowCommandKind;
  workflow_id: string;
  workflow_type: string | null;
  task_queue: string | null;
  signal_name: string | null;
  /** Ids only, never personal data. */
  args: ColumnType<unknown[], string, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date;
  last_error: string | null;
}
