import type { ColumnType } from 'kysely';

/** A support employee. Agents authenticate with role "agent" and their id as subject. */
export interface AgentsTable {
  id: string;
  email: string;
  display_name: string;
  is_supervisor: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
