import { sql, type Kysely } from 'kysely';

// Issue 15: a transaction that must start or signal a workflow writes the command here, in the same
// commit, instead of calling Temporal after it. The API sends it right after the commit and deletes
// the row; a row left behind (Temporal unreachable, the API killed) is sent by the worker's relay.
// Arguments are ids only: the row is readable in PostgreSQL, unlike the encrypted payloads.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('workflow_commands')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('start', 'signal')`))
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('workflow_type', 'text')
    .addColumn('task_queue', 'text')
    .addColumn('signal_name', 'text')
    .addColumn('args', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addCheckConstraint(
      'workflow_commands_shape',
      sql`(kind = 'start' and workflow_type is not null and task_queue is not null) or (kind = 'signal' and signal_name is not null)`,
    )
    .execute();
  await db.schema.createIndex('workflow_commands_due_idx').on('workflow_commands').column('next_attempt_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('workflow_commands').execute();
}
