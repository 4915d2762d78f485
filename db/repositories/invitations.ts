/**
 * P9 member invitations: the rows behind the invitation routes and the acceptance page (what a
 * still-usable link offers: the organization, the role, whether it is limited to some products),
 * the role changes and the organization's details. The page's reads change nothing: a GET of the
 * page must change nothing.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { ContactPreferences, OrganizationInvitationsTable } from '../tables/invitations.table';
import type { MembershipRole } from '../tables/memberships.table';
import { lockOrganization } from './organizations';
import { hashLinkToken } from './verification';

export type OrganizationInvitation = Selectable<OrganizationInvitationsTable>;

export async function pendingInvitationByToken(db: Db, token: string, now: Date) {
  return db
    .selectFrom('organization_invitations as i')
    .innerJoin('organizations as o', 'o.id', 'i.organization_id')
    .select(['i.id', 'i.email', 'i.role', 'i.product_ids', 'o.name as organization_name'])
    .where('i.token_hash', '=', hashLinkToken(token))
    .where('i.status', '=', 'pending')
    .where('i.expires_at', '>', now)
    .executeTakeFirst();
}

/** The pending invitation behind a link token, expired or not (the caller compares expires_at with its clock). */
export async function pendingInvitationForAcceptance(db: Db, token: string) {
  return db
    .selectFrom('organization_invitations')
    .select(['id', 'organization_id', 'email', 'role', 'expires_at'])
    .where('token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'pending')
    .executeTakeFirst();
}

export async function findInvitation(db: Db, id: string): Promise<OrganizationInvitation> {
  return db.selectFrom('organization_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** An invitation of the organization (its id and status), if any. */
export async function invitationOf(db: Db, organizationId: string, invitationId: string) {
  return db
    .selectFrom('organization_invitations')
    .select(['id', 'status'])
    .where('id', '=', invitationId)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
}

/** The organization's pending invitations, newest first. */
export async function pendingInvitationsOf(db: Db, organizationId: string): Promise<OrganizationInvitation[]> {
  return db
    .selectFrom('organization_invitations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'pending')
    .orderBy('created_at', 'desc')
    .execute();
}

/**
 * A new invitation, not sent yet (the workflow sends it). False when the address has a pending
 * invitation to the organization already (the unique index).
 */
export async function insertInvitation(
  db: Db,
  i: {
    id: string;
    organizationId: string;
    invitedBy: string;
    email: string;
    role: OrganizationInvitation['role'];
    productIds: string[];
    contactPreferences: ContactPreferences;
    expiresAt: Date;
  },
): Promise<boolean> {
  try {
    await db
      .insertInto('organization_invitations')
      .values({
        id: i.id,
        organization_id: i.organizationId,
        invited_by: i.invitedBy,
        email: i.email,
        role: i.role,
        product_ids: i.productIds,
        contact_preferences: JSON.stringify(i.contactPreferences),
        token_hash: null,
        sent_at: null,
        expires_at: i.expiresAt,
        accepted_by: null,
      })
      .execute();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return false;
    throw err;
  }
}

export async function deleteInvitation(db: Db, id: string): Promise<void> {
  await db.deleteFrom('organization_invitations').where('id', '=', id).execute();
}

/** The member of the organization whose login is this address (case-insensitive), if any. */
export async function memberIdByLoginEmail(db: Db, organizationId: string, email: string): Promise<string | undefined> {
  const member = await db
    .selectFrom('memberships as m')
    .innerJoin('accounts as a', 'a.id', 'm.account_id')
    .select('a.id')
    .where('m.organization_id', '=', organizationId)
    .where((eb) => eb(eb.fn('lower', ['a.login_email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  return member?.id;
}

/** How many of these products belong to the organization. */
export async function countOwnedProducts(db: Db, organizationId: string, productIds: string[]): Promise<number> {
  const owned = await db.selectFrom('products').select('id').where('organization_id', '=', organizationId).where('id', 'in', productIds).execute();
  return owned.length;
}

export async function loginEmailOf(db: Db, accountId: string): Promise<string | undefined> {
  const account = await db.selectFrom('accounts').select('login_email').where('id', '=', accountId).executeTakeFirst();
  return account?.login_email;
}

/**
 * Changes a member's role under the organization's lock; call inside a transaction. The database
 * refuses to remove the last legal representative (isLastLegalRepresentativeError).
 */
export async function setMemberRole(trx: Db, organizationId: string, accountId: string, role: MembershipRole): Promise<void> {
  await lockOrganization(trx, organizationId);
  await trx.updateTable('memberships').set({ role }).where('organization_id', '=', organizationId).where('account_id', '=', accountId).execute();
}

export async function renameOrganization(db: Db, organizationId: string, name: string): Promise<void> {
  await db.updateTable('organizations').set({ name }).where('id', '=', organizationId).execute();
}

/** A member's product rights (null: all products) and contact preferences, as they are now. */
export async function memberRights(db: Db, organizationId: string, accountId: string) {
  return db
    .selectFrom('memberships')
    .select(['role', 'product_ids', 'contact_preferences'])
    .where('organization_id', '=', organizationId)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
}

/** Changes a member's product rights and/or contact preferences (issue 17, item 7). */
export async function setMemberRights(
  db: Db,
  organizationId: string,
  accountId: string,
  change: { productIds?: string[] | null; contactPreferences?: ContactPreferences },
): Promise<void> {
  await db
    .updateTable('memberships')
    .set({
      ...(change.productIds !== undefined ? { product_ids: change.productIds } : {}),
      ...(change.contactPreferences ? { contact_preferences: JSON.stringify(change.contactPreferences) } : {}),
    })
    .where('organization_id', '=', organizationId)
    .where('account_id', '=', accountId)
    .execute();
}
