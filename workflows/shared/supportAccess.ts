/**
 * Contract of the support-access process (P13), importable by the API without workflow code.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type SupportAccessState = 'active' | 'revoked' | 'expired';

/** Only identifiers: the grant's details live in PostgreSQL. */
export interface SupportAccessInput {
  grantId: string;
}

export interface SupportAccessResult {
  grantId: string;
  state: Exclude<SupportAccessState, 'active'>;
}

export interface RevokeInput {
  /** "customer:<accountId>", "agent:<agentId>" or "system:<name>". */
  actor: string;
}

export interface SupportAccessStatus {
  grantId: string;
  state: SupportAccessState;
}

export const revokeUpdate = defineUpdate<SupportAccessStatus, [RevokeInput]>('revoke');
export const statusQuery = defineQuery<SupportAccessStatus>('status');

export const supportAccessWorkflowId = (grantId: string) => `support-access:${grantId}`;
