/**
 * Routes are declared as data: the same zod schemas validate requests and generate /openapi.json,
 * so the documentation cannot drift from what the API accepts.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { SessionScope } from '../db/tables/accounts.table';
import type { Logger } from '../lib/logger';
import { REAUTHENTICATION_MAX_AGE_MS } from '../lib/rules';
import type { Principal, Role } from './auth';
import { Problem } from './problems';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Bytes sent as they are (images) instead of a JSON body. */
  raw?: { contentType: string; data: Buffer };
}

export interface RouteDef<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: Method;
  /** Express syntax, e.g. /v1/support-access-grants/:id */
  path: string;
  summary: string;
  tag: string;
  /**
   * Who may call it; anyone authenticated with another role gets 403. Empty for routes whose
   * path carries its own credential (a customer's single-purpose link), mounted before bearer auth.
   */
  roles: readonly Role[];
  /**
   * Restricted logins this route also serves (a login waiting for its second factor, a locked
   * account, a lost login address). Every route serves full sessions; no other route serves these.
   */
  scopes?: readonly Exclude<SessionScope, 'full'>[];
  /**
   * Only a login session may call it, never an API token (issue 14): re-authentication itself, and
   * every recentLogin route (which implies it).
   */
  loginOnly?: boolean;
  /**
   * A privileged session only (issue 14, item 3): the password, and the second factor when 2FA is
   * on, proved within REAUTHENTICATION_MAX_AGE_MS, by the login itself or by
   * POST /v1/sessions/current/reauthentication. For changes that hand the account to whoever holds
   * the session: minting credentials, the login email, the password, 2FA (and the recovery email
   * or mobile number, should a route ever change them). Implies loginOnly.
   */
  recentLogin?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * A body larger than its router accepts (identity images): its limit, and the check of the
   * path's own credential, which must pass before a byte of the body is read.
   */
  largeBody?: { limit: string; admit: (params: z.infer<P>) => Promise<void> };
  responses: Record<number, { description: string; schema?: z.ZodType; mediaType?: string }>;
  handler: (ctx: { params: z.infer<P>; query: z.infer<Q>; body: z.infer<B>; principal: Principal; req: Request }) => Promise<Reply>;
}

export type AnyRoute = RouteDef<AnyObject, AnyObject, z.ZodType>;

export function defineRoute<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodUndefined>(
  def: RouteDef<P, Q, B>,
): AnyRoute {
  return def as unknown as AnyRoute;
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, location: string): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new Problem('validation-failed', `The ${location} is not valid`, {
    errors: result.error.issues.map((i) => ({ location, pointer: '/' + i.path.join('/'), message: i.message })),
  });
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\0') || LONE_SURROGATE.test(text);
const pointerToken = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every string a route receives (path, query, body, member names included) is Unicode text that
 * PostgreSQL can store: a NUL byte fails there (it used to answer 500) and a lone surrogate would
 * be stored as U+FFFD, so both are refused as invalid input, once, for every route. Walked with an
 * explicit stack, so deep nesting costs memory in proportion to the body, never the call stack.
 */
function refuseUnstorableStrings(value: unknown, location: string): void {
  const errors: { location: string; pointer: string; message: string }[] = [];
  const stack: { value: unknown; pointer: string }[] = [{ value, pointer: '' }];
  while (stack.length > 0 && errors.length < 10) {
    const { value: v, pointer } = stack.pop()!;
    if (typeof v === 'string') {
      if (unstorable(v)) errors.push({ location, pointer: pointer || '/', message: 'holds a NUL character or a lone surrogate' });
    } else if (v !== null && typeof v === 'object') {
      for (const [key, member] of Object.entries(v)) {
        // The member name itself is not echoed: it is what cannot be shown.
        if (unstorable(key)) errors.push({ location, pointer: pointer || '/', message: 'a member name holds a NUL character or a lone surrogate' });
        else stack.push({ value: member, pointer: `${pointer}/${pointerToken(key)}` });
      }
    }
  }
  if (errors.length > 0) throw new Problem('validation-failed', `The ${location} is not valid`, { errors });
}

const RESTRICTED_SCOPE_HELP: Record<Exclude<SessionScope, 'full'>, string> = {
  second_factor: 'POST /v1/accounts/me/two-factor/disable-requests (log in again with the second factor for everything else)',
  locked: 'POST /v1/accounts/me/unlock-requests',
  login_address_change: 'POST /v1/accounts/me/login-email and its confirmation (and POST /v1/sessions/current/reauthentication)',
};

const REAUTHENTICATION_HELP = `Prove your password again, with "otp" too when 2FA is on: POST /v1/sessions/current/reauthentication {"password":"…","otp":"…"}; this login may then do it for ${REAUTHENTICATION_MAX_AGE_MS / 60_000} minutes`;

/** Link routes authenticate by the token in their path: the handler must check it. */
export const isLinkRoute = (route: AnyRoute) => route.roles.length === 0;
const LINK_PRINCIPAL: Principal = Object.freeze({ sub: 'link', role: 'customer', scope: 'full' });

export function mountRoutes(router: Router, routes: AnyRoute[], opts: { clock?: { now(): Date }; log?: Logger } = {}): void {
  const clock = opts.clock ?? { now: () => new Date() };
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      // The request deadline (api/requestDeadline.ts) answered while authentication or the body was slow: start nothing.
      if (res.headersSent) return;
      const principal = isLinkRoute(route) ? LINK_PRINCIPAL : req.principal;
      if (!principal) throw new Problem('unauthenticated');
      if (!isLinkRoute(route) && !route.roles.includes(principal.role)) {
        throw new Problem('forbidden', `This operation is for ${route.roles.join(' or ')} tokens`);
      }
      if (principal.scope !== 'full' && !route.scopes?.includes(principal.scope)) {
        throw new Problem('session-restricted', `This login only allows: ${RESTRICTED_SCOPE_HELP[principal.scope]}`);
      }
      if ((route.loginOnly || route.recentLogin) && !principal.sid) {
        throw new Problem('login-required', 'Log in (POST /v1/sessions) to do this: an API token may not');
      }
      if (route.recentLogin) {
        const at = principal.reauthenticatedAt?.getTime();
        if (at === undefined || clock.now().getTime() - at > REAUTHENTICATION_MAX_AGE_MS) {
          throw new Problem('reauthentication-required', REAUTHENTICATION_HELP, {
            reauthenticate: 'POST /v1/sessions/current/reauthentication',
            maxAgeSeconds: REAUTHENTICATION_MAX_AGE_MS / 1000,
          });
        }
      }
      if (route.body && !req.is('application/json')) {
        throw new Problem('unsupported-media-type', 'Send the body as application/json');
      }
      refuseUnstorableStrings(req.params, 'path');
      refuseUnstorableStrings(req.query, 'query');
      if (route.body) refuseUnstorableStrings(req.body, 'body');
      const params = parse(route.params, req.params, 'path');
      const query = parse(route.query, req.query, 'query');
      const body = parse(route.body, req.body, 'body');
      const reply = await route.handler({ params, query, body, principal, req });
      if (res.headersSent) {
        // The deadline answered 503 meanwhile: the work stays done, only this answer is dropped.
        opts.log?.info('answer after the deadline dropped', { method: req.method, route: route.path, status: reply.status });
        return;
      }
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      if (reply.raw) return void res.status(reply.status).type(reply.raw.contentType).send(reply.raw.data);
      if (reply.status === 204) return void res.status(204).end();
      res.status(reply.status).json(reply.body);
    });
  }
}

/**
 * Mounts, ahead of a router's small body parser, the parser of each route that takes a large body,
 * behind the route's admission check: an unknown or used-up link costs one lookup, never a 28 MB
 * read. A refusal closes the connection, so the rest of the body is not even drained.
 */
export function mountLargeBodyParsers(router: Router, routes: AnyRoute[]): void {
  for (const route of routes) {
    const large = route.largeBody;
    if (!large) continue;
    const parser = express.json({ limit: large.limit, strict: true });
    router[route.method](route.path, async (req: Request, res: Response, next: (err?: unknown) => void) => {
      try {
        refuseUnstorableStrings(req.params, 'path');
        await large.admit(parse(route.params, req.params, 'path'));
      } catch (err) {
        res.setHeader('Connection', 'close');
        throw err;
      }
      parser(req, res, next);
    });
  }
}

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

export function openApiDocument(routes: AnyRoute[], info: { title: string; version: string; description: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters = [
      ...Object.entries(route.params?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'path',
        required: true,
        schema: jsonSchema(schema as z.ZodType, 'input'),
      })),
      ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(schema as z.ZodType, 'input'),
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema
          ? { content: { [Number(status) >= 400 ? 'application/problem+json' : 'application/json']: { schema: jsonSchema(r.schema, 'output') } } }
          : {}),
        ...(r.mediaType ? { content: { [r.mediaType]: { schema: { type: 'string', format: 'binary' } } } } : {}),
      };
    }
    responses['401'] ??= {
      description: 'Missing or invalid bearer token',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
    responses['400'] ??= { description: 'Invalid request', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    if (route.recentLogin)
      responses['403'] ??= {
        description: 'reauthentication-required: the password was not proved within the last minutes; or login-required: an API token',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    if (isLinkRoute(route)) delete responses['401'];
    (paths[toOpenApiPath(route.path)] ??= {})[route.method] = {
      summary: route.summary,
      tags: [route.tag],
      ...(isLinkRoute(route)
        ? { security: [] }
        : {
            'x-roles': route.roles,
            ...(route.scopes ? { 'x-restricted-scopes': route.scopes } : {}),
            ...(route.loginOnly || route.recentLogin ? { 'x-login-only': true } : {}),
            ...(route.recentLogin ? { 'x-recent-login': true } : {}),
          }),
      parameters,
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            errors: { type: 'array', items: { type: 'object' } },
          },
          required: ['type', 'title', 'status'],
        },
      },
    },
  };
}
