/**
 * Liveness and readiness (issue 19, item 6). `/health` says the process answers, nothing more: a
 * restart would not bring PostgreSQL back. `/ready` says whether this instance can serve now
 * (api/services/health.ts checks Temporal and PostgreSQL); otherwise 503 `unavailable`
 * problem+json with Retry-After, so a load balancer takes it out of rotation until they are back.
 * The worker's metrics listener answers the same two paths (temporal/workerMetrics.ts).
 */
import { Problem } from '../problems';
import type { Check } from '../services/health';

// The two entry points mount /ready from here (api/app.ts, temporal/workerMetrics.ts).
export { checkDependencies, type Check } from '../services/health';

/** The answer to `/ready`: 200 with the checks, or the problem to send. */
export function readiness(
  checks: Record<string, Check>,
): { ready: true; body: { status: 'ready'; checks: Record<string, Check> } } | { ready: false; problem: Problem } {
  const down = Object.entries(checks)
    .filter(([, v]) => v !== 'ok')
    .map(([k]) => k);
  if (!down.length) return { ready: true, body: { status: 'ready', checks } };
  return { ready: false, problem: new Problem('unavailable', `Not ready: ${down.join(' and ')} unavailable`, { checks, retryAfterSeconds: 5 }) };
}

export const LIVENESS = { status: 'ok' } as const;
