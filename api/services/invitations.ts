/**
 * P9 for the acceptance page (issue 18): what an emailed invitation link offers, read without
 * acting. Accepting stays the API route's (POST /v1/invitations/:token/accept).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { pendingInvitationByToken } from '../../db/repositories/invitations';
import { maskEmail } from '../../lib/mask';
import { Problem } from '../problems';

export interface InvitationView {
  organizationName: string;
  role: 'administrator' | 'collaborator';
  /** Limited to some of the organization's products (none: all of them). */
  productCount: number;
  /** The invited address, masked: enough for the person to know which login to sign in with. */
  invitedEmail: string;
}

export function invitationService({ db, clock }: { db: Kysely<Database>; clock: { now(): Date } }) {
  return {
    /** The invitation behind a usable link; a used, cancelled, expired or unknown one is `invitation-link-invalid`. */
    async viewInvitationLink(token: string): Promise<InvitationView> {
      const i = await pendingInvitationByToken(db, token, clock.now());
      if (!i) throw new Problem('invitation-link-invalid');
      return { organizationName: i.organization_name, role: i.role, productCount: i.product_ids.length, invitedEmail: maskEmail(i.email) };
    },
  };
}
