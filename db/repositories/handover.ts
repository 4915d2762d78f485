/**
 * P10 handovers, read for the acceptance page: the organization and who hands over, behind a
 * still-usable invitation link. Reads only: a GET of the page must change nothing.
 */
import type { Db } from '../database';
import { hashLinkToken } from './verification';

export async function pendingHandoverByToken(db: Db, token: string, now: Date) {
  const h = await db
    .selectFrom('legal_rep_handovers as h')
    .innerJoin('organizations as o', 'o.id', 'h.organization_id')
    .innerJoin('accounts as a', 'a.id', 'h.from_account_id')
    .select(['h.id', 'h.to_email', 'h.expires_at', 'o.name as organization_name', 'a.display_name as from_name'])
    .where('h.token_hash', '=', hashLinkToken(token))
    .where('h.status', '=', 'awaiting_acceptance')
    .executeTakeFirst();
  return h && (!h.expires_at || h.expires_at > now) ? h : undefined;
}
