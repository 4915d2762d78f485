/** P9/P10 membership changes over HTTP; the rules are api/services/organizations.ts's. */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { problemSchema } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { organizationService } from '../services/organizations';

export function organizationRoutes({ db }: { db: Kysely<Database> }): AnyRoute[] {
  const organizations = organizationService({ db });
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
        403: { description: 'Collaborators remove only themselves; only a legal representative removes a legal representative', schema: problemSchema },
        404: { description: 'No such organization or member', schema: problemSchema },
        409: { description: 'The last legal representative; leaving with a login address hosted by the organization, or a kSuite seat', schema: problemSchema },
      },
      async handler({ params, principal }) {
        await organizations.removeMember(params.id, params.accountId, principal.sub);
        return { status: 204 };
      },
    }),
  ];
}
