/** Contract of the blocked-order process (P1), importable by the API. */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface OrderBlockInput {
  orderId: string;
  accountId: string;
  /** The first verification case; later ones (after one expired) get fresh ids. */
  caseId: string;
}

export type OrderBlockOutcome = 'fulfilled' | 'cancelled_timeout' | 'cancelled_rejected' | 'cancelled';

export interface OrderBlockResult {
  orderId: string;
  outcome: OrderBlockOutcome;
}

export interface OrderBlockStatus {
  orderId: string;
  caseId: string;
  /** True once the current case has ended without approval: a resend opens a new one. */
  awaitingNewCase: boolean;
  deadlinePassed: boolean;
}

/** Opens a new verification case when the previous one expired (an open one gets a new link directly). */
export const reopenVerificationSignal = defineSignal('reopenVerification');
export const orderBlockStatusQuery = defineQuery<OrderBlockStatus>('status');

export const orderBlockWorkflowId = (orderId: string) => `order-block:${orderId}`;

/** P11: the process that credits a partner's cashback on its client's order (one per order). */
export interface OrderCashbackInput {
  orderId: string;
}
export const orderCashbackWorkflowId = (orderId: string) => `order-cashback:${orderId}`;
/** The ledger reference of one order line's cashback: the credit happens once. */
export const orderCashbackReference = (orderId: string, lineId: string) => `cashback:order:${orderId}:${lineId}`;
