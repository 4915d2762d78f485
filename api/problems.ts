/**
 * RFC 9457 problem details. Every error the API returns is one of these types; the `type` URI is
 * stable (clients may switch on it) and resolves to a description at GET /problems/:slug.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import { z } from 'zod';
import { AUTO_RENEW_ENABLE_MIN_LEAD_MS, describeDuration, PREPAID_DEPOSIT_RANGE } from '../lib/rules';
import type { Logger } from '../lib/logger';
import { isDependencyDown } from './dependencyErrors';

export const PROBLEM_TYPES = {
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'You may not do this' },
  'access-denied': { status: 403, title: 'Access to this resource is denied' },
  'not-found': { status: 404, title: 'No such resource' },
  'grant-not-active': { status: 409, title: 'The grant is no longer active' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  'verification-link-invalid': { status: 404, title: 'This verification link is not valid or no longer usable' },
  'verification-step-out-of-order': { status: 409, title: 'This verification step is not the one expected now' },
  'verification-busy': { status: 409, title: 'Another request on this verification is being processed; try again' },
  'verification-closed': { status: 409, title: 'The verification case is closed' },
  'verification-code-rejected': { status: 422, title: 'The confirmation code was not accepted' },
  'sms-limit-reached': { status: 429, title: 'Too many confirmation SMS for this verification; try again later' },
  'phone-undeliverable': { status: 422, title: 'This number cannot receive SMS' },
  'invalid-image': { status: 422, title: 'The image is not a JPEG or PNG of at most 10 MB' },
  'documents-required': {
    status: 409,
    title: 'This case switches 2FA off or unlocks an account: it is approved only on reviewed documents, not by a manual verification',
  },
  'case-already-claimed': { status: 409, title: 'Another agent has claimed this case' },
  'not-case-assignee': { status: 403, title: 'Only the agent who claimed the case may do this' },
  'supervisor-required': { status: 403, title: 'Only a supervisor may do this' },
  'last-legal-representative': { status: 409, title: 'An organization must keep at least one legal representative' },
  'product-bundled': { status: 409, title: 'This product is part of a kSuite and is cancelled with it' },
  'cancellation-pending': { status: 409, title: 'A cancellation of this product is already waiting for confirmation' },
  'cancellation-link-invalid': { status: 404, title: 'This confirmation link is not valid, already used or lapsed' },
  'not-renewable': { status: 409, title: 'This product does not renew (no due date, or terminated)' },
  'auto-renewal-too-late': {
    status: 409,
    title: `Automatic renewal cannot be switched on less than ${describeDuration(AUTO_RENEW_ENABLE_MIN_LEAD_MS)} before the due date`,
  },
  'no-saved-card': { status: 409, title: 'No card is saved for automatic payments' },
  'warranty-not-available': { status: 409, title: 'Renewal Warranty is not offered for this product' },
  'nothing-due': { status: 409, title: 'Nothing is due on this renewal' },
  'insufficient-prepaid-balance': { status: 409, title: 'The prepaid balance does not cover this amount' },
  'payment-declined': { status: 402, title: 'The payment was declined' },
  'deposit-out-of-range': {
    status: 422,
    title: `A prepaid deposit lies between ${PREPAID_DEPOSIT_RANGE.min.toFixed(2)} and ${PREPAID_DEPOSIT_RANGE.max.toFixed(2)} in the organization's currency`,
  },
  'payout-not-awaiting-approval': { status: 409, title: 'This payout is not awaiting a decision (decided, lapsed or refused)' },
  'handover-pending': { status: 409, title: 'A handover of the legal representation of this organization is under way' },
  'handover-invalid': { status: 422, title: 'This handover is not possible between these people' },
  'invitation-link-invalid': { status: 404, title: 'This invitation link is not valid, already used, cancelled or expired' },
  'invitation-not-for-you': { status: 403, title: 'This invitation was sent to another address than the one you are signed in with' },
  'invitation-resend-limit': { status: 429, title: 'This invitation was sent again too often or too recently' },
  'login-address-hosted': { status: 409, title: "Your login address belongs to one of this organization's mail services" },
  'part-of-ksuite': { status: 409, title: "You are part of this organization's kSuite" },
  'partner-application-refused': { status: 422, title: 'The organization does not meet the conditions of the partner program' },
  'not-a-partner': { status: 409, title: 'This organization is not a partner' },
  'invalid-credentials': { status: 401, title: 'The login or the password is not right' },
  'session-restricted': { status: 403, title: 'This login is restricted to one recovery step' },
  'login-required': { status: 403, title: 'Only a login session may do this, not an API token' },
  'reauthentication-required': { status: 403, title: 'This change needs the password (and the second factor when on) proved again within the last minutes' },
  'second-factor-required': { status: 401, title: 'The password is right; send the code of your authenticator app or a backup code as otp' },
  'invalid-second-factor': { status: 401, title: 'The second factor is not right' },
  'code-rejected': { status: 422, title: 'The code is wrong, expired, already used or tried too often' },
  'lock-threshold-out-of-bounds': { status: 422, title: 'The lock threshold is outside the allowed bounds' },
  'recovery-link-invalid': { status: 404, title: 'This recovery link is not valid, already used or expired' },
  'recovery-step-out-of-order': { status: 409, title: 'This recovery step is not possible now' },
  'two-factor-not-enabled': { status: 409, title: 'Two-factor authentication is not on' },
  'two-factor-already-enabled': { status: 409, title: 'Two-factor authentication is already on' },
  'request-pending': { status: 409, title: 'A request of this kind is already under way' },
  'login-address-not-hosted': { status: 409, title: 'The login address is not hosted by us; the holder changes it after logging in' },
  'email-taken': { status: 409, title: 'This address is the login of another account' },
  'account-locked': { status: 423, title: 'The account is locked after failed logins; an administrator or an identity check unlocks it' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Only application/json is accepted' },
  unprocessable: { status: 422, title: 'The request cannot be processed' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Something went wrong on our side' },
  unavailable: { status: 503, title: 'A dependency is unavailable; try again' },
} as const;
export type ProblemSlug = keyof typeof PROBLEM_TYPES;

export const problemTypeUri = (slug: ProblemSlug) => `/problems/${slug}`;

export class Problem extends Error {
  readonly status: number;
  /** Which request limiter refused (api/rateLimit.ts, api/recoveryLimits.ts): a metrics label, never in the answer. */
  limiter?: string;
  constructor(
    readonly slug: ProblemSlug,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? PROBLEM_TYPES[slug].title);
    this.status = PROBLEM_TYPES[slug].status;
    // Every 503 tells the client when to come back, including a route's own "could not start the process".
    if (this.status === 503 && extensions.retryAfterSeconds === undefined) this.extensions = { retryAfterSeconds: 5, ...extensions };
  }
  toJSON(instance?: string) {
    return { type: problemTypeUri(this.slug), title: PROBLEM_TYPES[this.slug].title, status: this.status, detail: this.detail, instance, ...this.extensions };
  }
}

/** The schema of every problem answer, for the routes' documented responses (one copy, not one per router). */
export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional(), instance: z.string().optional() })
  .loose()
  .meta({ id: 'Problem' });

/** The one not-found: `what` names the resource ("No such order"); never says whether it exists for someone else. */
export const notFound = (what: string) => new Problem('not-found', `No such ${what}`);

/** A dependency down or too slow: 503 with Retry-After, so that clients come back rather than give up. */
export const unavailable = (detail: string) => new Problem('unavailable', detail, { retryAfterSeconds: 5 });

/** A refusal by a request limiter; `limiter` names it in the metrics (api/metrics.ts). */
export function rateLimited(limiter: string, detail: string, retryAfterSeconds: number): Problem {
  const problem = new Problem('rate-limited', detail, { retryAfterSeconds });
  problem.limiter = limiter;
  return problem;
}

/** Writes a problem as the answer: application/problem+json, with Retry-After when it has one. */
export function sendProblem(req: Request, res: Response, problem: Problem): void {
  res.locals.problem = problem;
  if (problem.extensions.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.extensions.retryAfterSeconds));
  res.status(problem.status).type('application/problem+json').json(problem.toJSON(req.originalUrl));
}

/** Maps body-parser's errors (they carry `type`) and anything unexpected to problems. */
export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // The request deadline answered already (api/requestDeadline.ts): the handler's late refusal, or
    // its attempt to answer, is dropped; anything else late is still classified and logged below.
    if (res.locals.deadlinePassed && (err instanceof Problem || err?.code === 'ERR_HTTP_HEADERS_SENT')) {
      log.info('answer after the deadline dropped', { method: req.method, route: req.route?.path, problem: err instanceof Problem ? err.slug : undefined });
      return;
    }
    let problem: Problem;
    if (err instanceof Problem) problem = err;
    else if (err?.type === 'entity.parse.failed') problem = new Problem('malformed-json');
    else if (err?.type === 'entity.too.large') problem = new Problem('payload-too-large');
    else if (err?.type === 'charset.unsupported' || err?.type === 'encoding.unsupported') problem = new Problem('unsupported-media-type');
    // The body ended before its announced length, or the client went away while sending it.
    else if (err?.type === 'request.size.invalid' || err?.type === 'request.aborted')
      problem = new Problem('malformed-json', 'The body is shorter or longer than its Content-Length');
    // Express could not percent-decode a path parameter (`%zz`, or bytes that are not UTF-8): the client's path is wrong.
    else if (err instanceof URIError && (err as URIError & { status?: number }).status === 400)
      problem = new Problem('validation-failed', 'The path is not valid', {
        errors: [{ location: 'path', pointer: '/', message: 'a segment is not valid percent-encoded UTF-8' }],
      });
    else if (isDependencyDown(err)) {
      log.warn('dependency unavailable', { method: req.method, route: req.route?.path, error: err?.name, code: err?.code });
      problem = unavailable('A service the API depends on is unreachable; retry shortly');
    } else {
      // Log the class and message only: request bodies may hold personal data.
      log.error('unhandled error', { method: req.method, route: req.route?.path, error: err?.name, message: err?.message });
      problem = new Problem('internal');
    }
    if (res.headersSent) return;
    sendProblem(req, res, problem);
  };
}
