/**
 * Every ApplicationFailure type the workflows raise, in one enum shared with the API,
 * which maps them to problem types and HTTP statuses.
 */
export const FailureType = {
  /** The grant was already revoked or expired: a second revoke is a conflict, not a retry. */
  GrantNotActive: 'GrantNotActive',
  /** A message that can never be delivered (malformed address, rejected number). */
  PermanentDeliveryFailure: 'PermanentDeliveryFailure',
  /** A referenced row does not exist (deleted while the workflow ran). */
  NotFound: 'NotFound',
  /** A verification step sent out of order or twice. */
  StepOutOfOrder: 'StepOutOfOrder',
  /** Another request on the same verification case is still being processed. */
  StepInProgress: 'StepInProgress',
  /** The confirmation-SMS budget of the hour is spent. */
  SmsLimitReached: 'SmsLimitReached',
  /** A decision by an agent who has not claimed the case (or lost it). */
  NotCaseAssignee: 'NotCaseAssignee',
  /** The case is already decided, expired or cancelled. */
  CaseClosed: 'CaseClosed',
  /** A manual verification may not approve a case that switches 2FA off or unlocks an account (four eyes). */
  ManualApprovalRefused: 'ManualApprovalRefused',
  /** Documents that are not this case's, not of the expected kinds, or already used. */
  InvalidDocuments: 'InvalidDocuments',
  /** The order is fulfilled or cancelled already, so it cannot go the other way. */
  OrderClosed: 'OrderClosed',
  /** P10: the handover cannot proceed (the former representative is no longer one, the new one left). */
  HandoverRefused: 'HandoverRefused',
  /** P9: an invitation was sent again too often or too soon. */
  ResendLimitReached: 'ResendLimitReached',
  /** The payment provider declined the charge: a business outcome, never retried. */
  PaymentDeclined: 'PaymentDeclined',
  /** An idempotency key reached the provider again with another amount: a bug, never retried. */
  IdempotencyKeyReused: 'IdempotencyKeyReused',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
