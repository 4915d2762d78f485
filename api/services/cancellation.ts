/**
 * P12 for the confirmation page (issue 18): what the emailed link will end and what stays due, read
 * without acting. Confirming stays the API route's (POST /v1/cancellation-requests/:token/confirm).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { pendingCancellationByToken } from '../../db/repositories/cancellation';
import { Problem } from '../problems';

export interface CancellationView {
  productName: string;
  productType: string;
  expiresAt: Date;
  backups: number;
  /** Open fees, billed on the final invoice. */
  fees: { description: string; amountCents: number; currency: string }[];
  /** Invoices of the product still open: what they still ask for. */
  invoices: { reference: string; dueCents: number; currency: string }[];
}

export function cancellationService({ db, clock }: { db: Kysely<Database>; clock: { now(): Date } }) {
  return {
    /** The request behind a usable link; a used, lapsed or unknown link is `cancellation-link-invalid`. */
    async viewConfirmationLink(token: string): Promise<CancellationView> {
      const r = await pendingCancellationByToken(db, token, clock.now());
      if (!r) throw new Problem('cancellation-link-invalid');
      return {
        productName: r.name,
        productType: r.product_type,
        expiresAt: r.expires_at,
        backups: r.backups,
        fees: r.fees.map((f) => ({ description: f.description, amountCents: f.amount_cents, currency: f.currency })),
        invoices: r.invoices.map((i) => ({ reference: i.reference, dueCents: i.total_cents - i.paid_cents, currency: i.currency })),
      };
    },
  };
}
