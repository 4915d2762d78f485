/** P11 requests for proposal, read for the cancel page: the open request behind a cancel link. Reads only. */
import type { Db } from '../database';
import { hashLinkToken } from './verification';

export async function openRfpByCancelToken(db: Db, token: string) {
  return db
    .selectFrom('requests_for_proposal')
    .select(['id', 'title', 'summary', 'closes_at'])
    .where('cancel_token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'open')
    .executeTakeFirst();
}

export async function insertRfp(
  db: Db,
  r: { id: string; organizationId: string; createdBy: string; title: string; summary: string; details: string; now: Date; closesAt: Date },
): Promise<void> {
  await db
    .insertInto('requests_for_proposal')
    .values({
      id: r.id,
      organization_id: r.organizationId,
      created_by: r.createdBy,
      title: r.title,
      summary: r.summary,
      details: r.details,
      cancel_token_hash: null,
      created_at: r.now,
      closes_at: r.closesAt,
    })
    .execute();
}

/** The request with its author's contact, as partners and its organization read it. */
export async function rfpWithContact(db: Db, id: string) {
  return db
    .selectFrom('requests_for_proposal as r')
    .innerJoin('accounts as a', 'a.id', 'r.created_by')
    .selectAll('r')
    .select(['a.display_name', 'a.login_email'])
    .where('r.id', '=', id)
    .executeTakeFirstOrThrow();
}

export async function rfpHeader(db: Db, id: string) {
  return db.selectFrom('requests_for_proposal').select(['id', 'organization_id', 'status', 'closes_at']).where('id', '=', id).executeTakeFirst();
}

/** Whether the account administers (or represents) a partner organization that takes requests for proposal. */
export async function takesRfpsAsPartner(db: Db, accountId: string): Promise<boolean> {
  const partner = await db
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.organization_id')
    .select('o.id')
    .where('m.account_id', '=', accountId)
    .where('m.role', 'in', ['legal_representative', 'administrator'])
    .where('o.program', '=', 'partner')
    .where('o.rfp_opt_in', '=', true)
    .executeTakeFirst();
  return partner !== undefined;
}

/** Spends the cancel link of an open request: the request, or undefined for a used, closed or unknown link. */
export async function cancelRfpByToken(trx: Db, token: string) {
  return trx
    .updateTable('requests_for_proposal')
    .set({ status: 'cancelled', cancel_token_hash: null })
    .where('cancel_token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'open')
    .returning(['id', 'organization_id', 'created_by'])
    .executeTakeFirst();
}

export async function organizationProgram(db: Db, organizationId: string) {
  return (await db.selectFrom('organizations').select('program').where('id', '=', organizationId).executeTakeFirstOrThrow()).program;
}

export async function setRfpOptIn(db: Db, organizationId: string, enabled: boolean): Promise<void> {
  await db.updateTable('organizations').set({ rfp_opt_in: enabled }).where('id', '=', organizationId).execute();
}
