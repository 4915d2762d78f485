/**
 * P11 for the cancel page (issue 18): the open request behind an emailed cancel link, read without
 * acting. Cancelling stays the API route's (POST /v1/requests-for-proposal/cancel/:token).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { openRfpByCancelToken } from '../../db/repositories/rfps';
import { Problem } from '../problems';

export function rfpService({ db }: { db: Kysely<Database> }) {
  return {
    async viewCancelLink(token: string): Promise<{ title: string; summary: string; closesAt: Date }> {
      const r = await openRfpByCancelToken(db, token);
      if (!r) throw new Problem('cancellation-link-invalid');
      return { title: r.title, summary: r.summary, closesAt: r.closes_at };
    },
  };
}
