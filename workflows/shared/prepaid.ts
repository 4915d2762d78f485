/**
 * Contract of the prepaid-money processes (issue 17, item 4), importable by the API without
 * workflow code. Inputs carry ids only: amounts, cards and payout destinations (an IBAN and its
 * holder, a PayPal address) are read from PostgreSQL by the activities.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface PrepaidDepositInput {
  depositId: string;
}

export interface PrepaidDepositOutcome {
  depositId: string;
  status: 'credited' | 'declined';
  reason?: string;
}

export interface PrepaidPayoutInput {
  payoutId: string;
}

export type PrepaidPayoutReservation =
  { status: 'reserved'; deadlineAt: string } | { status: 'refused'; reason: 'insufficient-prepaid-balance' | 'not-pending' };

export type PayoutDecision = 'approve' | 'reject';

export interface DecidePayoutInput {
  agentId: string;
  decision: PayoutDecision;
  reason: string;
}

export type PrepaidPayoutState = 'reserving' | 'refused' | 'awaiting_approval' | 'approved' | 'paid' | 'rejected' | 'expired' | 'failed';

export interface PrepaidPayoutOutcome {
  payoutId: string;
  status: Extract<PrepaidPayoutState, 'refused' | 'paid' | 'rejected' | 'expired' | 'failed'>;
}

/** The workflows' refusals, by ApplicationFailure type. */
export const PrepaidFailure = {
  /** A decision on a payout that is no longer awaiting one (decided already, lapsed, refused). */
  PayoutNotAwaitingApproval: 'PayoutNotAwaitingApproval',
} as const;

/** Answers once the balance is debited or the payout refused: the API waits on it to refuse at once. */
export const payoutReservationUpdate = defineUpdate<PrepaidPayoutReservation>('payoutReservation');
/** An agent's decision; answers the payout's state after it. */
export const decidePayoutUpdate = defineUpdate<{ payoutId: string; state: PrepaidPayoutState }, [DecidePayoutInput]>('decidePayout');
export const payoutStatusQuery = defineQuery<{ payoutId: string; state: PrepaidPayoutState }>('payoutStatus');

export const prepaidDepositWorkflowId = (depositId: string) => `prepaid-deposit:${depositId}`;
export const prepaidPayoutWorkflowId = (payoutId: string) => `prepaid-payout:${payoutId}`;

/** Provider keys and ledger references derive from the rows, so a retry repeats the same request. */
export const depositChargeKey = (depositId: string) => `prepaid-deposit:${depositId}`;
export const payoutKey = (payoutId: string) => `prepaid-payout:${payoutId}`;
export const ledgerRefs = {
  deposit: (depositId: string) => `prepaid-deposit:${depositId}`,
  /** A bank transfer's reference credits once, whichever organization it is recorded for. */
  transfer: (reference: string) => `prepaid-transfer:${reference}`,
  payoutReserved: (payoutId: string) => `prepaid-payout:${payoutId}`,
  payoutReturned: (payoutId: string) => `prepaid-payout:${payoutId}:returned`,
};
