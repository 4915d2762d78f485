import type { Db } from '../database';
import type { MembershipRole } from '../tables/memberships.table';

export async function findMembership(db: Db, organizationId: string, accountId: string): Promise<{ role: MembershipRole } | undefined> {
  return db
    .selectFrom('memberships')
    .select('role')
    .where('organization_id', '=', organizationId)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
}

export async function organizationIdsOf(db: Db, accountId: string): Promise<string[]> {
  const rows = await db.selectFrom('memberships').select('organization_id').where('account_id', '=', accountId).execute();
  return rows.map((r) => r.organization_id);
}

/**
 * Membership changes take the organization's row lock first, the lock the legal-representative
 * trigger takes: concurrent changes of one organization then queue instead of deadlocking.
 */
export async function lockOrganization(db: Db, organizationId: string): Promise<void> {
  await db.selectFrom('organizations').select('id').where('id', '=', organizationId).forUpdate().execute();
}
