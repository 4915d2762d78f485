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
