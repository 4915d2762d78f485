/**
 * The API's Prometheus metrics (issue 19, item 2): latency per route pattern and status (its
 * `_count` is the request rate), problems by type, refusals by the request limiters. Labels are
 * route patterns and problem slugs, never the raw URL: no ids, no addresses. One registry per app,
 * so that tests building several apps in one process do not share counters.
 */
import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Problem } from './problems';

export interface ApiMetrics {
  registry: Registry;
  /** Times every request and counts its problem and its refusal, if any, when the answer is sent. */
  middleware: RequestHandler;
}

export function createApiMetrics(opts: { processMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  // Process metrics (CPU, memory, event loop) once per process: the entry point asks for them.
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API requests by route pattern, method and status: latency, and by _count the request rate',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const problems = new Counter({
    name: 'backoffice_problems_total',
    help: 'Problem answers (RFC 9457) by type and status',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'backoffice_rate_limit_refusals_total',
    help: 'Requests refused with 429, by limiter (or by problem type for the business limits)',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const stop = duration.startTimer();
    res.on('finish', () => {
      // Unmatched paths (404s, static files, refusals before routing) share one label.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      stop({ method: req.method, route, status: String(res.statusCode) });
      const problem = res.locals.problem as Problem | undefined;
      if (!problem) return;
      problems.inc({ type: `/problems/${problem.slug}`, status: String(problem.status) });
      if (problem.status === 429) refusals.inc({ limiter: problem.limiter ?? problem.slug });
    });
    next();
  };
  return { registry, middleware };
}
