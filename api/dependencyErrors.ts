/**
 * Connection-level failures of PostgreSQL (node socket errors, SQLSTATE class 08, shutdown
 * 57P01–57P03) and of Temporal's gRPC (UNAVAILABLE 14, DEADLINE_EXCEEDED 4): nothing the client
 * did wrong, so the API answers 503 with Retry-After instead of 500.
 */
const NODE_CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection due to administrator command/;

export function isDependencyDown(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth += 1) {
    const code = e.code;
    if (typeof code === 'string' && (NODE_CONNECTION_ERRORS.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code))) return true;
    if (typeof code === 'number' && (code === 14 || code === 4)) return true;
    if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  }
  return false;
}
