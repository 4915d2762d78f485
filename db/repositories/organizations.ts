import type { Db } from '../database';
import type { MembershipRole } from '../tables/memberships.table';

export async function findMembership(db: Db, organizationId: string, accountId: string): Promise<{ role: MembershipRole } | undefined> {
  return db.selectFrom('memberships').select('role').where('organization_id', '=', organizationId).where('account_id', '=', accountId).executeTakeFirst();
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

/** The database refused a change that would leave no legal representative (memberships_legal_representative_required). */
export const isLastLegalRepresentativeError = (err: unknown) =>
  (err as { code?: string; constraint?: string }).code === '23514' &&
  (err as { constraint?: string }).constraint === 'memberships_legal_representative_required';

/** What decides whether a member may leave: a kSuite seat, and whether their login address is on one of the organization's mail domains. */
export async function leavingFacts(db: Db, organizationId: string, accountId: string): Promise<{ inKsuite: boolean; hostedDomain: string | null }> {
  const me = await db
    .selectFrom('memberships as m')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .select(['m.in_ksuite', 'a.login_email'])
    .where('m.organization_id', '=', organizationId)
    .where('m.account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  const domain = me.login_email.slice(me.login_email.lastIndexOf('@') + 1).toLowerCase();
  const hosted = await db
    .selectFrom('organization_mail_domains')
    .select('domain')
    .where('organization_id', '=', organizationId)
    .where('domain', '=', domain)
    .executeTakeFirst();
  return { inKsuite: me.in_ksuite, hostedDomain: hosted ? domain : null };
}

/** Deletes a membership under the organization's lock; the database refuses to remove the last legal representative. */
export async function deleteMembership(trx: Db, organizationId: string, accountId: string): Promise<void> {
  await lockOrganization(trx, organizationId);
  await trx.deleteFrom('memberships').where('organization_id', '=', organizationId).where('account_id', '=', accountId).execute();
}
