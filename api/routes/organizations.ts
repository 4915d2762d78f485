/**
 * P9/P10 membership changes. Removing a member is refused when it would leave the organization
 * without a legal representative; PostgreSQL enforces that rule, so it also holds for races.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership, lockOrganization } from '../../db/repositories/organizations';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });

/** The database refused a change that would leave no legal representative. */
export const isLastLegalRepresentativeError = (err: unknown) =>
  (err as { code?: string; constraint?: string }).code === '23514' && (err as { constraint?: string }).constraint === 'memberships_legal_representative_required';

export function organizationRoutes({ db }: { db: Kysely<Database> }): AnyRoute[] {
  return [
    defineRoute({
      method: 'delete',
      path: '/v1/organizations/:id/members/:accountId',
      tag: 'Organizations',
      summary: 'Remove a member, or leave the organization (never its last legal representative)',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      responses: {
        204: { description: 'Removed' },
        403: { description: 'Collaborators remove only themselves; only a legal representative removes a legal representative', schema: problem },
        404: { description: 'No such organization or member', schema: problem },
        409: { description: 'The last legal representative; leaving with a login address hosted by the organization, or a kSuite seat', schema: problem },
      },
      async handler({ params, principal }) {
        const actor = await findMembership(db, params.id, principal.sub);
        if (!actor) throw new Problem('not-found', 'No such organization');
        const target = await findMembership(db, params.id, params.accountId);
        if (!target) throw new Problem('not-found', 'No such member');
        const leaving = params.accountId === principal.sub;
        if (leaving) {
          const me = await db.selectFrom('memberships as m').innerJoin('accounts as a', 'a.id', 'm.account_id').select(['m.in_ksuite', 'a.login_email']).where('m.organization_id', '=', params.id).where('m.account_id', '=', principal.sub).executeTakeFirstOrThrow();
          const domain = me.login_email.slice(me.login_email.lastIndexOf('@') + 1).toLowerCase();
          const hosted = await db.selectFrom('organization_mail_domains').select('domain').where('organization_id', '=', params.id).where('domain', '=', domain).executeTakeFirst();
          if (hosted) throw new Problem('login-address-hosted', `Your login address is hosted by this organization's mail service (${domain}): change it before leaving`);
          if (me.in_ksuite) throw new Problem('part-of-ksuite', "You hold a seat in this organization's kSuite: ask an administrator to remove you from it");
        }
        if (!leaving) {
          if (actor.role === 'collaborator') throw new Problem('forbidden', 'Collaborators cannot remove members');
          if (target.role === 'legal_representative' && actor.role !== 'legal_representative') {
            throw new Problem('forbidden', 'Only a legal representative can remove a legal representative');
          }
        }
        try {
          await db.transaction().execute(async (trx) => {
            await lockOrganization(trx, params.id);
            await trx.deleteFrom('memberships').where('organization_id', '=', params.id).where('account_id', '=', params.accountId).execute();
            await audit(trx, { actor_type: 'customer', actor_id: principal.sub, action: leaving ? 'organization.member_left' : 'organization.member_removed', subject_type: 'organization', subject_id: params.id, decision: null, details: { accountId: params.accountId, role: target.role } });
          });
        } catch (err) {
          if (isLastLegalRepresentativeError(err)) throw new Problem('last-legal-representative', 'Hand the role over to another member first');
          throw err;
        }
        return { status: 204 };
      },
    }),
  ];
}
