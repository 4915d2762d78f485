/**
 * The HTTP API: thin. It authenticates, validates, authorizes, then starts, updates or queries
 * workflows and reads PostgreSQL. No business timers or side effects live here: it never reaches
 * the payment provider (payments are processes, workflows/payment.ts).
 */
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import express, { type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import type { Logger } from '../lib/logger';
import type { Keyring } from '../temporal/codec';
import { authenticate } from './auth';
import { codecRouter } from './codec';
import { deskRouter } from './desk';
import { codecService } from './services/codec';
import { customerPagesRouter } from './pages';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { PROBLEM_TYPES, Problem, problemHandler, sendProblem, type ProblemSlug } from './problems';
import { rateLimit } from './rateLimit';
import { requestDeadline } from './requestDeadline';
import { cancellationRoutes } from './routes/cancellation';
import { LIVENESS, checkDependencies, readiness } from './routes/health';
import { orderRoutes } from './routes/orders';
import { prepaidRoutes } from './routes/prepaid';
import { handoverRoutes } from './routes/handover';
import { invitationRoutes } from './routes/invitations';
import { organizationRoutes } from './routes/organizations';
import { partnerRoutes } from './routes/partners';
import { renewalRoutes } from './routes/renewal';
import { rfpRoutes } from './routes/rfps';
import { sessionRoutes } from './routes/sessions';
import { accountSecurityRoutes } from './routes/accountSecurity';
import { agentRoutes } from './routes/agents';
import { recoveryRoutes } from './routes/recovery';
import { RecoveryLimiter, type RecoveryLimitSettings } from './recoveryLimits';
import { accountSecrets } from '../lib/accountSecrets';
import { activeAgentSession, activeSession, useApiToken } from '../db/repositories/sessions';
import { supportAccessRoutes } from './routes/supportAccess';
import { verificationRoutes } from './routes/verification';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from '../lib/rules';
import { requestIdFrom, withRequestId } from '../lib/requestContext';
import { isLinkRoute, mountLargeBodyParsers, mountRoutes, openApiDocument, type AnyRoute } from './routing';

export interface AppDeps {
  client: Client;
  db: Kysely<Database>;
  log: Logger;
  clock?: { now(): Date };
  /** Master keys; verification documents are sealed with keys derived from them. */
  keyring: Keyring;
  config: {
    authSecret: string;
    taskQueue: string;
    rateLimitPerMinute: number;
    trustedProxies?: string[];
    /** Keys the limits apart from other deployments sharing the database (tests); default: the auth secret. */ limitKeySecret?: string;
    publicUrl: string;
    lockAfterFailedLogins?: number;
    recoveryLimits?: RecoveryLimitSettings;
    paymentSettleWaitMs?: number;
    requestTimeoutMs?: number;
    /** Origins of the Temporal UI that may call /codec (CORS); none by default. */
    codecOrigins?: string[];
  };
  /** Local-only pages (the dev outbox); mounted by `npm start` when it runs the embedded mail and SMS peers. */
  devRouter?: express.Router;
  /** The entry point passes one with process metrics; tests get a fresh registry per app. */
  metrics?: ApiMetrics;
}

export function apiRoutes(
  deps: Pick<AppDeps, 'client' | 'db' | 'clock' | 'config' | 'keyring'>,
  limits = new RecoveryLimiter(deps.config.recoveryLimits),
): AnyRoute[] {
  const clock = deps.clock ?? { now: () => new Date() };
  const { client, db, keyring } = deps;
  const { taskQueue, publicUrl, authSecret } = deps.config;
  const secrets = accountSecrets(keyring);
  return [
    ...supportAccessRoutes({ client, db, taskQueue, clock }),
    ...verificationRoutes({ client, db, taskQueue, clock, keyring, publicUrl }),
    ...orderRoutes({ client, db, taskQueue, clock }),
    ...cancellationRoutes({ client, db, taskQueue, clock }),
    ...organizationRoutes({ db }),
    ...handoverRoutes({ client, db, taskQueue, clock }),
    ...invitationRoutes({ client, db, taskQueue, clock }),
    ...partnerRoutes({ client, db, taskQueue, clock }),
    ...rfpRoutes({ client, db, taskQueue, clock }),
    ...sessionRoutes({
      client,
      db,
      taskQueue,
      clock,
      authSecret,
      secrets,
      lockAfterFailedLogins: deps.config.lockAfterFailedLogins ?? ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT,
    }),
    ...recoveryRoutes({ client, db, taskQueue, clock, secrets, limits }),
    ...accountSecurityRoutes({
      client,
      db,
      taskQueue,
      clock,
      authSecret,
      secrets,
      lockAfterFailedLogins: deps.config.lockAfterFailedLogins ?? ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT,
    }),
    ...agentRoutes({ db, clock }),
    ...renewalRoutes({ client, db, taskQueue, clock, settleWaitMs: deps.config.paymentSettleWaitMs }),
    ...prepaidRoutes({ client, db, taskQueue, clock }),
  ];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // The client address (rate limits, recovery limits) comes from X-Forwarded-For only through a
  // proxy we were told to trust; a forged header from anyone else changes nothing (issue 21).
  app.set('trust proxy', deps.config.trustedProxies?.length ? deps.config.trustedProxies : false);
  const clock = deps.clock ?? { now: () => new Date() };
  // Limits live in PostgreSQL, shared by every replica and kept across restarts (api/limiterStore.ts).
  const limitStore = { db: deps.db, secret: deps.config.limitKeySecret ?? deps.config.authSecret };
  const limits = new RecoveryLimiter(deps.config.recoveryLimits, limitStore);
  const routes = apiRoutes(deps, limits);
  const openapi = openApiDocument(routes, {
    title: 'backoffice API',
    version: '1',
    description: 'Durable account, security and billing processes. Errors are RFC 9457 problem details.',
  });

  // Every request has an id (the caller's X-Request-Id when it is one, else a new one), answered in
  // X-Request-Id and carried by every log line of the request, in the API and, through Temporal
  // headers, in its workflows and activities (lib/requestContext.ts, temporal/requestIds.ts).
  app.use((req, res, next) => {
    const requestId = requestIdFrom(req.get('x-request-id'));
    res.set('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    withRequestId(requestId, next);
  });
  // The request's span (issue 19, item 3), the parent of the workflow starts it makes; a no-op until
  // tracing is on (temporal/tracing.ts). A caller's traceparent makes it part of the caller's trace.
  app.use((req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = trace.getTracer('backoffice-api').startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.on('finish', () => {
      // The route pattern, never the raw path: it may carry tokens.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined;
      if (route) span.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode).setAttribute('request.id', res.locals.requestId as string);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  });
  const metrics = deps.metrics ?? createApiMetrics();
  app.use(metrics.middleware);
  // One line per request: the route pattern, never the raw URL or query (they may carry addresses).
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const requestId = res.locals.requestId as string;
      deps.log.info('request', { requestId, method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    next();
  });
  // Unset in tests that wait longer on purpose; the entry points pass API_REQUEST_TIMEOUT_MS.
  if (deps.config.requestTimeoutMs) app.use(requestDeadline(deps.config.requestTimeoutMs, deps.log));

  app.get('/health', (_req, res) => void res.json(LIVENESS));
  app.get('/ready', async (req, res) => {
    const answer = readiness(await checkDependencies(deps.client, deps.db));
    if (answer.ready) res.json(answer.body);
    else sendProblem(req, res, answer.problem);
  });
  // Behind a `system` bearer token rather than on a second port: the API role has one listener and
  // Prometheus sends a bearer token from a file natively, while a second listener would need its own
  // host, port and network rule to stay internal. The worker has no public listener: its metrics port
  // is the internal side and needs no token (temporal/workerMetrics.ts).
  const credentials = {
    session: (sid: string, accountId: string) => activeSession(deps.db, sid, accountId, clock.now()),
    agentSession: (sid: string, agentId: string) => activeAgentSession(deps.db, sid, agentId, clock.now()),
    apiToken: (token: string) => useApiToken(deps.db, token, clock.now()),
  };
  app.get('/metrics', authenticate(deps.config.authSecret, credentials) as RequestHandler, async (req, res) => {
    if (req.principal?.role !== 'system') throw new Problem('forbidden', 'Metrics are for a system token');
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => void res.json(openapi));
  app.get('/problems/:slug', (req, res) => {
    const slug = req.params.slug as ProblemSlug;
    if (!Object.hasOwn(PROBLEM_TYPES, slug)) throw new Problem('not-found', 'No such problem type');
    res.json({ type: `/problems/${slug}`, ...PROBLEM_TYPES[slug] });
  });
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  app.get(['/docs', '/docs/'], (_req, res) => void res.type('html').send(DOCS_PAGE));
  app.use('/docs', express.static(swaggerDir, { index: false }));
  app.use('/desk', deskRouter());
  // Readable payloads for supervisors in the Temporal UI (issue 19, item 5).
  app.use(
    '/codec',
    rateLimit({ perMinute: deps.config.rateLimitPerMinute, name: 'codec', store: limitStore }),
    codecRouter({
      authSecret: deps.config.authSecret,
      credentials,
      codec: codecService({ db: deps.db, keyring: deps.keyring }),
      origins: deps.config.codecOrigins ?? [],
    }),
  );
  if (deps.devRouter) app.use('/dev', deps.devRouter);
  // Customer pages (issue 18), before the bearer authentication: a page carries its credential in
  // the link or a page sign-in. Only page paths enter; an unknown one answers 404 as a page.
  app.use(customerPagesRouter({ ...deps, clock, limits, limitStore, credentials }));

  // Customer verification links carry their own credential; identity images need a larger body.
  const links = express.Router();
  links.use(
    ['/v1/verification', '/v1/cancellation-requests', '/v1/requests-for-proposal/cancel', '/v1/sessions', '/v1/recovery'],
    rateLimit({ perMinute: deps.config.rateLimitPerMinute, name: 'links', store: limitStore }),
  );
  links.use('/v1/recovery', limits.perAddress());
  links.use(['/v1/sessions', '/v1/recovery'], express.json({ limit: '10kb', strict: true }));
  // Identity images (28 MB) are read only once the link in the path is known to be valid.
  mountLargeBodyParsers(links, routes.filter(isLinkRoute));
  links.use('/v1/verification', express.json({ limit: '100kb', strict: true }));
  mountRoutes(links, routes.filter(isLinkRoute), { clock, log: deps.log });
  app.use(links);

  const v1 = express.Router();
  // Before authentication, by client address (bad tokens count too); after, per principal.
  v1.use(rateLimit({ perMinute: deps.config.rateLimitPerMinute * 2, name: 'client-address', store: limitStore }));
  v1.use(authenticate(deps.config.authSecret, credentials) as RequestHandler);
  v1.use(rateLimit({ perMinute: deps.config.rateLimitPerMinute, name: 'principal', store: limitStore }));
  v1.use(express.json({ limit: '100kb', strict: true }));
  mountRoutes(
    v1,
    routes.filter((route) => !isLinkRoute(route)),
    { clock, log: deps.log },
  );
  app.use(v1);

  app.use((req, _res, next) => next(new Problem('not-found', `No route for ${req.method} ${req.path}`)));
  app.use(problemHandler(deps.log));
  return app;
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>backoffice API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', persistAuthorization: true });</script>
</body></html>`;
