/**
 * Bearer tokens: HS256 JWTs with `sub` (account, agent or system id) and `role`.
 * Issued by `npm run token` and `npm run seed` for local use; verified on every /v1 route.
 */
import type { RequestHandler } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';
import { Problem } from './problems';

export const ROLES = ['customer', 'agent', 'system'] as const;
export type Role = (typeof ROLES)[number];
export interface Principal {
  sub: string;
  role: Role;
}

const ISSUER = 'backoffice';
const AUDIENCE = 'backoffice-api';
const claims = z.object({ sub: z.string().min(1).max(200), role: z.enum(ROLES) });

const keyOf = (secret: string) => new TextEncoder().encode(secret);

export async function issueToken(secret: string, principal: Principal, ttl: string = '12h'): Promise<string> {
  return new SignJWT({ role: principal.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(keyOf(secret));
}

export async function verifyToken(secret: string, token: string): Promise<Principal> {
  const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
  return claims.parse(payload);
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function authenticate(secret: string): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
    if (!match) throw new Problem('unauthenticated', 'Send "Authorization: Bearer <token>"', { challenge: 'Bearer' });
    try {
      req.principal = await verifyToken(secret, match[1]!);
    } catch {
      throw new Problem('unauthenticated', 'The token is invalid or expired');
    }
    next();
  };
}
