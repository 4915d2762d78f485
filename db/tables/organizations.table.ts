import type { ColumnType } from 'kysely';
import type { Currency } from './orders.table';

export interface OrganizationsTable {
  id: string;
  name: string;
  /** P14: the saved card's token at the payment provider (never the card number). */
  /** P11: the organization's program; Partner and Affiliate exclude each other. */
  program: ColumnType<'partner' | 'affiliate' | null, 'partner' | 'affiliate' | null | undefined, 'partner' | 'affiliate' | null>;
  /** P11: a partner that wants requests for proposal. */
  rfp_opt_in: ColumnType<boolean, boolean | undefined, boolean>;
  payment_card_ref: ColumnType<string | null, string | null | undefined, string | null>;
  /** The organization's currency: its prepaid account's, CHF unless set. */
  currency: ColumnType<Currency, Currency | undefined, Currency>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
