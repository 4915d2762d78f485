/**
 * Every request is answered within `ms`. One still running then gets 503 `unavailable` with
 * Retry-After, the answer an unreachable dependency gets (api/dependencyErrors.ts): a dependency that
 * hangs instead of refusing (a PostgreSQL lock or pool that waits, a Temporal call retried while its
 * server restarts) must not hold a client past its own timeout with no answer at all (issue 15).
 *
 * The handler is not stopped: what it does stays done, as when an answer is lost on the way, and the
 * client's retry meets the same idempotency rules. Its late answer is dropped: mountRoutes checks
 * `res.headersSent` and problemHandler knows `res.locals.deadlinePassed`.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../lib/logger';
import { sendProblem, unavailable } from './problems';

export function requestDeadline(ms: number, log: Logger): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      res.locals.deadlinePassed = true;
      // The route pattern only: a raw path may carry a link's credential.
      log.warn('request deadline passed', { method: req.method, route: req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched', ms });
      sendProblem(req, res, unavailable(`No answer within ${ms / 1000} s: a service the API depends on is slow or unreachable; retry shortly`));
    }, ms);
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}
