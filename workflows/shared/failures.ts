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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
