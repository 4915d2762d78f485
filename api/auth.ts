/**
 * Bearer credentials, checked on every /v1 route:
 * - HS256 JWTs with `sub` (account, agent or system id), `role` and `exp` (required: a token
 *   without it is refused). Customer and agent tokens also carry `sid`, a session that must still
 *   be open (for an agent: and the agent not deactivated), so ending it takes effect at once;
 *   a customer's `scope` is the session's, and a restricted scope reaches only the routes that
 *   name it; the session's last proof of the password (`reauthenticatedAt`) decides whether it
 *   may make the changes marked recentLogin (issue 14, item 3). Logins (`POST /v1/sessions`) and
 *   operators (`npm run token`, `npm run seed`, through api/services/bearerTokens.ts) open those
 *   sessions; only a login's counts as re-authenticated. System tokens name a service, not a person:
 *   they have no session and end with their `exp` (issue 14, item 4).
 * - API tokens (`bo_…`, P8): opaque, looked up by hash, with a lifetime and a recorded last use.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';
import type { SessionScope } from '../db/tables/accounts.table';
import { Problem } from './problems';

export const ROLES = ['customer', 'agent', 'system'] as const;
export type Role = (typeof ROLES)[number];
export const SESSION_SCOPES = ['full', 'second_factor', 'locked', 'login_address_change'] as const satisfies readonly SessionScope[];
export interface Principal {
  sub: string;
  role: Role;
  /** What the credential may do; 'full' unless a login left it restricted. */
  scope: SessionScope;
  /** The session a customer or agent token is tied to; absent for system tokens and API tokens. */
  sid?: string;
  /** A customer session's last proof of the password (and second factor): its login, or a re-authentication. */
  reauthenticatedAt?: Date;
}

const ISSUER = 'backoffice';
const AUDIENCE = 'backoffice-api';
const claims = z.object({ sub: z.string().min(1).max(200), role: z.enum(ROLES), sid: z.uuid().optional(), scope: z.enum(SESSION_SCOPES).optional() });

const keyOf = (secret: string) => new TextEncoder().encode(secret);
export const API_TOKEN_PREFIX = 'bo_';

/** Signs a token; customer and agent tokens need a session (`sid`) to be accepted (see bearerTokens.ts). */
export async function issueToken(secret: string, principal: Omit<Principal, 'scope'> & { scope?: SessionScope }, ttl: string | number): Promise<string> {
  return new SignJWT({ role: principal.role, ...(principal.sid ? { sid: principal.sid, scope: principal.scope ?? 'full' } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(keyOf(secret));
}

/**
 * Tokens whose signature and claims were checked, until their exp (issue 20, item 3: a signature
 * check per request was a tenth of the API's CPU). A token's content cannot change, so its answer
 * cannot either; its session is still looked up on every request, so ending it takes effect at once.
 */
const VERIFIED_TOKENS_MAX = 10_000;
const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();

export async function verifyToken(secret: string, token: string): Promise<Principal> {
  // A digest, not the secret and the token: a heap snapshot of the cache gives away neither.
  const key = createHash('sha256').update(secret).update('\0').update(token).digest('base64');
  const hit = verified.get(key);
  if (hit && hit.expiresAtMs > Date.now()) return { ...hit.principal };
  const { principal, expiresAtMs } = await verifyUncached(secret, token);
  if (verified.size >= VERIFIED_TOKENS_MAX) verified.clear();
  verified.set(key, { principal, expiresAtMs });
  return { ...principal };
}

async function verifyUncached(secret: string, token: string): Promise<{ principal: Principal; expiresAtMs: number }> {
  const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['exp'] });
  const c = claims.parse(payload);
  // A person's token without a session could never be ended; a service's token has none to end.
  if ((c.role === 'system') === !!c.sid) throw new Error(c.sid ? 'a system token has no session' : 'a customer or agent token needs a session');
  if (c.role !== 'system' && !z.uuid().safeParse(c.sub).success) throw new Error('a customer or agent is named by its id');
  return { principal: { sub: c.sub, role: c.role, scope: c.scope ?? 'full', ...(c.sid ? { sid: c.sid } : {}) }, expiresAtMs: payload.exp! * 1000 };
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export interface CredentialStore {
  /** An open session of this account (its scope and last re-authentication), or undefined when it ended or expired. */
  session(sid: string, accountId: string): Promise<{ scope: SessionScope; reauthenticatedAt: Date | null } | undefined>;
  /** Whether an agent's session is open and the agent not deactivated. */
  agentSession(sid: string, agentId: string): Promise<boolean>;
  apiToken(token: string): Promise<{ accountId: string } | undefined>;
}

export function authenticate(secret: string, store?: CredentialStore): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
    if (!match) throw new Problem('unauthenticated', 'Send "Authorization: Bearer <token>"', { challenge: 'Bearer' });
    const credential = match[1]!;
    if (store && credential.startsWith(API_TOKEN_PREFIX)) {
      const found = await store.apiToken(credential);
      if (!found) throw new Problem('unauthenticated', 'The API token is invalid, revoked, deactivated or expired');
      req.principal = { sub: found.accountId, role: 'customer', scope: 'full' };
      return next();
    }
    let principal: Principal;
    try {
      principal = await verifyToken(secret, credential);
    } catch {
      throw new Problem('unauthenticated', 'The token is invalid or expired');
    }
    if (principal.role === 'agent') {
      if (!store || !(await store.agentSession(principal.sid!, principal.sub)))
        throw new Problem('unauthenticated', 'This session has ended, or the agent is deactivated');
    } else if (principal.role === 'customer') {
      const session = store ? await store.session(principal.sid!, principal.sub) : undefined;
      if (session?.scope !== principal.scope) throw new Problem('unauthenticated', 'This session has ended');
      if (session.reauthenticatedAt) principal.reauthenticatedAt = session.reauthenticatedAt;
    }
    req.principal = principal;
    next();
  };
}
