/** Contract of the legal-representative handover (P10), importable by the API. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type HandoverStatus = 'awaiting_acceptance' | 'transferring' | 'completed' | 'lapsed' | 'cancelled';

/** Identifiers only: the invited address stays in PostgreSQL. */
export interface HandoverInput {
  handoverId: string;
  organizationId: string;
  /** True when the new representative is invited by email and must accept first. */
  invitation: boolean;
}

export interface HandoverResult {
  handoverId: string;
  status: Extract<HandoverStatus, 'completed' | 'lapsed' | 'cancelled'>;
}

export interface HandoverState {
  handoverId: string;
  status: HandoverStatus;
}

/** The invitee accepted (the API checked the token and that the account's login matches the invitation). */
export const acceptHandoverUpdate = defineUpdate<HandoverState, [{ accountId: string }]>('accept');
export const cancelHandoverUpdate = defineUpdate<HandoverState, [{ actor: string }]>('cancel');
export const handoverStateQuery = defineQuery<HandoverState>('state');

export const handoverWorkflowId = (organizationId: string) => `legal-rep-handover:${organizationId}`;
