/**
 * P9 member invitations, read for the acceptance page: what a still-usable link offers (the
 * organization, the role, whether it is limited to some products). Reads only: a GET of the page
 * must change nothing.
 */
import type { Db } from '../database';
import { hashLinkToken } from './verification';

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
