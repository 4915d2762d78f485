import type { ColumnType } from 'kysely';

/** A person's login. Holds PII: it stays in PostgreSQL, never in workflow payloads or logs. */
export interface AccountsTable {
  id: string;
  login_email: string;
  display_name: string;
  mobile_phone: string | null;
  recovery_email: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}
