import { randomUUID } from 'node:crypto';
import type { Db } from '../database';
import type { SessionScope } from '../tables/accounts.table';
import { tokenHash } from '../../lib/accountSecrets';

export async function createSession(db: Db, s: { accountId: string; scope: SessionScope; now: Date; ttlMs: number }): Promise<{ id: string; expiresAt: Date }> {
  const id = randomUUID();
  const expiresAt = new Date(s.now.getTime() + s.ttlMs);
  await db.insertInto('sessions').values({ id, account_id: s.accountId, scope: s.scope, expires_at: expiresAt }).execute();
  return { id, expiresAt };
}

/** The session's scope while it is neither ended nor expired; undefined otherwise. */
export async function activeSession(db: Db, id: string, accountId: string, now: Date): Promise<SessionScope | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select('scope')
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.scope;
}

/** Ends every session of the account, or every one but `except`. */
export async function endSessions(db: Db, accountId: string, now: Date, except?: string): Promise<number> {
  let q = db.updateTable('sessions').set({ revoked_at: now }).where('account_id', '=', accountId).where('revoked_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** An API token as a bearer credential: usable while not revoked, deactivated or expired; its use is recorded. */
export async function useApiToken(db: Db, token: string, now: Date): Promise<{ accountId: string; tokenId: string } | undefined> {
  const row = await db
    .updateTable('access_tokens')
    .set({ last_used_at: now })
    .where('token_hash', '=', tokenHash(token))
    .where('kind', '=', 'api_token')
    .where('revoked_at', 'is', null)
    .where('deactivated_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returning(['id', 'account_id'])
    .executeTakeFirst();
  return row && { accountId: row.account_id, tokenId: row.id };
}
