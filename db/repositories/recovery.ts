/**
 * The SQL of the recovery processes (P3, P4): requests, their codes and reset tokens, and the
 * account reads and writes they need. Rules and transactions live in api/services/recovery.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { RECOVERY_CODE_MAX_TRIES, RECOVERY_CODE_VALIDITY_MS } from '../../lib/rules';
import type { Database, Db } from '../database';
import type { RecoveryRequestsTable } from '../tables/accounts.table';

/** Codes are bound to their request, so a code of one request never works for another. */
export const recoveryCodeScope = (requestId: string) => `recovery:${requestId}`;

/**
 * The no-oracle contract of recovery requests (issue 14, item 1). Whoever holds a request id but
 * not its code may learn only the request's stage and the tries left, and both follow from what
 * the caller did and from the clock alone, never from whether an account matched:
 * - every request gets its code clock when it is created, sent or not (so the tries count alike);
 * - once an identity check was asked, the request stays in `verification` for such callers, even
 *   after an unmatched one closed at once (a matched one stays open while its case runs);
 * - `confirmed` is reached only with the right code, which only the holder's phone received.
 * Routes see an account only through a matching code (`tryRequestCode`), never through the stage.
 */
export type RecoveryStage = 'open' | 'verification' | 'confirmed' | 'closed';
const stageOf = (r: { confirmed_at: Date | null; verification_case_id: string | null; closed_at: Date | null }): RecoveryStage =>
  r.confirmed_at ? (r.closed_at ? 'closed' : 'confirmed') : r.verification_case_id ? 'verification' : r.closed_at ? 'closed' : 'open';

/** The values a new request starts with: the code clock runs from here, whether a code goes out or not. */
export const newRecoveryRequest = (q: { id: string; kind: 'login_email' | 'password'; accountId: string | null; channel: 'sms' | 'email'; now: Date }) => ({
  id: q.id,
  kind: q.kind,
  account_id: q.accountId,
  channel: q.channel,
  code_expires_at: new Date(q.now.getTime() + RECOVERY_CODE_VALIDITY_MS),
});

/** Records a new request (see `newRecoveryRequest`), matched or not: the same insert either way. */
export async function createRecoveryRequest(
  db: Db,
  q: { id: string; kind: 'login_email' | 'password'; accountId: string | null; channel: 'sms' | 'email'; now: Date },
): Promise<void> {
  await db.insertInto('recovery_requests').values(newRecoveryRequest(q)).execute();
}

/** P3: the accounts of a mobile number (and recovery email, when given), at most two: enough to tell one from several. */
export async function accountsByPhone(db: Db, phone: string, recoveryEmail: string | undefined): Promise<string[]> {
  let q = db.selectFrom('accounts').select('id').where('mobile_phone', '=', phone);
  if (recoveryEmail) q = q.where((eb) => eb(eb.fn('lower', ['recovery_email']), '=', recoveryEmail.toLowerCase()));
  return (await q.limit(2).execute()).map((a) => a.id);
}

/** P4: the account of a login email, unless its login address was lost (P5 recovers that one). */
export async function accountByLogin(db: Db, login: string): Promise<string | undefined> {
  const a = await db
    .selectFrom('accounts')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['login_email']), '=', login.toLowerCase()))
    .where('login_address_lost_at', 'is', null)
    .executeTakeFirst();
  return a?.id;
}

/** P3: where a confirmed holder may have the login sent (unmasked: the caller masks). */
export async function recoveryContacts(db: Db, accountId: string): Promise<{ mobile_phone: string | null; recovery_email: string | null }> {
  return db.selectFrom('accounts').select(['mobile_phone', 'recovery_email']).where('id', '=', accountId).executeTakeFirstOrThrow();
}

/** P4: the reset token of a confirmed SMS request, stored as its hash. */
export async function setResetToken(db: Db, requestId: string, t: { hash: Buffer; expiresAt: Date }): Promise<void> {
  await db.updateTable('recovery_requests').set({ token_hash: t.hash, token_expires_at: t.expiresAt }).where('id', '=', requestId).execute();
}

/**
 * P4: spends a reset token in one statement: only an unused, unexpired token of an open password
 * request matches, and the match erases it, so a link works once. Returns the request it belonged to.
 */
export async function spendResetToken(db: Db, hash: Buffer, now: Date): Promise<{ id: string; account_id: string | null } | undefined> {
  return db
    .updateTable('recovery_requests')
    .set({ token_used_at: now, token_hash: null })
    .where('token_hash', '=', hash)
    .where('kind', '=', 'password')
    .where('token_used_at', 'is', null)
    .where('closed_at', 'is', null)
    .where('token_expires_at', '>', now)
    .returning(['id', 'account_id'])
    .executeTakeFirst();
}

/** P4: the new password, and the failed-login count back to zero (the lock itself stays, P7). */
export async function setResetPassword(db: Db, accountId: string, passwordHash: string): Promise<void> {
  await db.updateTable('accounts').set({ password_hash: passwordHash, failed_logins: 0 }).where('id', '=', accountId).execute();
}

export async function recoveryStage(db: Db, kind: RecoveryRequestsTable['kind'], requestId: string): Promise<RecoveryStage | undefined> {
  const r = await db
    .selectFrom('recovery_requests')
    .select(['confirmed_at', 'verification_case_id', 'closed_at'])
    .where('id', '=', requestId)
    .where('kind', '=', kind)
    .executeTakeFirst();
  return r && stageOf(r);
}

/**
 * Records that an identity check was asked, unless the request is closed: the check's id is fixed
 * here, for every request, so a repeated ask finds it. An unmatched request's id names no case.
 * Returns the stage afterwards; `asked` is true for the one call that moved it to `verification`.
 */
export async function askVerification(
  db: Db,
  kind: RecoveryRequestsTable['kind'],
  requestId: string,
): Promise<{ stage: RecoveryStage | undefined; asked: boolean }> {
  const marked = await db
    .updateTable('recovery_requests')
    .set({ verification_case_id: randomUUID() })
    .where('id', '=', requestId)
    .where('kind', '=', kind)
    .where('verification_case_id', 'is', null)
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  if (Number(marked.numUpdatedRows) === 1) return { stage: 'verification', asked: true };
  return { stage: await recoveryStage(db, kind, requestId), asked: false };
}

/** Compared against when no code exists, so a refusal costs the same HMAC and comparison as a wrong code. */
const NO_CODE = Buffer.alloc(32);

/**
 * One try of a recovery request's code, counted under the row lock and compared in constant time.
 * A match confirms the request and consumes the code; the last wrong try voids it. Every refusal
 * (wrong, expired, used, no tries left, nothing ever sent) looks the same to the caller, and the
 * tries left depend only on the tries made and the clock (see `RecoveryStage`).
 */
export async function tryRequestCode(
  trx: Transaction<Database>,
  secrets: AccountSecrets,
  q: { requestId: string; kind: RecoveryRequestsTable['kind']; accountId?: string; code: string; now: Date },
): Promise<
  { found: false } | { found: true; ok: false; attemptsLeft: number } | { found: true; ok: true; accountId: string | null; pendingEmail: string | null }
> {
  let sel = trx
    .selectFrom('recovery_requests')
    .select(['account_id', 'code_hash', 'code_attempts', 'code_expires_at', 'confirmed_at', 'verification_case_id', 'closed_at', 'pending_email'])
    .where('id', '=', q.requestId)
    .where('kind', '=', q.kind);
  if (q.accountId) sel = sel.where('account_id', '=', q.accountId);
  const r = await sel.forUpdate().executeTakeFirst();
  if (!r) return { found: false };
  const open = stageOf(r) === 'open' && r.code_attempts < RECOVERY_CODE_MAX_TRIES && !!r.code_expires_at && r.code_expires_at > q.now;
  if (!open) return { found: true, ok: false, attemptsLeft: 0 };
  const attempts = r.code_attempts + 1;
  const matches = secrets.codeMatches(r.code_hash ?? NO_CODE, recoveryCodeScope(q.requestId), q.code) && !!r.code_hash;
  await trx
    .updateTable('recovery_requests')
    .set({ code_attempts: attempts, ...(matches ? { confirmed_at: q.now, code_hash: null } : attempts >= RECOVERY_CODE_MAX_TRIES ? { code_hash: null } : {}) })
    .where('id', '=', q.requestId)
    .execute();
  if (!matches) return { found: true, ok: false, attemptsLeft: RECOVERY_CODE_MAX_TRIES - attempts };
  return { found: true, ok: true, accountId: r.account_id, pendingEmail: r.pending_email };
}
