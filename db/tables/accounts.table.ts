import type { ColumnType } from 'kysely';

/** A person's login. Holds PII: it stays in PostgreSQL, never in workflow payloads or logs. */
export interface AccountsTable {
  id: string;
  login_email: string;
  display_name: string;
  mobile_phone: string | null;
  recovery_email: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** scrypt (lib/passwords.ts); null: no password login. */
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** P7: failed logins in a row; reaching the threshold locks the account. */
  failed_logins: ColumnType<number, number | undefined, number>;
  locked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** P7: emails to the holder about logins. */
  login_alerts: ColumnType<'off' | 'failures' | 'all', 'off' | 'failures' | 'all' | undefined, 'off' | 'failures' | 'all'>;
}
