/**
 * The HTTP API: thin. It authenticates, validates, authorizes, then starts, updates or queries
 * workflows and reads PostgreSQL. No business timers or side effects live here.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import express, { type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import type { Logger } from '../lib/logger';
import { authenticate } from './auth';
import { PROBLEM_TYPES, Problem, problemHandler, type ProblemSlug } from './problems';
import { rateLimit } from './rateLimit';
import { checkHealth } from './routes/health';
import { supportAccessRoutes } from './routes/supportAccess';
import { mountRoutes, openApiDocument, type AnyRoute } from './routing';

export interface AppDeps {
  client: Client;
  db: Kysely<Database>;
  log: Logger;
  clock?: { now(): Date };
  config: { authSecret: string; taskQueue: string; rateLimitPerMinute: number };
  /** Local-only pages (the dev outbox); mounted by `npm start` when it runs the embedded mail and SMS peers. */
  devRouter?: express.Router;
}

export function apiRoutes(deps: Pick<AppDeps, 'client' | 'db' | 'clock' | 'config'>): AnyRoute[] {
  const clock = deps.clock ?? { now: () => new Date() };
  return [...supportAccessRoutes({ client: deps.client, db: deps.db, taskQueue: deps.config.taskQueue, clock })];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const routes = apiRoutes(deps);
  const openapi = openApiDocument(routes, {
    title: 'backoffice API',
    version: '1',
    description: 'Durable account, security and billing processes. Errors are RFC 9457 problem details.',
  });

  // One line per request: the route pattern, never the raw URL or query (they may carry addresses).
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      deps.log.info('request', { method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    next();
  });

  app.get('/health', async (_req, res) => {
    const { status, body } = await checkHealth(deps.client, deps.db);
    res.status(status).json(body);
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
  if (deps.devRouter) app.use('/dev', deps.devRouter);

  const v1 = express.Router();
  // Before authentication, by client address (bad tokens count too); after, per principal.
  v1.use(rateLimit({ perMinute: deps.config.rateLimitPerMinute * 2 }));
  v1.use(authenticate(deps.config.authSecret) as RequestHandler);
  v1.use(rateLimit({ perMinute: deps.config.rateLimitPerMinute }));
  v1.use(express.json({ limit: '100kb', strict: true }));
  mountRoutes(v1, routes);
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
