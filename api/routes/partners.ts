/**
 * P11 partner program over HTTP: applications, client invitations (only a partner's legal
 * representatives invite; the client grants the same or narrower rights), and ending a partnership
 * from either side, which ends the partner's access at once. The routes translate; the conditions,
 * the invitations' workflows and the audit are api/services/partners.ts.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { describeDuration, INVITATION_MAX_RESENDS, INVITATION_RESEND_MIN_INTERVAL_MS, PARTNER_MIN_YEARLY_VOLUME } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { partnerService } from '../services/partners';

const rightsSchema = z
  .object({
    access: z.enum(['full', 'restricted']),
    productIds: z.array(z.uuid()).max(500).optional().describe('Restricted access: the products'),
    billing: z.enum(['client', 'partner']),
  })
  .strict()
  .refine((r) => r.access === 'full' || (r.productIds?.length ?? 0) > 0, { message: 'restricted access names at least one product', path: ['productIds'] })
  .meta({ id: 'PartnerRights' });
const invitationSchema = z
  .object({
    id: z.uuid(),
    partnerOrganizationId: z.uuid(),
    clientEmail: z.string(),
    requested: rightsSchema,
    granted: rightsSchema.nullable(),
    status: z.enum(['pending', 'accepted', 'cancelled', 'expired']),
    sends: z.number().int(),
    sentAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'ClientInvitation' });

export interface PartnerDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export function partnerRoutes(deps: PartnerDeps): AnyRoute[] {
  const partners = partnerService(deps);

  return [
    defineRoute({
      method: 'post',
      path: '/v1/partner-applications',
      tag: 'Partners',
      summary: `Apply to the partner program: a registered company with a website managing at least CHF ${PARTNER_MIN_YEARLY_VOLUME.CHF} / EUR ${PARTNER_MIN_YEARLY_VOLUME.EUR} a year, not an Affiliate`,
      roles: ['customer'],
      body: z
        .object({
          organizationId: z.uuid(),
          registryNumber: z.string().trim().max(40).describe('Commercial register, SIRET or equivalent'),
          website: z.string().max(300),
          // The column is a PostgreSQL integer: a larger amount used to answer 500.
          yearlyVolume: z.object({ amountCents: z.number().int().min(0).max(2_147_483_647), currency: z.enum(['CHF', 'EUR']) }).strict(),
        })
        .strict(),
      responses: {
        201: { description: 'Accepted: the organization is a partner', schema: z.object({ applicationId: z.uuid(), decision: z.literal('accepted') }) },
        403: { description: 'Not a legal representative', schema: problem },
        409: { description: 'Already a partner', schema: problem },
        422: { description: 'Refused, with every reason', schema: problem },
      },
      async handler({ body, principal }) {
        return { status: 201, body: await partners.apply(principal.sub, body) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/partners/:id/client-invitations',
      tag: 'Partners',
      summary: "Invite a client: they receive the requested rights and may grant the same or narrower ones (partner's legal representatives only)",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ clientEmail: z.email().max(254), requested: rightsSchema }).strict(),
      responses: {
        201: { description: 'Sent', schema: invitationSchema },
        403: { description: 'Not a legal representative of the partner', schema: problem },
        409: { description: 'Not a partner', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 201, body: await partners.inviteClient(principal.sub, params.id, body) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/partners/:id/client-invitations',
      tag: 'Partners',
      summary: 'Client invitations with their status and the rights granted',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'Newest first', schema: z.object({ items: z.array(invitationSchema) }) } },
      async handler({ params, principal }) {
        return { status: 200, body: { items: await partners.listClientInvitations(principal.sub, params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/partners/:id/client-invitations/:invitationId/resend',
      tag: 'Partners',
      summary: `Send a client invitation again (${INVITATION_MAX_RESENDS} times at most, ${describeDuration(INVITATION_RESEND_MIN_INTERVAL_MS)} apart); the previous link stops working`,
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 200: { description: 'Sent again', schema: invitationSchema }, 429: { description: 'Too often or too soon', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await partners.resendClientInvitation(principal.sub, params.id, params.invitationId) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/partners/:id/client-invitations/:invitationId',
      tag: 'Partners',
      summary: 'Cancel a pending client invitation',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 204: { description: 'Cancelled' }, 409: { description: 'Not pending', schema: problem } },
      async handler({ params, principal }) {
        await partners.cancelClientInvitation(principal.sub, params.id, params.invitationId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/client-invitations/:token/accept',
      tag: 'Partners',
      summary: 'Accept a partner, granting the requested rights or narrower ones (signed in with the invited address, for an organization you manage)',
      roles: ['customer'],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') }),
      body: z.object({ organizationId: z.uuid(), granted: rightsSchema }).strict(),
      responses: {
        200: { description: 'The partnership', schema: z.object({ partnershipId: z.uuid(), granted: rightsSchema }) },
        403: { description: 'Another address, or not a manager of that organization', schema: problem },
        404: { description: 'Unknown, used, cancelled or expired link', schema: problem },
        422: { description: 'Wider rights than requested, or products of another organization', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await partners.acceptClientInvitation(principal.sub, params.token, body) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/partnerships/:id',
      tag: 'Partners',
      summary: "End a partnership, from either side: the partner's access ends at once and both are emailed",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: {
        204: { description: 'Ended' },
        404: { description: 'No such partnership of yours', schema: problem },
        409: { description: 'Ended already', schema: problem },
      },
      async handler({ params, principal }) {
        await partners.endPartnership(principal.sub, params.id);
        return { status: 204 };
      },
    }),
  ];
}
