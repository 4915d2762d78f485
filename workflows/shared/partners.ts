/** Contract of the partner's client invitation (P11), importable by the API. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type ClientInvitationState = 'pending' | 'accepted' | 'cancelled' | 'expired';

export interface ClientInvitationInput {
  invitationId: string;
}

export interface ClientInvitationStatus {
  invitationId: string;
  state: ClientInvitationState;
  resends: number;
  expiresAt: number;
}

/** The client organization that accepted; the granted rights are already validated and stored by the API. */
export const acceptClientInvitationUpdate = defineUpdate<ClientInvitationStatus, [{ clientOrganizationId: string; accountId: string }]>('accept');
export const cancelClientInvitationUpdate = defineUpdate<ClientInvitationStatus, [{ actor: string }]>('cancel');
export const resendClientInvitationUpdate = defineUpdate<ClientInvitationStatus, [{ actor: string }]>('resend');
export const clientInvitationStatusQuery = defineQuery<ClientInvitationStatus>('status');

export const partnerInvitationWorkflowId = (invitationId: string) => `partner-invitation:${invitationId}`;
