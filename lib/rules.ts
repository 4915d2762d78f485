/**
 * Durations and limits stated by the provider's help pages (../shared/PROCESSES.md, "Constants").
 * One place, each named after the rule it enforces. Imported by workflows, so: pure values only.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration from this file as people read it in a message or a title: "7 days", "1 hour",
 * "30 minutes", "1 year". Messages compute their text from the rule, so changing the rule changes
 * the text (issue 16, item 3); test/lib/durationsInText.test.ts fails on a duration written by hand.
 */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [365 * DAY, 'year'],
    [DAY, 'day'],
    [HOUR, 'hour'],
    [MINUTE, 'minute'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  }
  return `${Math.round(ms / 1000)} seconds`;
}

/** P13: support access to customer content expires automatically after 7 days at most. [001] */
export const SUPPORT_ACCESS_EXPIRY_MS = 7 * DAY;

/** P1: a blocked order with no reaction is cancelled and refunded after 10 days. [000, 001, 004] */
export const BLOCKED_ORDER_AUTO_CANCEL_MS = 10 * DAY;

/**
 * P2: what the customer sent for an unprocessed verification case is deleted after 72 hours, counted
 * from the first evidence of the round (the phone step; the document in a resubmission round). [001, 004]
 */
export const VERIFICATION_DOCUMENTS_PURGE_MS = 72 * HOUR;

/** P2: verification cases are answered within 2 business hours on average. [000, 001, 004] */
export const VERIFICATION_ANSWER_TARGET_BUSINESS_HOURS = 2;

/** P14: first automatic payment attempt, and its reminder, 14 days before the due date. [001, 002] */
export const AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS = 14 * DAY;

/** P14: renewal reminders start at most 2 months before the due date. [002] */
export const RENEWAL_REMINDER_MAX_LEAD_MONTHS = 2;

/** P11 / P9: invitation links stay valid 30 days. [001] */
export const INVITATION_LINK_VALIDITY_MS = 30 * DAY;

/** P6: number of 2FA backup codes handed out at activation. [001] */
export const TWO_FACTOR_BACKUP_CODES = 10;

/** P11: yearly volume a partner must manage under the program. [001] */
export const PARTNER_MIN_YEARLY_VOLUME = { CHF: 2000, EUR: 1800 } as const;

/** P14: a prepaid-account deposit lies between these bounds, in EUR or CHF. [001] */
export const PREPAID_DEPOSIT_RANGE = { min: 0.1, max: 9999 } as const;

/**
 * Issue 17, item 4 [inferred]: a payout of the prepaid balance waits at most 14 days for an agent's
 * decision; undecided then, it lapses and the reserved amount goes back to the prepaid account. Two
 * weeks cover an agent's absence and a holiday period while money never stays frozen for long.
 */
export const PREPAID_PAYOUT_DECISION_TIMEOUT_MS = 14 * DAY;

/** Issue 17, item 4 [inferred]: the statement of a prepaid account shows at most this many entries per page. */
export const PREPAID_STATEMENT_MAX_ENTRIES = 200;

/** P2: an SMS confirmation code of a verification case is valid 10 minutes. [issue 3] */
export const VERIFICATION_CODE_VALIDITY_MS = 10 * MINUTE;

/** P2: at most 3 confirmation SMS per case in any hour. [issue 3] */
export const VERIFICATION_CODE_SENDS_PER_HOUR = 3;
export const VERIFICATION_CODE_SEND_WINDOW_MS = HOUR;

/** P2: after 5 wrong codes the phone step starts again with a new number and code. [issue 3] */
export const VERIFICATION_CODE_MAX_WRONG = 5;

/**
 * P2 [inferred]: a case whose customer has not submitted within 14 days of the latest link ends as
 * expired, so no case waits forever; processes with their own deadline (blocked orders) end it sooner.
 */
export const VERIFICATION_CUSTOMER_STEPS_TIMEOUT_MS = 14 * DAY;

/** P1: the customer may ask for the unblocking procedure again at most 3 times a day. [issue 4] */
export const BLOCKED_ORDER_RESENDS_PER_DAY = 3;
export const BLOCKED_ORDER_RESEND_WINDOW_MS = DAY;

/**
 * P12 [inferred]: a cancellation request not confirmed from its email within 14 days lapses, and
 * nothing is deleted.
 */
export const CANCELLATION_CONFIRMATION_VALIDITY_MS = 14 * DAY;

/** P14: automatic renewal cannot be switched on less than 14 days before the due date. [001] */
export const AUTO_RENEW_ENABLE_MIN_LEAD_MS = 14 * DAY;

/**
 * P14 [inferred]: a declined automatic payment is tried again every 3 days until the due date, so a
 * card topped up or replaced in the meantime still renews the product in time.
 */
export const AUTO_RENEW_RETRY_INTERVAL_MS = 3 * DAY;

/** P14: the frequencies a customer may choose for renewal reminders (the first one at most 2 months ahead). [002] */
export const RENEWAL_REMINDER_FREQUENCY_DAYS = { weekly: 7, every_two_weeks: 14, monthly: null } as const;

/**
 * P14 [inferred]: unpaid at the due date (and without Renewal Warranty), the product is blocked
 * after this grace period, then terminated this long after being blocked. A final notice precedes
 * the termination. These are the defaults stated in the README.
 */
export const RENEWAL_SUSPENSION_GRACE_MS = 3 * DAY;
export const RENEWAL_TERMINATION_AFTER_SUSPENSION_MS = 30 * DAY;
export const RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS = 7 * DAY;

/**
 * P14 [inferred]: a reminder whose moment passed more than a day ago (the process started late or its
 * settings changed) is skipped rather than sent late.
 */
export const RENEWAL_STALE_NOTICE_MS = DAY;

/** P14: products renewable for several terms at once accept at most this many in one payment. [003] */
export const RENEWAL_MAX_TERMS_AHEAD = 10;

/** P11: the discount of a partner paying with its own means, applied before the degressive rate. [001] */
export const PARTNER_DISCOUNT_BASIS_POINTS = 2000;

/**
 * P11 [003, decided]: the volume-degressive rate of Web and Mail hosting, by how many hostings of that
 * kind the paying organization has (its own and the clients' it is billed for). The page gives one
 * point, 35 hostings at -25 %, and no other: below it we apply none. Tiers are listed highest first.
 */
export const DEGRESSIVE_PRODUCT_TYPES = ['web_hosting', 'mail_hosting'] as const;
export const DEGRESSIVE_TIERS: readonly { fromCount: number; basisPoints: number }[] = [{ fromCount: 35, basisPoints: 2500 }];

/** P9 [inferred]: an invitation email can be sent again at most 3 times, at least an hour apart. */
export const INVITATION_MAX_RESENDS = 3;
export const INVITATION_RESEND_MIN_INTERVAL_MS = HOUR;

/** P11 [inferred]: a request for proposal stays open 30 days unless its author cancels it sooner. */
export const RFP_OPEN_MS = 30 * DAY;

/** P7 [inferred default; ACCOUNT_LOCK_FAILED_LOGINS overrides it]: failed logins in a row that lock an account. [003] */
export const ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT = 5;
/**
 * P7 [inferred bounds]: the holder chooses "from how many minimum failed attempts" the account locks
 * [003], within these bounds; below 3 a typo or two locks the holder out, above 10 a password guesser
 * gets too many tries. Without a choice, the platform's threshold applies.
 */
export const ACCOUNT_LOCK_FAILED_LOGINS_MIN = 3;
export const ACCOUNT_LOCK_FAILED_LOGINS_MAX = 10;

/** Issue 5: SMS and email codes of the recovery flows are 6 digits, valid 10 minutes, single use, 5 tries. */
export const RECOVERY_CODE_VALIDITY_MS = 10 * MINUTE;
export const RECOVERY_CODE_MAX_TRIES = 5;

/** P4 (issue 5): a password reset link works once, for 1 hour. */
export const PASSWORD_RESET_LINK_VALIDITY_MS = HOUR;

/** P3 [inferred]: once the code is confirmed, the holder has 30 minutes to choose where the login goes. */
export const RECOVERY_CHOICE_WINDOW_MS = 30 * MINUTE;

/** P5 [inferred]: the holder is reminded 3 and 14 days after the login address was lost. */
export const LOGIN_ADDRESS_RECOVERY_REMINDERS_MS = [3 * DAY, 14 * DAY] as const;

/** P8: an API token unused for a year is deactivated. [002] */
export const API_TOKEN_IDLE_DEACTIVATION_MS = 365 * DAY;

/** [inferred] A full session lasts 12 hours; a restricted one (second factor, locked, login address change) 15 minutes. */
export const SESSION_LIFETIME_MS = 12 * HOUR;
export const RESTRICTED_SESSION_LIFETIME_MS = 15 * MINUTE;

/**
 * Issue 14, item 3: minting API tokens or application passwords, changing the login email or the
 * password, and switching 2FA on or off need the password (and the second factor when on) proved
 * within the last 10 minutes of the session, at the login or by re-authentication. [issue 14]
 */
export const REAUTHENTICATION_MAX_AGE_MS = 10 * MINUTE;

/** Issue 5 [inferred figures]: recovery requests per phone number, per login, per client address, per hour. */
export const RECOVERY_RATE_LIMITS = { perPhone: 3, perLogin: 5, perClientAddress: 30, windowMs: HOUR } as const;

/**
 * Issue 14, item 6: an outbox row keeps its recipient (phone number or email address) until the
 * message is sent or has failed for good, and not a moment longer: 0, the statement that records
 * that outcome erases it. Troubleshooting a delivery needs no more: the row keeps the provider's
 * message id and error, the provider keeps its own log, the account its current number and address.
 * A longer retention would need a sweep that nothing runs yet (db/repositories/outbox.ts).
 */
export const OUTBOX_RECIPIENT_RETENTION_MS = 0;

/**
 * A rule's window as the period of a rate: "hour" for 1 hour, "2 hours" otherwise, so that
 * `at most 3 per ${describePeriod(HOUR)}` reads as people write it and follows the rule.
 */
export function describePeriod(ms: number): string {
  const text = describeDuration(ms);
  return text.startsWith('1 ') ? text.slice(2) : text;
}
