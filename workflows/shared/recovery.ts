/**
 * Contracts of the account-recovery processes (issue 5, P3–P8). Payloads carry ids only: phone
 * numbers, addresses, codes and tokens stay in PostgreSQL (hashed where they are secrets).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export type RecoveryKind = 'login_email' | 'password';
export interface RecoveryInput {
  requestId: string;
}
export type RecoveryStep = 'awaiting_code' | 'confirmed' | 'verification' | 'closed';
export interface RecoveryStatus {
  step: RecoveryStep;
}

/** The API confirmed the code (it checks codes itself, in one transaction with the attempt count). */
export const codeConfirmedSignal = defineSignal('codeConfirmed');
/** P3: where the confirmed holder wants the login identifier. */
export const deliverLoginSignal = defineSignal<[{ channel: 'sms' | 'email' }]>('deliverLogin');
/** The requester asks for identity verification instead (P3, P4). */
export const verificationRequestedSignal = defineSignal('verificationRequested');
/** P4: the reset link was used; nothing is left to wait for. */
export const passwordResetSignal = defineSignal('passwordReset');
export const recoveryStatusQuery = defineQuery<RecoveryStatus>('status');

export const recoveryLoginWorkflowId = (requestId: string) => `recovery-login:${requestId}`;
export const passwordRecoveryWorkflowId = (requestId: string) => `recovery-password:${requestId}`;

/** P5: the hosted login address is gone; the holder logs in with the SMS username until a new one is confirmed. */
export interface LoginAddressRecoveryInput {
  accountId: string;
}
export const loginAddressRestoredSignal = defineSignal('loginAddressRestored');
export const loginAddressRecoveryWorkflowId = (accountId: string) => `login-address-recovery:${accountId}`;

/** A code sent to a new login address (P5, or any holder changing the login address). */
export const loginEmailChangeWorkflowId = (requestId: string) => `login-email-change:${requestId}`;

/** P6, P7: identity verification the holder asks for, with the effect applied on approval. */
export type SecurityCaseReason = 'disable_2fa' | 'account_unblock';
export interface SecurityCaseInput {
  accountId: string;
  reason: SecurityCaseReason;
  caseId: string;
}
export const securityCaseWorkflowId = (accountId: string, reason: SecurityCaseReason) => `account-security-case:${accountId}:${reason}`;

/** Emails the holder about a change to the account's security, once per event. */
export type AccountNoticeKind =
  | 'password_reset'
  | 'password_changed'
  | 'password_updated'
  | 'two_factor_disabled'
  | 'account_unlocked'
  | 'login_email_changed'
  | 'login_succeeded'
  | 'login_failed'
  | 'recovery_email_changed'
  | 'mobile_phone_changed';
export interface AccountNoticeInput {
  accountId: string;
  kind: AccountNoticeKind;
  /** Names the event, e.g. the request id: one email per event, whatever the retries. */
  eventId: string;
  /** Login alerts (issue 17, item 5): when it happened, and the client's browser and system families when known. */
  at?: string;
  client?: string | null;
}
export const accountNoticeWorkflowId = (i: AccountNoticeInput) => `account-notice:${i.accountId}:${i.kind}:${i.eventId}`;

/** P8: the daily job that deactivates API tokens unused for a year (and ends expired ones). */
export const API_TOKEN_SWEEP_SCHEDULE_ID = 'api-token-sweep';
