import type { ColumnType } from 'kysely';

export interface SupportTicketsTable {
  id: string;
  organization_id: string;
  opened_by: string;
  subject: string;
  /** The agent handling the request: the only one who may use access granted for it (P13). */
  assigned_agent_id: string | null;
  status: ColumnType<'open' | 'closed', 'open' | 'closed' | undefined>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
