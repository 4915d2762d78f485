/**
 * Contract of the payment process (issue 13), importable by the API and the renewal process.
 * A payment is reserved under its invoice's lock, charged with a key derived from its row, then
 * settled; refused after the charge, it is refunded. Inputs carry ids and amounts, never PII.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type PaymentMeansInput = 'card' | 'paypal' | 'twint' | 'postfinance' | 'iban_transfer' | 'prepaid';

export type PaymentRequest =
  /** A customer's card or prepaid payment, or a confirmed external payment the system records. */
  | {
      kind: 'invoice';
      productId: string;
      means: PaymentMeansInput;
      /** Defaults to what is still due. */
      amountCents?: number;
      /** Renew for several terms at once (changes the invoice before anything is paid). */
      terms?: number;
      /** A card token at the provider; the saved card otherwise. */
      cardToken?: string;
      /** System only: the confirmed payment at the bank or provider. */
      providerReference?: string;
      /**
       * The due date of the term the request was made for (ISO), read when it arrived: a reservation
       * that runs (or is retried) after that term was paid and renewed refuses rather than pay the
       * next term's invoice. Absent in processes started before it existed.
       */
      dueAt?: string;
      /** Unique per request: `api:<principal>:<Idempotency-Key>`. */
      businessKey: string;
      /** customer:<id> or system:<sub>. */
      requestedBy: string;
    }
  /** The automatic-renewal charge of a term's invoice with the saved card. */
  | { kind: 'renewal-charge'; productId: string; dueAt: string; attempt: number };

export interface PaymentInput {
  paymentId: string;
  request: PaymentRequest;
}

export type PaymentRefusal =
  | 'not-found'
  | 'not-renewable'
  | 'nothing-due'
  | 'overpayment'
  | 'terms-not-allowed'
  | 'terms-locked'
  | 'no-saved-card'
  | 'insufficient-prepaid-balance'
  | 'auto-renewal-off'
  /** Another process already holds this request's business key (a grouped invoice's other product). */
  | 'duplicate';

export type PaymentReservation =
  | { status: 'reserved'; paymentId: string; invoiceId: string; amountCents: number; currency: string; means: PaymentMeansInput }
  | { status: 'refused'; reason: PaymentRefusal; detail: string };

export type PaymentOutcomeStatus = 'captured' | 'declined' | 'refunded' | 'refused' | 'voided';

export interface PaymentOutcome {
  paymentId: string;
  status: PaymentOutcomeStatus;
  /** Why it was declined, refused or refunded. */
  reason?: string;
  amountCents?: number;
}

export interface PaymentStatus {
  reservation: PaymentReservation | null;
  outcome: PaymentOutcome | null;
}

/** Answers once the reservation is decided: the API waits on it to refuse at once or accept. */
export const paymentReservationUpdate = defineUpdate<PaymentReservation>('reservation');
export const paymentStatusQuery = defineQuery<PaymentStatus>('status');

export const paymentWorkflowId = (paymentId: string) => `payment:${paymentId}`;
/** The provider keys derive from the payment row, so a retry charges or refunds the same thing. */
export const chargeKey = (paymentId: string) => `payment:${paymentId}`;
export const refundKey = (paymentId: string) => `refund:${paymentId}`;
