import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { ACCOUNT_LOCK_FAILED_LOGINS_MAX, ACCOUNT_LOCK_FAILED_LOGINS_MIN } from '../../lib/rules';
import { Problem } from '../problems';

/**
 * P7 [003]: the holder chooses after how many failed logins in a row the account locks, within
 * bounds; null returns to the platform's threshold. Audited, since a higher one gives a guesser more tries.
 */
export async function setLockThreshold(db: Kysely<Database>, accountId: string, failedLogins: number | null): Promise<void> {
  if (failedLogins !== null && (failedLogins < ACCOUNT_LOCK_FAILED_LOGINS_MIN || failedLogins > ACCOUNT_LOCK_FAILED_LOGINS_MAX)) {
    throw new Problem('lock-threshold-out-of-bounds', `Choose from ${ACCOUNT_LOCK_FAILED_LOGINS_MIN} to ${ACCOUNT_LOCK_FAILED_LOGINS_MAX} failed logins`);
  }
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('accounts').set({ lock_after_failed_logins: failedLogins }).where('id', '=', accountId).execute();
    await audit(trx, {
      actor_type: 'customer',
      actor_id: accountId,
      action: 'account.lock_threshold_changed',
      subject_type: 'account',
      subject_id: accountId,
      decision: null,
      details: { failedLogins },
    });
  });
}
