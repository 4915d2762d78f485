/** Contract of a request for proposal (P11), importable by the API. */
import { defineSignal } from '@temporalio/workflow';

export interface RfpInput {
  rfpId: string;
}
export interface RfpResult {
  rfpId: string;
  status: 'cancelled' | 'closed';
}

/** The author cancelled it from the emailed link (the API already closed the row). */
export const rfpCancelledSignal = defineSignal('cancelled');
export const rfpWorkflowId = (rfpId: string) => `rfp:${rfpId}`;
