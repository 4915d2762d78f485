/**
 * Failed proofs of a holder's password or second factor (P7). A wrong password at the login, at a
 * re-authentication or as the current password of a change all count the same way toward the lock
 * (issue 14, item 3): otherwise a stolen session could guess the password without ever locking it.
 * The call that locks the account audits it and starts the account-locked process. The lock
 * threshold is the holder's choice when they made one (issue 17, item 6), else the platform's.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { countFailedLogin } from '../../db/repositories/sessions';
import { loginAlert } from './loginAlerts';

export interface FailedLoginDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  lockAfterFailedLogins: number;
}

/**
 * `account.locked_at` as read before the failed attempt: the call that changes it reports the lock.
 * `null` for a login that names no account: the count runs against no row, so an unknown login
 * takes as long as a wrong password (issue 14, item 1; `npm run bench` measures the gap).
 */
export async function recordFailedLogin(
  deps: FailedLoginDeps,
  account: { id: string; locked_at: Date | null } | null,
  source: 'login' | 'reauthentication' | 'current_password',
  clientDescription: string | null = null,
): Promise<void> {
  const { db, client, taskQueue } = deps;
  const now = deps.clock.now();
  // A failed proof anywhere is an attempt on the password: the holder's failed-login alert covers them all.
  const alert = loginAlert(taskQueue, 'login_failed', { at: now, client: clientDescription });
  const row = await countFailedLogin(db, account?.id ?? null, { now, lockAfter: deps.lockAfterFailedLogins, alert });
  if (account && row && !account.locked_at && row.lockedAt) {
    await audit(db, {
      actor_type: 'system',
      actor_id: 'login',
      action: 'account.locked',
      subject_type: 'account',
      subject_id: account.id,
      decision: null,
      details: { failedLogins: row.failedLogins, source },
    });
    await client.workflow.start('accountLocked', {
      workflowId: `account-locked:${account.id}:${row.lockedAt.getTime()}`,
      taskQueue,
      args: [{ accountId: account.id, lockedAt: row.lockedAt.toISOString() }],
    });
  }
}
