/**
 * P9/P10 membership changes. Removing a member is refused when it would leave the organization
 * without a legal representative; PostgreSQL enforces that rule, so it also holds for races.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { deleteMembership, findMembership, isLastLegalRepresentativeError, leavingFacts } from '../../db/repositories/organizations';
import { notFound, Problem } from '../problems';

export function organizationService({ db }: { db: Kysely<Database> }) {
  return {
    /** Removes `accountId` from the organization, or lets the actor leave it (`accountId` is the actor). */
    async removeMember(organizationId: string, accountId: string, actorId: string): Promise<void> {
      const actor = await findMembership(db, organizationId, actorId);
      if (!actor) throw notFound('organization');
      const target = await findMembership(db, organizationId, accountId);
      if (!target) throw notFound('member');
      const leaving = accountId === actorId;
      if (leaving) {
        const facts = await leavingFacts(db, organizationId, actorId);
        if (facts.hostedDomain)
          throw new Problem(
            'login-address-hosted',
            `Your login address is hosted by this organization's mail service (${facts.hostedDomain}): change it before leaving`,
          );
        if (facts.inKsuite) throw new Problem('part-of-ksuite', "You hold a seat in this organization's kSuite: ask an administrator to remove you from it");
      } else {
        if (actor.role === 'collaborator') throw new Problem('forbidden', 'Collaborators cannot remove members');
        if (target.role === 'legal_representative' && actor.role !== 'legal_representative')
          throw new Problem('forbidden', 'Only a legal representative can remove a legal representative');
      }
      try {
        await db.transaction().execute(async (trx) => {
          await deleteMembership(trx, organizationId, accountId);
          await audit(trx, {
            actor_type: 'customer',
            actor_id: actorId,
            action: leaving ? 'organization.member_left' : 'organization.member_removed',
            subject_type: 'organization',
            subject_id: organizationId,
            decision: null,
            details: { accountId, role: target.role },
          });
        });
      } catch (err) {
        if (isLastLegalRepresentativeError(err)) throw new Problem('last-legal-representative', 'Hand the role over to another member first');
        throw err;
      }
    },
  };
}
