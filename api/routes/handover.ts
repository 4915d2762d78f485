/**
 * P10 legal-representative handover over HTTP. The routes translate; who may hand over to whom, the
 * handover's process and the audit are api/services/handover.ts.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { describeDuration, INVITATION_LINK_VALIDITY_MS } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { handoverService } from '../services/handover';

const handoverSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    from: z.uuid(),
    to: z.uuid().nullable().describe('The new representative; null while an invitation waits'),
    invitation: z.boolean(),
    status: z.enum(['awaiting_acceptance', 'transferring', 'completed', 'lapsed', 'cancelled']),
    requestedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
    completedAt: z.iso.datetime().nullable(),
    formerStaysAs: z.enum(['administrator', 'collaborator']).nullable().describe('The former representative stays with this role; null: they leave'),
  })
  .meta({ id: 'LegalRepresentativeHandover' });

export interface HandoverDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const linkValidity = describeDuration(INVITATION_LINK_VALIDITY_MS);

export function handoverRoutes(deps: HandoverDeps): AnyRoute[] {
  const handovers = handoverService(deps);

  return [
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/legal-representative-handovers',
      tag: 'Organizations',
      summary: `Hand the legal representation over to a member, or to someone invited by email (who must accept within ${linkValidity})`,
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z
        .object({
          from: z.uuid(),
          to: z.union([z.object({ accountId: z.uuid() }).strict(), z.object({ email: z.email().max(254) }).strict()]),
          formerStaysAs: z
            .enum(['administrator', 'collaborator'])
            .nullable()
            .optional()
            .describe('The former representative (only when `from` is you) stays as a member with this role; left out or null: they leave'),
        })
        .strict(),
      responses: {
        202: { description: 'The handover is under way', schema: handoverSchema },
        403: { description: 'Not a legal representative', schema: problem },
        409: { description: 'Another handover of this organization is under way', schema: problem },
        422: { description: '`from` is not a legal representative, or `to` is not a member / is `from`', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 202, body: await handovers.request(principal.sub, params.id, body) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/organizations/:id/legal-representative-handovers/:handoverId',
      tag: 'Organizations',
      summary: 'A handover and where it stands',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), handoverId: z.uuid() }),
      responses: { 200: { description: 'The handover', schema: handoverSchema }, 404: { description: 'No such handover of yours', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await handovers.read(principal.sub, params.id, params.handoverId) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/organizations/:id/legal-representative-handovers/:handoverId',
      tag: 'Organizations',
      summary: 'Cancel a handover whose invitation is not accepted yet',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), handoverId: z.uuid() }),
      responses: { 200: { description: 'Cancelled', schema: handoverSchema }, 409: { description: 'Accepted or over already', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await handovers.cancel(principal.sub, params.id, params.handoverId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/legal-representative-invitations/:token/accept',
      tag: 'Organizations',
      summary: `Accept becoming legal representative, signed in with the invited address (single use, ${linkValidity})`,
      roles: ['customer'],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') }),
      responses: {
        202: { description: 'Accepted; the role is being handed over', schema: z.object({ handoverId: z.uuid(), status: z.literal('transferring') }) },
        403: { description: 'Signed in with another address than the invited one', schema: problem },
        404: { description: 'Unknown, used, cancelled or expired link', schema: problem },
      },
      async handler({ params, principal }) {
        return { status: 202, body: await handovers.accept(principal.sub, params.token) };
      },
    }),
  ];
}
