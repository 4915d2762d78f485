/**
 * Bearer tokens for people and services outside a password login (issue 14, item 4): operators
 * (`npm run token`), the demo seed, tests. A customer or agent token is tied to a session opened
 * here for its lifetime, so it can be ended like a login (and an agent's by deactivating the
 * agent); a system token names a service and has only its expiry.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { createAgentSession, createSession } from '../../db/repositories/sessions';
import { issueToken, type Role } from '../auth';

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `12h`, `30d` in milliseconds; undefined for anything else. */
export function parseLifetime(text: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] as keyof typeof UNITS] : 0;
  return ms > 0 ? ms : undefined;
}

export class UnknownSubjectError extends Error {}

export async function issueBearerToken(
  /** `db` is needed for customers and agents only. */
  deps: { db?: Kysely<Database>; authSecret: string; now?: Date },
  subject: { role: Role; sub: string },
  lifetimeMs: number,
): Promise<{ token: string; expiresAt: Date; sessionId?: string }> {
  const now = deps.now ?? new Date();
  const ttl = Math.max(1, Math.floor(lifetimeMs / 1000));
  let session: { id: string; expiresAt: Date } | undefined;
  if (subject.role !== 'system' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subject.sub))
    throw new UnknownSubjectError('a customer or agent is named by its id');
  const db = deps.db;
  if (subject.role !== 'system' && !db) throw new Error('a customer or agent token needs the database for its session');
  if (subject.role === 'customer' && db) {
    const account = await db.selectFrom('accounts').select('id').where('id', '=', subject.sub).executeTakeFirst();
    if (!account) throw new UnknownSubjectError(`no account ${subject.sub}`);
    session = await createSession(db, { accountId: subject.sub, scope: 'full', now, ttlMs: ttl * 1000 });
  } else if (subject.role === 'agent' && db) {
    session = await createAgentSession(db, { agentId: subject.sub, now, ttlMs: ttl * 1000 });
    if (!session) throw new UnknownSubjectError(`no active agent ${subject.sub}`);
  }
  const token = await issueToken(deps.authSecret, { role: subject.role, sub: subject.sub, ...(session ? { sid: session.id } : {}) }, `${ttl}s`);
  return { token, expiresAt: session?.expiresAt ?? new Date(now.getTime() + ttl * 1000), ...(session ? { sessionId: session.id } : {}) };
}
