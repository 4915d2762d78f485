import type { ColumnType } from 'kysely';

/** A support employee. Agents authenticate with role "agent" and their id as subject. */
export interface AgentsTable {
  id: string;
  email: string;
  display_name: string;
  is_supervisor: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** Set by the system role; the agent's tokens stop working at once and no new one is issued. */
  deactivated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** An agent's bearer token is tied to one of these: ending it (revoked_at) ends the token at once. */
export interface AgentSessionsTable {
  id: string;
  agent_id: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
