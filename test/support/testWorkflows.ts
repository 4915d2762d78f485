/**
 * The workflows the tests run: every production workflow, plus a parent that opens a verification
 * case as its child the way blocked orders and recovery flows do, to check what a parent receives.
 */
import { executeChild, uuid4 } from '@temporalio/workflow';
import type { VerificationInput, VerificationResult } from '../../workflows/shared/verification';
import { verificationWorkflowId } from '../../workflows/shared/verification';

export * from '../../workflows';

export async function verificationParent(input: VerificationInput & { caseId?: string }): Promise<VerificationResult> {
  const { caseId = uuid4(), ...child } = input;
  return executeChild('verificationCase', { workflowId: verificationWorkflowId(caseId), parentClosePolicy: 'REQUEST_CANCEL', args: [child] });
}
