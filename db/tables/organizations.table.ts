import type { ColumnType } from 'kysely';

export interface OrganizationsTable {
  id: string;
  name: string;
  /** P14: the saved card's token at the payment provider (never the card number). */
  /** P11: the organization's program; Partner and Affiliate exclude each other. */
  program: ColumnType<'partner' | 'affiliate' | null, 'partner' | 'affiliate' | null | undefined, 'partner' | 'affiliate' | null>;
  /** P11: a partner that wants requests for proposal. */
  rfp_opt_in: ColumnType<boolean, boolean | undefined, boolean>;
  payment_card_ref: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
