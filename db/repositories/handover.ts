/**
 * P10 legal-representative handovers: the rows behind the handover routes and the acceptance page
 * (the organization and who hands over, behind a still-usable invitation link). The page's reads
 * change nothing: a GET of the page must change nothing.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { LegalRepHandoversTable } from '../tables/handover.table';
import { hashLinkToken } from './verification';

export type LegalRepHandover = Selectable<LegalRepHandoversTable>;

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

/** The handover awaiting acceptance behind a link token, lapsed or not (the caller compares expires_at with its clock). */
export async function handoverAwaitingAcceptance(db: Db, token: string) {
  return db
    .selectFrom('legal_rep_handovers')
    .select(['id', 'organization_id', 'to_email', 'expires_at'])
    .where('token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'awaiting_acceptance')
    .executeTakeFirst();
}

export async function findHandover(db: Db, id: string): Promise<LegalRepHandover> {
  return db.selectFrom('legal_rep_handovers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** A handover of the organization (its id and status), if any. */
export async function handoverOf(db: Db, organizationId: string, handoverId: string) {
  return db
    .selectFrom('legal_rep_handovers')
    .select(['id', 'status'])
    .where('id', '=', handoverId)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
}

/**
 * A new handover: awaiting acceptance when someone is invited by email, transferring otherwise.
 * False when another handover of the organization is under way (the unique index).
 */
export async function insertHandover(
  db: Db,
  h: {
    id: string;
    organizationId: string;
    requestedBy: string;
    from: string;
    toAccount: string | null;
    toEmail: string | null;
    requestedAt: Date;
    expiresAt: Date | null;
    formerStaysAs?: 'administrator' | 'collaborator' | null;
  },
): Promise<boolean> {
  try {
    await db
      .insertInto('legal_rep_handovers')
      .values({
        id: h.id,
        organization_id: h.organizationId,
        requested_by: h.requestedBy,
        from_account_id: h.from,
        to_account_id: h.toAccount,
        to_email: h.toEmail,
        token_hash: null,
        status: h.toEmail ? 'awaiting_acceptance' : 'transferring',
        requested_at: h.requestedAt,
        expires_at: h.expiresAt,
        former_stays_as: h.formerStaysAs ?? null,
      })
      .execute();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return false;
    throw err;
  }
}

export async function deleteHandover(db: Db, id: string): Promise<void> {
  await db.deleteFrom('legal_rep_handovers').where('id', '=', id).execute();
}

/** The invitation was accepted: the handover transfers and its link is spent. */
export async function markHandoverAccepted(db: Db, id: string): Promise<void> {
  await db
    .updateTable('legal_rep_handovers')
    .set({ status: 'transferring', token_hash: null })
    .where('id', '=', id)
    .where('status', '=', 'awaiting_acceptance')
    .execute();
}
