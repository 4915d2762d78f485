import type { Transaction } from 'kysely';
import type { AccountSecrets } from '../../lib/accountSecrets';
import { RECOVERY_CODE_MAX_TRIES } from '../../lib/rules';
import type { Database } from '../database';
import type { RecoveryRequestsTable } from '../tables/accounts.table';

/** Codes are bound to their request, so a code of one request never works for another. */
export const recoveryCodeScope = (requestId: string) => `recovery:${requestId}`;

/**
 * One try of a recovery request's code, counted under the row lock and compared in constant time.
 * A match confirms the request and consumes the code; the last wrong try voids it. Every refusal
 * (wrong, expired, used, no tries left, nothing ever sent) looks the same to the caller.
 */
export async function tryRequestCode(
  trx: Transaction<Database>,
  secrets: AccountSecrets,
  q: { requestId: string; kind: RecoveryRequestsTable['kind']; accountId?: string; code: string; now: Date },
): Promise<{ found: false } | { found: true; ok: false; attemptsLeft: number } | { found: true; ok: true; accountId: string | null; pendingEmail: string | null }> {
  let sel = trx
    .selectFrom('recovery_requests')
    .select(['account_id', 'code_hash', 'code_attempts', 'code_expires_at', 'confirmed_at', 'closed_at', 'pending_email'])
    .where('id', '=', q.requestId)
    .where('kind', '=', q.kind);
  if (q.accountId) sel = sel.where('account_id', '=', q.accountId);
  const r = await sel.forUpdate().executeTakeFirst();
  if (!r) return { found: false };
  const open = !r.closed_at && !r.confirmed_at && r.code_attempts < RECOVERY_CODE_MAX_TRIES && !!r.code_expires_at && r.code_expires_at > q.now;
  if (!open) return { found: true, ok: false, attemptsLeft: 0 };
  const attempts = r.code_attempts + 1;
  const matches = secrets.codeMatches(r.code_hash, recoveryCodeScope(q.requestId), q.code);
  await trx
    .updateTable('recovery_requests')
    .set({ code_attempts: attempts, ...(matches ? { confirmed_at: q.now, code_hash: null } : attempts >= RECOVERY_CODE_MAX_TRIES ? { code_hash: null } : {}) })
    .where('id', '=', q.requestId)
    .execute();
  if (!matches) return { found: true, ok: false, attemptsLeft: RECOVERY_CODE_MAX_TRIES - attempts };
  return { found: true, ok: true, accountId: r.account_id, pendingEmail: r.pending_email };
}
