/**
 * P10 for the acceptance page (issue 18): what an emailed handover link offers, read without acting.
 * Accepting stays the API route's (POST /v1/legal-representative-invitations/:token/accept).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { pendingHandoverByToken } from '../../db/repositories/handover';
import { maskEmail } from '../../lib/mask';
import { Problem } from '../problems';

export function handoverService({ db, clock }: { db: Kysely<Database>; clock: { now(): Date } }) {
  return {
    /** The handover behind a usable link; a used, cancelled, lapsed or unknown one is `invitation-link-invalid`. */
    async viewHandoverLink(token: string): Promise<{ organizationName: string; fromName: string; invitedEmail: string }> {
      const h = await pendingHandoverByToken(db, token, clock.now());
      if (!h) throw new Problem('invitation-link-invalid');
      return { organizationName: h.organization_name, fromName: h.from_name, invitedEmail: maskEmail(h.to_email ?? '') };
    },
  };
}
