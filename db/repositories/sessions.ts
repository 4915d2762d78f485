import { randomUUID } from 'node:crypto';
import type { Db } from '../database';
import type { SessionScope } from '../tables/accounts.table';
import { tokenHash, type AccountSecrets } from '../../lib/accountSecrets';
import { normalizeBackupCode } from '../../lib/otp';

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

/**
 * Accepts a TOTP time step once (issue 14, item 7): true only for a step later than every one
 * accepted before, in one statement, so a code replayed within its window, or raced, is refused.
 */
export async function acceptTotpStep(db: Db, accountId: string, step: number): Promise<boolean> {
  const res = await db
    .updateTable('accounts')
    .set({ totp_last_step: step })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The account's new set of backup codes, hashed under the current key and recorded with its id. */
export async function replaceBackupCodes(db: Db, secrets: AccountSecrets, accountId: string, codes: readonly string[]): Promise<void> {
  await db.deleteFrom('backup_codes').where('account_id', '=', accountId).execute();
  const rows = codes.map((c) => {
    const { keyId, hash } = secrets.backupCodeHash(accountId, normalizeBackupCode(c));
    return { account_id: accountId, code_hash: hash, key_id: keyId };
  });
  if (rows.length > 0) await db.insertInto('backup_codes').values(rows).execute();
}

/** Consumes an unused backup code, checked under the key each code was made with; true when it was one. */
export async function useBackupCode(db: Db, secrets: AccountSecrets, accountId: string, code: string, now: Date): Promise<boolean> {
  const keys = await db.selectFrom('backup_codes').select('key_id').distinct().where('account_id', '=', accountId).where('used_at', 'is', null).execute();
  const candidates = secrets.backupCodeCandidates(
    accountId,
    normalizeBackupCode(code),
    keys.map((k) => k.key_id),
  );
  if (candidates.length === 0) return false;
  const used = await db
    .updateTable('backup_codes')
    .set({ used_at: now })
    .where('account_id', '=', accountId)
    .where('code_hash', 'in', candidates)
    .where('used_at', 'is', null)
    .returning('account_id')
    .executeTakeFirst();
  return !!used;
}
