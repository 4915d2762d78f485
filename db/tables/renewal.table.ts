import type { ColumnType } from 'kysely';

export const REMINDER_FREQUENCIES = ['off', 'weekly', 'every_two_weeks', 'monthly'] as const;
export type ReminderFrequency = (typeof REMINDER_FREQUENCIES)[number];

/** P14: an organization's billing emails; an organization without a row has the column defaults. */
export interface BillingPreferencesTable {
  organization_id: string;
  reminder_frequency: ColumnType<ReminderFrequency, ReminderFrequency | undefined, ReminderFrequency>;
  /** The first renewal reminder goes this many months before the due date (1 or 2). */
  reminder_start_months: ColumnType<number, number | undefined, number>;
  auto_renewal_reminder: ColumnType<boolean, boolean | undefined, boolean>;
  renewal_confirmation: ColumnType<boolean, boolean | undefined, boolean>;
  invoice_issued: ColumnType<boolean, boolean | undefined, boolean>;
  /** Products due on the same day share one renewal invoice. */
  group_invoices: ColumnType<boolean, boolean | undefined, boolean>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface InvoiceLinesTable {
  id: string;
  invoice_id: string;
  product_id: string;
  /** The due date of the term this line renews. */
  due_at: Date;
  terms: ColumnType<number, number | undefined, number>;
  amount_cents: number;
  description: string;
}

export interface ProductRenewalsTable {
  product_id: string;
  from_due_at: Date;
  to_due_at: Date;
  invoice_id: string | null;
  under_warranty: boolean;
  renewed_at: Date;
}

/** Issue 20: a product whose renewal process is known to run (written before its start, deleted when it ends). */
export interface RenewalRunsTable {
  product_id: string;
  recorded_at: Date;
}
