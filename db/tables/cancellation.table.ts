import type { ColumnType } from 'kysely';

export interface CancellationRequestsTable {
  id: string;
  product_id: string;
  requested_by: string;
  /** SHA-256 of the emailed confirmation token; null once used or lapsed. */
  token_hash: Buffer | null;
  status: ColumnType<'pending' | 'confirmed' | 'lapsed', 'pending' | 'confirmed' | 'lapsed' | undefined, 'pending' | 'confirmed' | 'lapsed'>;
  requested_at: Date;
  expires_at: Date;
  confirmed_at: Date | null;
}

export interface ProductFeesTable {
  id: string;
  product_id: string;
  description: string;
  amount_cents: number;
  currency: 'CHF' | 'EUR';
  out_of_plan: ColumnType<boolean, boolean | undefined, boolean>;
  /** The invoice that bills the fee; null while it is open. */
  invoice_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface InvoicesTable {
  id: string;
  organization_id: string;
  product_id: string | null;
  kind: 'final' | 'renewal';
  currency: string;
  total_cents: number;
  status: ColumnType<InvoiceStatus, InvoiceStatus | undefined, InvoiceStatus>;
  /** One invoice per reference (`final:<productId>`, `renewal:…`), however often its step is retried. */
  reference: string;
  issued_at: Date;
  due_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  paid_cents: ColumnType<number, number | undefined, number>;
  paid_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type InvoiceStatus = 'open' | 'paid' | 'void';

export interface ProductBackupsTable {
  id: string;
  product_id: string;
  taken_at: Date;
  size_bytes: ColumnType<string, number | string, never>;
}
