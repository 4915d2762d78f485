/**
 * P9 membership over HTTP: invitations (send, list pending, resend, cancel, accept), role changes
 * and the organization's details. The routes translate; who may do what, the invitation's workflow
 * and the audit are api/services/invitations.ts.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { describeDuration, INVITATION_LINK_VALIDITY_MS, INVITATION_MAX_RESENDS, INVITATION_RESEND_MIN_INTERVAL_MS } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { invitationService } from '../services/invitations';

const invitationSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    email: z.string(),
    role: z.enum(['administrator', 'collaborator']),
    productIds: z.array(z.uuid()),
    contactPreferences: z.object({ billing: z.boolean().optional(), technical: z.boolean().optional(), newsletters: z.boolean().optional() }),
    status: z.enum(['pending', 'accepted', 'cancelled', 'expired']),
    sends: z.number().int(),
    sentAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'Invitation' });

export interface InvitationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const linkValidity = describeDuration(INVITATION_LINK_VALIDITY_MS);

export function invitationRoutes(deps: InvitationDeps): AnyRoute[] {
  const invitations = invitationService(deps);

  return [
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/invitations',
      tag: 'Organizations',
      summary: `Invite someone by email with a role, the products they may access and contact preferences (link valid ${linkValidity})`,
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z
        .object({
          email: z.email().max(254),
          role: z.enum(['administrator', 'collaborator']).describe('The legal representation moves only by a handover'),
          productIds: z.array(z.uuid()).max(200).default([]).describe("Empty: all of the organization's products"),
          contactPreferences: z
            .object({ billing: z.boolean().optional(), technical: z.boolean().optional(), newsletters: z.boolean().optional() })
            .strict()
            .default({}),
        })
        .strict(),
      responses: {
        201: { description: 'Sent', schema: invitationSchema },
        403: { description: 'Collaborators may not invite', schema: problem },
        409: { description: 'Already a member, or already invited', schema: problem },
        422: { description: 'A product is not the organization’s', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 201, body: await invitations.invite(principal.sub, params.id, body) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/organizations/:id/invitations',
      tag: 'Organizations',
      summary: 'Pending invitations, with when each was sent and when it expires',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'Pending invitations, newest first', schema: z.object({ items: z.array(invitationSchema) }) } },
      async handler({ params, principal }) {
        return { status: 200, body: { items: await invitations.listPending(principal.sub, params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/invitations/:invitationId/resend',
      tag: 'Organizations',
      summary: `Send the invitation again: a new link valid ${linkValidity}, the previous one stops working (${INVITATION_MAX_RESENDS} times at most, ${describeDuration(INVITATION_RESEND_MIN_INTERVAL_MS)} apart)`,
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 200: { description: 'Sent again', schema: invitationSchema }, 429: { description: 'Sent too often or too recently', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await invitations.resend(principal.sub, params.id, params.invitationId) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/organizations/:id/invitations/:invitationId',
      tag: 'Organizations',
      summary: 'Cancel a pending invitation; its link stops working',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 204: { description: 'Cancelled' }, 409: { description: 'Not pending any more', schema: problem } },
      async handler({ params, principal }) {
        await invitations.cancel(principal.sub, params.id, params.invitationId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/invitations/:token/accept',
      tag: 'Organizations',
      summary: 'Join the organization, signed in with the invited address (single use)',
      roles: ['customer'],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') }),
      responses: {
        200: { description: 'Joined', schema: z.object({ organizationId: z.uuid(), role: z.enum(['administrator', 'collaborator']) }) },
        403: { description: 'Signed in with another address', schema: problem },
        404: { description: 'Unknown, used, cancelled or expired link', schema: problem },
      },
      async handler({ params, principal }) {
        return { status: 200, body: await invitations.accept(principal.sub, params.token) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/organizations/:id/members/:accountId/rights',
      tag: 'Organizations',
      summary:
        "Change a member's product rights (null: all products) and contact preferences after joining; managers for any member (a legal representative's by a legal representative), a member for their own contact preferences",
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      body: z
        .object({
          productIds: z.array(z.uuid()).min(1).max(1000).nullable().optional().describe('null: all of the organization’s products'),
          contactPreferences: z.object({ billing: z.boolean(), technical: z.boolean(), newsletters: z.boolean() }).strict().optional(),
        })
        .strict()
        .refine((b) => b.productIds !== undefined || b.contactPreferences !== undefined, 'productIds or contactPreferences'),
      responses: {
        200: {
          description: 'The member’s rights now',
          schema: z.object({
            accountId: z.uuid(),
            productIds: z.array(z.uuid()).nullable(),
            contactPreferences: z.object({ billing: z.boolean().optional(), technical: z.boolean().optional(), newsletters: z.boolean().optional() }),
          }),
        },
        403: { description: 'Not allowed to', schema: problem },
        404: { description: 'No such member of yours', schema: problem },
        422: { description: 'A product of another organization', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await invitations.changeRights(principal.sub, params.id, params.accountId, body) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/organizations/:id/members/:accountId/role',
      tag: 'Organizations',
      summary:
        "Change a member's role. Only a legal representative makes a member legal representative (an organization may have several; nobody is removed) or changes a legal representative's role, never the last one's",
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      body: z.object({ role: z.enum(['legal_representative', 'administrator', 'collaborator']) }).strict(),
      responses: {
        200: { description: 'Changed', schema: z.object({ accountId: z.uuid(), role: z.enum(['legal_representative', 'administrator', 'collaborator']) }) },
        403: { description: 'Not allowed to', schema: problem },
        409: { description: 'The last legal representative', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await invitations.changeRole(principal.sub, params.id, params.accountId, body.role) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/organizations/:id',
      tag: 'Organizations',
      summary: "Change the organization's details (legal representatives only)",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ name: z.string().trim().min(1).max(200) }).strict(),
      responses: {
        200: { description: 'Changed', schema: z.object({ id: z.uuid(), name: z.string() }) },
        403: { description: 'Not a legal representative', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await invitations.changeDetails(principal.sub, params.id, body) };
      },
    }),
  ];
}
