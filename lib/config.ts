/**
 * The one place environment variables are read. Called by entry points only; nothing runs at import.
 * Every embedded part (Temporal, PostgreSQL, SMTP, SMS) is used only when its variables are unset.
 */
import { z } from 'zod';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from './rules';
import { parseBusinessHours } from './businessHours';

const port = z.coerce.number().int().min(0).max(65_535);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const optionalUrl = (protocols: string[]) =>
  optionalString.refine((v) => v === undefined || (URL.canParse(v) && protocols.includes(new URL(v).protocol)), {
    message: `must be a URL with protocol ${protocols.join(' or ')}`,
  });

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    DATA_DIR: z.string().default('.data'),

    API_HOST: z.string().default('127.0.0.1'),
    PORT: port.default(3000),
    PUBLIC_URL: optionalUrl(['http:', 'https:']),
    AUTH_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
      message: 'must be at least 32 characters',
    }),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
    /**
     * Issue 21: the load balancers or proxies in front of the API, as addresses or CIDRs separated by
     * commas (`10.0.0.0/8,192.168.1.4`). Only a request that came through one of them has its client
     * address taken from X-Forwarded-For; from anyone else the header is ignored. Empty: none.
     */
    TRUSTED_PROXIES: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .refine((list) => list.every((p) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p)), { message: 'addresses or CIDRs separated by commas' }),
    /**
     * Origins of the Temporal UI allowed to call the codec endpoint /codec (issue 19, item 5), comma
     * separated; `npm start` adds its embedded UI's. Empty: none.
     */
    CODEC_CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .refine((list) => list.every((o) => URL.canParse(o) && ['http:', 'https:'].includes(new URL(o).protocol)), {
        message: 'origins (http or https URLs) separated by commas',
      }),
    /** How long a payment request waits for its process to settle before answering 202 with the payment to poll. */
    PAYMENT_SETTLE_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(5_000),
    /**
     * A request not answered by then gets 503 `unavailable` with Retry-After (api/requestDeadline.ts):
     * a dependency that hangs instead of refusing never holds a client longer than this.
     */
    API_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(15_000),

    TEMPORAL_ADDRESS: optionalString,
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('backoffice'),
    TEMPORAL_DEV_PORT: port.default(7233),
    TEMPORAL_UI_PORT: port.default(8233),
    /**
     * The embedded Temporal server when TEMPORAL_ADDRESS is unset: the CLI dev server on SQLite, or
     * the full server on the PostgreSQL the back office uses (temporal/postgresServer.ts), as production runs it.
     */
    TEMPORAL_PERSISTENCE: z.enum(['dev', 'postgres']).default('dev'),
    PAYLOAD_ENCRYPTION_KEY: optionalString.refine((v) => v === undefined || Buffer.from(v, 'base64').length === 32, {
      message: 'must be 32 bytes, base64-encoded',
    }),
    PAYLOAD_ENCRYPTION_KEY_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .default('k1'),
    /** Older keys kept for decryption after a rotation: "id=base64,id=base64". */
    PAYLOAD_DECRYPTION_KEYS: optionalString.refine(
      (v) => v === undefined || v.split(',').every((pair) => /^[A-Za-z0-9_.-]{1,64}=[A-Za-z0-9+/]{43}=$/.test(pair.trim())),
      { message: 'must be a comma-separated list of id=<32 bytes base64>' },
    ),

    DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
    EMBEDDED_POSTGRES_PORT: port.default(54329),

    SMTP_URL: optionalUrl(['smtp:', 'smtps:']),
    SMTP_CAPTURE_PORT: port.default(2525),
    MAIL_FROM: z.string().default('Backoffice <no-reply@backoffice.localhost>'),

    TWILIO_ACCOUNT_SID: optionalString,
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_FROM: optionalString,
    /** Sends the twilio client's requests to another origin (a local peer in tests). */
    TWILIO_API_URL: optionalUrl(['http:', 'https:']),
    SMS_SINK_PORT: port.default(3090),

    /** P2: verification cases are due 2 business hours after submission, counted in these hours. */
    VERIFICATION_BUSINESS_HOURS: z.string().default('Mon-Fri 08:00-18:00'),
    VERIFICATION_TIME_ZONE: z.string().default('Europe/Zurich'),
    /** Where overdue verification cases are escalated. */
    SUPERVISORS_EMAIL: z.email().default('supervisors@backoffice.localhost'),
    /** P14: the time zone of the daily renewal sweep's schedule (it runs at 03:15 there). */
    RENEWAL_SWEEP_TIME_ZONE: z.string().default('Europe/Zurich'),
    /** P7: failed logins in a row that lock an account (the pages say "configurable"). */
    ACCOUNT_LOCK_FAILED_LOGINS: z.coerce.number().int().min(3).max(100).default(ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT),
    /**
     * Workflows a worker keeps in memory between tasks. Renewal processes wait months between steps,
     * so caching every one (the SDK's default scales with the machine's memory) buys nothing. 200
     * keeps 100,000 renewal runs and 10,000 open cases within 1 GB (issue 20, item 4); an evicted
     * workflow replays its history on its next task, which shows only past 200 busy at once.
     */
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
    /** A workflow bundle built beforehand (`npm run chaos` does): a worker then starts in seconds. */
    WORKFLOW_BUNDLE_PATH: optionalString,
    /**
     * The worker role's /metrics, /health and /ready, on API_HOST (temporal/workerMetrics.ts); 0 = off.
     * Internal: no token. The API serves its own /metrics on PORT to a `system` token.
     */
    WORKER_METRICS_PORT: port.default(9464),
    /**
     * The Temporal SDK's Prometheus exporter, bound on 127.0.0.1 by the worker role and appended to
     * WORKER_METRICS_PORT's /metrics; 0 = no SDK metrics. Off whenever WORKER_METRICS_PORT is 0.
     */
    TEMPORAL_METRICS_PORT: port.default(9465),
    /** OTLP/HTTP collector (e.g. http://localhost:4318): traces from request to activity are sent there; unset = no tracing. */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(['http:', 'https:']),
    /** Worker versioning (temporal/deployments.ts): the deployment this worker's build belongs to. */
    WORKER_DEPLOYMENT_NAME: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore')
      .default('backoffice'),
    /** This worker's build (e.g. the commit); set, the worker is versioned and new processes go to the current build only. */
    WORKER_BUILD_ID: optionalString.refine((v) => v === undefined || /^[A-Za-z0-9._-]{1,100}$/.test(v), { message: 'letters, digits, dot, dash, underscore' }),
  })
  .superRefine((env, ctx) => {
    try {
      parseBusinessHours(env.VERIFICATION_BUSINESS_HOURS, env.VERIFICATION_TIME_ZONE);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['VERIFICATION_BUSINESS_HOURS'], message: (err as Error).message });
    }
    if (env.PAYMENT_SETTLE_WAIT_MS >= env.API_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENT_SETTLE_WAIT_MS'],
        message: 'must be shorter than API_REQUEST_TIMEOUT_MS (a slow payment would answer 503 instead of 202)',
      });
    }
    const twilio = [env.TWILIO_ACCOUNT_SID, env.TWILIO_AUTH_TOKEN, env.TWILIO_FROM];
    if (twilio.some((v) => v !== undefined) && twilio.some((v) => v === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_ACCOUNT_SID'],
        message: 'TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM go together',
      });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of ['AUTH_SECRET', 'PAYLOAD_ENCRYPTION_KEY', 'TEMPORAL_ADDRESS', 'DATABASE_URL', 'SMTP_URL'] as const) {
        if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(env)'), message: issue.message })));
  }
  return parsed.data;
}
