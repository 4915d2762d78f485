/** Issue 17, item 4: the tables of prepaid money (the organization's currency is `organizations.currency`). */
import type { ColumnType } from 'kysely';
import type { Currency } from './orders.table';

export const PREPAID_DEPOSIT_STATUSES = ['pending', 'charged', 'credited', 'declined'] as const;
export type PrepaidDepositStatus = (typeof PREPAID_DEPOSIT_STATUSES)[number];

/** A deposit by card; its id derives from the organization and the client's idempotency key. */
export interface PrepaidDepositsTable {
  id: string;
  organization_id: string;
  requested_by: string;
  amount_cents: number;
  currency: Currency;
  /** The card's token at the provider (never the card number). */
  card_ref: string;
  /** pending: not charged yet; charged: the provider took it, the ledger not yet; credited; declined. */
  status: ColumnType<PrepaidDepositStatus, PrepaidDepositStatus | undefined, PrepaidDepositStatus>;
  provider_reference: ColumnType<string | null, string | null | undefined, string | null>;
  failure_reason: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
  settled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export const PREPAID_PAYOUT_STATUSES = ['pending', 'refused', 'awaiting_approval', 'approved', 'paid', 'rejected', 'expired', 'failed'] as const;
export type PrepaidPayoutStatus = (typeof PREPAID_PAYOUT_STATUSES)[number];
export type PayoutDestinationKind = 'iban' | 'paypal';

/**
 * A payout of the prepaid balance. pending: written, not reserved yet; refused: the balance did not
 * cover it; awaiting_approval: the ledger is debited, an agent decides; approved: being paid out;
 * paid; rejected / expired / failed: the reserved amount was credited back.
 * The destination (IBAN and holder, or PayPal address) is personal data: it stays in this row.
 */
export interface PrepaidPayoutsTable {
  id: string;
  organization_id: string;
  requested_by: string;
  amount_cents: number;
  currency: Currency;
  destination_kind: PayoutDestinationKind;
  iban: string | null;
  holder: string | null;
  paypal_email: string | null;
  status: ColumnType<PrepaidPayoutStatus, PrepaidPayoutStatus | undefined, PrepaidPayoutStatus>;
  deadline_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  decided_by: ColumnType<string | null, string | null | undefined, string | null>;
  decision_reason: ColumnType<string | null, string | null | undefined, string | null>;
  decided_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  provider_reference: ColumnType<string | null, string | null | undefined, string | null>;
  failure_reason: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
  settled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
