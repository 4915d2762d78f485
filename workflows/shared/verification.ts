/**
 * Contract of the identity-verification process (P2), importable by the API and by parent
 * workflows without pulling in workflow code. Payloads carry ids and small facts only: images,
 * the phone number and the position go to PostgreSQL sealed, never through Temporal.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const VERIFICATION_REASONS = [
  'forgotten_password',
  'forgotten_login_email',
  'disable_2fa',
  'account_unblock',
  'ticketing_first_payout',
  'blocked_order',
] as const;
export type VerificationReason = (typeof VERIFICATION_REASONS)[number];

/**
 * Four eyes (issue 14, item 8): approving a case for these reasons switches 2FA off or unlocks an
 * account (P6, P7), so it happens only on the customer's documents and selfie, reviewed by the agent
 * who claimed the case; a manual verification (identity "checked by other means", on the agent's
 * word alone) may reject such a case but never approve it. Chosen over a second agent's
 * confirmation because P6 names the documents as the way ("support never disables 2FA on
 * request"): two agents convinced by the same caller are still a request, whereas documents are
 * evidence the review can hold against the account; P7 keeps its other way (an administrator of
 * the organization unlocks) for a holder who cannot photograph a document.
 */
export const DOCUMENTS_REQUIRED_REASONS: readonly VerificationReason[] = ['disable_2fa', 'account_unblock'];

/** The case as the database and the review queue see it. */
export const VERIFICATION_CASE_STATUSES = ['awaiting_customer', 'submitted', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type VerificationCaseStatus = (typeof VERIFICATION_CASE_STATUSES)[number];

export const DOCUMENT_KINDS = ['id_card_front', 'id_card_back', 'passport_photo_page', 'selfie'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export interface VerificationInput {
  accountId: string;
  reason: VerificationReason;
  /** What the case unblocks, e.g. { type: 'order', id }; null when opened on its own. */
  subject: { type: string; id: string } | null;
  /** Who opened it: "system:<name>", "agent:<id>" or "workflow:<id>". */
  openedBy?: string;
  /** Where the customer's messages go; 'recovery_channels' when the login address is what was forgotten (P3). */
  contact?: 'login_email' | 'recovery_channels';
}

export type VerificationOutcome = 'approved' | 'rejected' | 'expired';

export interface VerificationResult {
  caseId: string;
  outcome: VerificationOutcome;
}

/** Where the customer stands; 'review' once submitted, 'closed' once decided or expired. */
export type VerificationStep = 'phone' | 'phone_confirm' | 'geolocation' | 'document' | 'selfie' | 'review' | 'closed';

export interface VerificationStatus {
  caseId: string;
  step: VerificationStep;
  round: number;
  outcome: VerificationOutcome | null;
  /** Wrong codes left before the phone step restarts (while step is phone_confirm). */
  codeAttemptsLeft: number | null;
  /** Confirmation SMS still allowed in the current hour. */
  smsSendsLeft: number;
}

export type DocumentType = 'id_card' | 'passport';
export const DOCUMENT_KINDS_BY_TYPE: Record<DocumentType, readonly DocumentKind[]> = {
  id_card: ['id_card_front', 'id_card_back'],
  passport: ['passport_photo_page'],
};

export type ConfirmCodeResult =
  | { result: 'confirmed'; status: VerificationStatus }
  | { result: 'wrong'; status: VerificationStatus }
  | { result: 'expired'; status: VerificationStatus }
  | { result: 'too_many_attempts'; status: VerificationStatus };

export interface Position {
  latitude: number;
  longitude: number;
  accuracyMeters: number;
}

/**
 * Issue 14, item 6: the API seals the phone number and the position in PostgreSQL
 * (verification_evidence) and the update carries only the sealed row's id. Runs recorded before
 * carry the values themselves (`LegacyPhone`, `Position`): their handlers still take them on
 * replay, the validators refuse them from any new caller.
 */
export interface PhoneSubmission {
  phoneRef: string;
}
export interface PositionSubmission {
  positionRef: string;
}
export interface LegacyPhone {
  phone: string;
}
/** A sealed row's id (a UUID): nothing else may reach the history in its place. */
export const isEvidenceRef = (ref: unknown): ref is string =>
  typeof ref === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(ref);

export type Decision = 'approve' | 'reject' | 'request_resubmission';

export const statusQuery = defineQuery<VerificationStatus>('status');
export const submitPhoneUpdate = defineUpdate<VerificationStatus, [PhoneSubmission]>('submitPhone');
export const confirmCodeUpdate = defineUpdate<ConfirmCodeResult, [{ code: string }]>('confirmCode');
export const geolocationUpdate = defineUpdate<VerificationStatus, [PositionSubmission]>('submitGeolocation');
export const documentUpdate = defineUpdate<VerificationStatus, [{ type: DocumentType; documentIds: string[] }]>('submitDocument');
export const selfieUpdate = defineUpdate<VerificationStatus, [{ documentId: string }]>('submitSelfie');
export const decideUpdate = defineUpdate<VerificationStatus, [{ agentId: string; decision: Decision; reason: string }]>('decide');
export const manualVerificationUpdate = defineUpdate<VerificationStatus, [{ agentId: string; decision: 'approve' | 'reject'; reason: string }]>(
  'recordManualVerification',
);
export const reissueLinkUpdate = defineUpdate<VerificationStatus, [{ actor: string }]>('reissueLink');

export const verificationWorkflowId = (caseId: string) => `verification:${caseId}`;
export const caseIdOf = (workflowId: string) => workflowId.replace(/^verification:/, '');
