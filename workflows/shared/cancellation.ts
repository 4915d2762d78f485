/** Contract of the product-cancellation process (P12), importable by the API. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface CancellationInput {
  requestId: string;
  productId: string;
}

export type CancellationState = 'pending' | 'confirmed' | 'lapsed';

export interface CancellationResult {
  requestId: string;
  state: Exclude<CancellationState, 'pending'>;
}

export const confirmCancellationUpdate = defineUpdate<{ requestId: string; state: CancellationState }, [{ actor: string }]>('confirm');
export const cancellationStateQuery = defineQuery<{ requestId: string; state: CancellationState }>('state');

export const cancellationWorkflowId = (productId: string) => `cancellation:${productId}`;
