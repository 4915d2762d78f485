import type { ColumnType, Generated } from 'kysely';

/** Append-only record of who did what. Identifiers and decisions only, never document contents. */
export interface AuditLogTable {
  id: Generated<string>;
  at: ColumnType<Date, Date | undefined, never>;
  actor_type: 'customer' | 'agent' | 'system';
  actor_id: string;
  action: string;
  subject_type: string;
  subject_id: string;
  decision: 'allowed' | 'denied' | null;
  details: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, never>;
}
