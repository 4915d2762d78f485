/**
 * P11 partner program: applications, an organization's program, and the client invitations a
 * partner sends (the rights requested, then granted by the client). The partnerships themselves
 * are db/repositories/partnerships.ts.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { ClientInvitationsTable, PartnerApplicationsTable, PartnerRights } from '../tables/partners.table';
import { hashLinkToken } from './verification';

export type ClientInvitation = Selectable<ClientInvitationsTable>;

/** The organization's program (partner, affiliate or none); the organization must exist. */
export async function programOf(db: Db, organizationId: string) {
  const org = await db.selectFrom('organizations').select('program').where('id', '=', organizationId).executeTakeFirstOrThrow();
  return org.program;
}

/** Records an application and its decision; call inside a transaction with makePartner and the audit. */
export async function insertPartnerApplication(trx: Db, a: Omit<Selectable<PartnerApplicationsTable>, 'created_at'>): Promise<void> {
  await trx.insertInto('partner_applications').values(a).execute();
}

/** An organization in no program becomes a partner. */
export async function makePartner(trx: Db, organizationId: string): Promise<void> {
  await trx.updateTable('organizations').set({ program: 'partner' }).where('id', '=', organizationId).where('program', 'is', null).execute();
}

export async function insertClientInvitation(
  db: Db,
  i: { id: string; partnerOrganizationId: string; invitedBy: string; clientEmail: string; requested: PartnerRights; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('client_invitations')
    .values({
      id: i.id,
      partner_organization_id: i.partnerOrganizationId,
      invited_by: i.invitedBy,
      client_email: i.clientEmail,
      requested: JSON.stringify(i.requested),
      granted: null,
      client_organization_id: null,
      token_hash: null,
      sent_at: null,
      expires_at: i.expiresAt,
    })
    .execute();
}

export async function deleteClientInvitation(db: Db, id: string): Promise<void> {
  await db.deleteFrom('client_invitations').where('id', '=', id).execute();
}

export async function findClientInvitation(db: Db, id: string): Promise<ClientInvitation> {
  return db.selectFrom('client_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** The partner's client invitations, newest first (500 at most). */
export async function clientInvitationsOf(db: Db, partnerOrganizationId: string): Promise<ClientInvitation[]> {
  return db
    .selectFrom('client_invitations')
    .selectAll()
    .where('partner_organization_id', '=', partnerOrganizationId)
    .orderBy('created_at', 'desc')
    .limit(500)
    .execute();
}

/** A client invitation of the partner (its status), if any. */
export async function clientInvitationOf(db: Db, partnerOrganizationId: string, invitationId: string) {
  return db
    .selectFrom('client_invitations')
    .select('status')
    .where('id', '=', invitationId)
    .where('partner_organization_id', '=', partnerOrganizationId)
    .executeTakeFirst();
}

/** The pending client invitation behind a link token, expired or not (the caller compares expires_at with its clock). */
export async function pendingClientInvitationByToken(db: Db, token: string) {
  return db
    .selectFrom('client_invitations')
    .select(['id', 'partner_organization_id', 'client_email', 'requested', 'expires_at'])
    .where('token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'pending')
    .executeTakeFirst();
}

/** What the client-invitation page shows: the partner's name and the rights asked (issue 18). */
export async function clientInvitationOffer(db: Db, token: string) {
  return db
    .selectFrom('client_invitations as i')
    .innerJoin('organizations as o', 'o.id', 'i.partner_organization_id')
    .select(['i.client_email', 'i.requested', 'i.expires_at', 'o.name as partner_name'])
    .where('i.token_hash', '=', hashLinkToken(token))
    .where('i.status', '=', 'pending')
    .executeTakeFirst();
}

/** The organizations the account manages (legal representative or administrator), with their active products, by name. */
export async function managedOrganizationsWithProducts(db: Db, accountId: string) {
  const orgs = await db
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.organization_id')
    .select(['o.id', 'o.name'])
    .where('m.account_id', '=', accountId)
    .where('m.role', 'in', ['legal_representative', 'administrator'])
    .orderBy('o.name')
    .execute();
  if (!orgs.length) return [];
  const products = await db
    .selectFrom('products')
    .select(['id', 'name', 'organization_id'])
    .where(
      'organization_id',
      'in',
      orgs.map((o) => o.id),
    )
    .where('status', '!=', 'terminated')
    .orderBy('name')
    .execute();
  return orgs.map((o) => ({ id: o.id, name: o.name, products: products.filter((p) => p.organization_id === o.id).map((p) => ({ id: p.id, name: p.name })) }));
}

/** The client's answer, recorded before the workflow accepts it (its activity creates the partnership). */
export async function recordGrantedRights(db: Db, invitationId: string, clientOrganizationId: string, granted: PartnerRights): Promise<void> {
  await db
    .updateTable('client_invitations')
    .set({ granted: JSON.stringify(granted), client_organization_id: clientOrganizationId })
    .where('id', '=', invitationId)
    .where('status', '=', 'pending')
    .execute();
}
