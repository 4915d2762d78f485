import { sql, type Kysely } from 'kysely';

// Issue 14, item 4: an agent's bearer token is tied to a session that can be ended, and an agent
// can be deactivated (by the system role), which ends every one of its sessions at once.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('agents').addColumn('deactivated_at', 'timestamptz').execute();
  await db.schema
    .createTable('agent_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('agent_id', 'uuid', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('agent_sessions_agent_idx').on('agent_sessions').column('agent_id').where(sql.ref('revoked_at'), 'is', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('agent_sessions').execute();
  await db.schema.alterTable('agents').dropColumn('deactivated_at').execute();
}
