import type { ColumnType, Generated } from 'kysely';

export const PAYMENT_MEANS = ['card', 'paypal', 'twint', 'postfinance', 'iban_transfer', 'prepaid'] as const;
export type PaymentMeans = (typeof PAYMENT_MEANS)[number];
export type Currency = 'CHF' | 'EUR';
export type OrderStatus = 'paid' | 'blocked' | 'fulfilled' | 'cancelled';

export interface OrdersTable {
  id: string;
  organization_id: string;
  /** The customer who placed the order. */
  account_id: string;
  currency: Currency;
  total_cents: number;
  status: ColumnType<OrderStatus, OrderStatus | undefined, OrderStatus>;
  block_reason: string | null;
  blocked_at: Date | null;
  block_deadline: Date | null;
  verification_case_id: string | null;
  /** P11: the partner managing the client when it ordered (it earns the cashback); null: none. */
  partner_organization_id: ColumnType<string | null, string | null | undefined, never>;
  /** P11: the partner billed for the order, at the partner price; null: the ordering organization. */
  billed_organization_id: ColumnType<string | null, string | null | undefined, never>;
  fulfilled_at: Date | null;
  cancelled_at: Date | null;
  cancel_reason: string | null;
  /** The checkout's Idempotency-Key, and a digest of its request; null for orders recorded before keys. */
  idempotency_key: ColumnType<string | null, string | null | undefined, never>;
  request_digest: ColumnType<string | null, string | null | undefined, never>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface OrderLinesTable {
  id: string;
  order_id: string;
  product_type: string;
  description: string;
  quantity: number;
  unit_price_cents: number;
  /** Issue 17: the term of the product it creates, in months; null for a one-off purchase. */
  term_months: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface ProductsTable {
  id: string;
  organization_id: string;
  order_line_id: string | null;
  product_type: string;
  name: string;
  status: ColumnType<'active' | 'suspended' | 'terminated', 'active' | 'suspended' | 'terminated' | undefined, 'active' | 'suspended' | 'terminated'>;
  /** 'ksuite' when the product is part of a kSuite and cannot be cancelled on its own. */
  bundled_in: ColumnType<'ksuite' | null, 'ksuite' | null | undefined, 'ksuite' | null>;
  terminated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** P14: the end of the current term; null for products that do not renew. */
  due_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  term_months: ColumnType<number, number | undefined, number>;
  renewal_price_cents: ColumnType<number | null, number | null | undefined, number | null>;
  currency: ColumnType<Currency | null, Currency | null | undefined, Currency | null>;
  auto_renew: ColumnType<boolean, boolean | undefined, boolean>;
  renewal_warranty: ColumnType<boolean, boolean | undefined, boolean>;
  max_terms_ahead: ColumnType<number, number | undefined, number>;
  suspended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface PaymentsTable {
  id: string;
  /** A payment settles an order (P1) or an invoice (P14), never both. */
  order_id: ColumnType<string | null, string | null | undefined, never>;
  invoice_id: ColumnType<string | null, string | null | undefined, never>;
  idempotency_key: ColumnType<string | null, string | null | undefined, never>;
  means: PaymentMeans;
  amount_cents: number;
  currency: Currency;
  /** pending: reserved, not settled yet; declined/voided: released without money kept. */
  status: PaymentStatus;
  provider_reference: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** The provider's token of the card to charge. */
  card_ref: ColumnType<string | null, string | null | undefined, string | null>;
  requested_by: ColumnType<string | null, string | null | undefined, never>;
  product_id: ColumnType<string | null, string | null | undefined, never>;
  failure_reason: ColumnType<string | null, string | null | undefined, string | null>;
  settled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type PaymentStatus = 'pending' | 'captured' | 'in_progress' | 'refunded' | 'declined' | 'voided';

export interface RefundsTable {
  id: string;
  payment_id: string;
  /** A refund returns an order's payment (P1) or an invoice's (P14), never both. */
  order_id: ColumnType<string | null, string | null | undefined, never>;
  invoice_id: ColumnType<string | null, string | null | undefined, never>;
  idempotency_key: string;
  destination: 'original_means' | 'prepaid_account';
  amount_cents: number;
  currency: Currency;
  status: ColumnType<'pending' | 'succeeded', 'pending' | 'succeeded' | undefined, 'pending' | 'succeeded'>;
  provider_refund_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  succeeded_at: Date | null;
}

export interface PrepaidLedgerEntriesTable {
  id: Generated<string>;
  organization_id: string;
  currency: Currency;
  amount_cents: number;
  reason: string;
  reference: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** The local payment provider's own books (lib/payments.ts): what each idempotency key executed. */
export interface LocalProviderOperationsTable {
  kind: 'charge' | 'refund';
  idempotency_key: string;
  outcome: 'charged' | 'refunded' | 'declined';
  provider_id: string;
  amount_cents: number;
  currency: string;
  means: string;
  card_ref: string | null;
  payment_reference: string | null;
  reason: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** Every call that reached the local provider, repeated ones included. */
export interface LocalProviderCallsTable {
  id: Generated<string>;
  kind: 'charge' | 'refund';
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  result: 'executed' | 'repeated' | 'declined' | 'refused' | 'failed';
  provider_id: string | null;
  at: ColumnType<Date, Date | undefined, never>;
}
