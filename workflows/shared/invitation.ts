/** Contract of the membership invitation (P9), importable by the API. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type InvitationState = 'pending' | 'accepted' | 'cancelled' | 'expired';

export interface InvitationInput {
  invitationId: string;
}

export interface InvitationStatus {
  invitationId: string;
  state: InvitationState;
  resends: number;
  /** Epoch ms of the latest link's expiry. */
  expiresAt: number;
}

export const acceptInvitationUpdate = defineUpdate<InvitationStatus, [{ accountId: string }]>('accept');
export const cancelInvitationUpdate = defineUpdate<InvitationStatus, [{ actor: string }]>('cancel');
export const resendInvitationUpdate = defineUpdate<InvitationStatus, [{ actor: string }]>('resend');
export const invitationStatusQuery = defineQuery<InvitationStatus>('status');

export const invitationWorkflowId = (invitationId: string) => `invitation:${invitationId}`;
