/**
 * The structured logger, on pino (issue 19, item 4). Call sites pass identifiers (grant, ticket,
 * workflow IDs), never addresses, phone numbers, names or codes: logs leave the system of record.
 * Personal fields are redacted by path anyway, should one slip into a log call, and every line of
 * a request carries its request id (lib/requestContext.ts).
 */
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { currentRequestId } from './requestContext';

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Fields that hold personal data or secrets wherever they appear (top level or one object down). */
const PERSONAL = [
  'email',
  'loginEmail',
  'login',
  'recipient',
  'to',
  'phone',
  'mobilePhone',
  'name',
  'displayName',
  'password',
  'code',
  'otp',
  'token',
  'authorization',
];
export const REDACTED_PATHS = [...PERSONAL, ...PERSONAL.map((f) => `*.${f}`)];

export function createLogger(level: Level = 'info', base: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const p = pino(
    {
      level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => {
        const requestId = currentRequestId();
        // With tracing on, the trace id too: a log line leads to its trace.
        const span = trace.getActiveSpan();
        const traceId = span?.isRecording() ? span.spanContext().traceId : undefined;
        return { ...(requestId ? { requestId } : {}), ...(traceId ? { traceId } : {}) };
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return {
    debug: (m, f) => p.debug(f ?? {}, m),
    info: (m, f) => p.info(f ?? {}, m),
    warn: (m, f) => p.warn(f ?? {}, m),
    error: (m, f) => p.error(f ?? {}, m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
