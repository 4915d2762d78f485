/**
 * P9 membership over HTTP: invitations (send, list pending, resend, cancel, accept), role changes
 * and the organization's details. Administrators and legal representatives manage members; only a
 * legal representative changes the organization's details or a legal representative's role;
 * collaborators do neither. Non-members learn nothing (404).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership, lockOrganization } from '../../db/repositories/organizations';
import { hashLinkToken } from '../../db/repositories/verification';
import { INVITATION_LINK_VALIDITY_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import {
  acceptInvitationUpdate,
  cancelInvitationUpdate,
  invitationWorkflowId,
  resendInvitationUpdate,
  type InvitationInput,
} from '../../workflows/shared/invitation';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { isLastLegalRepresentativeError } from '../../db/repositories/organizations';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
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

export function invitationRoutes({
  client,
  db,
  taskQueue,
  clock,
}: {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}): AnyRoute[] {
  async function manager(organizationId: string, accountId: string) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw new Problem('not-found', 'No such organization');
    if (m.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives manage members');
    return m;
  }
  async function present(id: string) {
    const i = await db.selectFrom('organization_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return {
      id: i.id,
      organizationId: i.organization_id,
      email: i.email,
      role: i.role,
      productIds: i.product_ids,
      contactPreferences: i.contact_preferences,
      status: i.status,
      sends: i.sends,
      sentAt: i.sent_at?.toISOString() ?? null,
      expiresAt: i.expires_at.toISOString(),
    };
  }
  const updateFailure = (err: unknown) => {
    if (!(err instanceof WorkflowUpdateFailedError)) return err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    if (cause?.type === FailureType.ResendLimitReached) return new Problem('invitation-resend-limit', cause.message);
    return new Problem('conflict', 'The invitation is no longer pending');
  };
  async function pendingOf(organizationId: string, invitationId: string) {
    const i = await db
      .selectFrom('organization_invitations')
      .select(['id', 'status'])
      .where('id', '=', invitationId)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!i) throw new Problem('not-found', 'No such invitation');
    if (i.status !== 'pending') throw new Problem('conflict', `The invitation is ${i.status}`);
    return i;
  }

  return [
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/invitations',
      tag: 'Organizations',
      summary: 'Invite someone by email with a role, the products they may access and contact preferences (link valid 30 days)',
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
        await manager(params.id, principal.sub);
        const member = await db
          .selectFrom('memberships as m')
          .innerJoin('accounts as a', 'a.id', 'm.account_id')
          .select('a.id')
          .where('m.organization_id', '=', params.id)
          .where((eb) => eb(eb.fn('lower', ['a.login_email']), '=', body.email.toLowerCase()))
          .executeTakeFirst();
        if (member) throw new Problem('conflict', 'This address is already a member');
        if (body.productIds.length) {
          const owned = await db.selectFrom('products').select('id').where('organization_id', '=', params.id).where('id', 'in', body.productIds).execute();
          if (owned.length !== new Set(body.productIds).size) throw new Problem('unprocessable', 'Every product must belong to the organization');
        }
        const id = randomUUID();
        try {
          await db
            .insertInto('organization_invitations')
            .values({
              id,
              organization_id: params.id,
              invited_by: principal.sub,
              email: body.email,
              role: body.role,
              product_ids: body.productIds,
              contact_preferences: JSON.stringify(body.contactPreferences),
              token_hash: null,
              sent_at: null,
              expires_at: new Date(clock.now().getTime() + INVITATION_LINK_VALIDITY_MS),
              accepted_by: null,
            })
            .execute();
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new Problem('conflict', 'This address has a pending invitation: resend it instead');
          throw err;
        }
        try {
          await client.workflow.start('memberInvitation', {
            workflowId: invitationWorkflowId(id),
            taskQueue,
            args: [{ invitationId: id } satisfies InvitationInput],
          });
        } catch (err) {
          await db.deleteFrom('organization_invitations').where('id', '=', id).execute();
          throw new Problem('unavailable', 'Could not send the invitation; nothing changed', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'organization.member_invited',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { invitationId: id, role: body.role },
        });
        return { status: 201, body: await present(id) };
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
        await manager(params.id, principal.sub);
        const rows = await db
          .selectFrom('organization_invitations')
          .select('id')
          .where('organization_id', '=', params.id)
          .where('status', '=', 'pending')
          .orderBy('created_at', 'desc')
          .execute();
        return { status: 200, body: { items: await Promise.all(rows.map((r) => present(r.id))) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/invitations/:invitationId/resend',
      tag: 'Organizations',
      summary: 'Send the invitation again: a new link valid 30 days, the previous one stops working (3 times at most, an hour apart)',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 200: { description: 'Sent again', schema: invitationSchema }, 429: { description: 'Sent too often or too recently', schema: problem } },
      async handler({ params, principal }) {
        await manager(params.id, principal.sub);
        await pendingOf(params.id, params.invitationId);
        try {
          await client.workflow
            .getHandle(invitationWorkflowId(params.invitationId))
            .executeUpdate(resendInvitationUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } catch (err) {
          throw updateFailure(err);
        }
        return { status: 200, body: await present(params.invitationId) };
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
        await manager(params.id, principal.sub);
        await pendingOf(params.id, params.invitationId);
        const handle = client.workflow.getHandle(invitationWorkflowId(params.invitationId));
        try {
          await handle.executeUpdate(cancelInvitationUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } catch (err) {
          throw updateFailure(err);
        }
        await handle.result();
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
        const inv = await db
          .selectFrom('organization_invitations')
          .select(['id', 'organization_id', 'email', 'role', 'expires_at'])
          .where('token_hash', '=', hashLinkToken(params.token))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (!inv || inv.expires_at <= clock.now()) throw new Problem('invitation-link-invalid');
        const account = await db.selectFrom('accounts').select('login_email').where('id', '=', principal.sub).executeTakeFirst();
        if (!account || account.login_email.toLowerCase() !== inv.email.toLowerCase()) throw new Problem('invitation-not-for-you');
        const handle = client.workflow.getHandle(invitationWorkflowId(inv.id));
        try {
          await handle.executeUpdate(acceptInvitationUpdate, { args: [{ accountId: principal.sub }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Problem('invitation-link-invalid');
          throw err;
        }
        await handle.result();
        return { status: 200, body: { organizationId: inv.organization_id, role: inv.role } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/organizations/:id/members/:accountId/role',
      tag: 'Organizations',
      summary: "Change a member's role (a legal representative's only by a legal representative; the role itself moves by handover)",
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      body: z.object({ role: z.enum(['administrator', 'collaborator']) }).strict(),
      responses: {
        200: { description: 'Changed', schema: z.object({ accountId: z.uuid(), role: z.enum(['administrator', 'collaborator']) }) },
        403: { description: 'Not allowed to', schema: problem },
        409: { description: 'The last legal representative', schema: problem },
      },
      async handler({ params, body, principal }) {
        const actor = await manager(params.id, principal.sub);
        const target = await findMembership(db, params.id, params.accountId);
        if (!target) throw new Problem('not-found', 'No such member');
        if (target.role === 'legal_representative' && actor.role !== 'legal_representative')
          throw new Problem('forbidden', 'Only a legal representative changes a legal representative’s role');
        try {
          await db.transaction().execute(async (trx) => {
            await lockOrganization(trx, params.id);
            await trx
              .updateTable('memberships')
              .set({ role: body.role })
              .where('organization_id', '=', params.id)
              .where('account_id', '=', params.accountId)
              .execute();
          });
        } catch (err) {
          if (isLastLegalRepresentativeError(err)) throw new Problem('last-legal-representative', 'Hand the legal representation over first');
          throw err;
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'organization.member_role_changed',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { accountId: params.accountId, from: target.role, to: body.role },
        });
        return { status: 200, body: { accountId: params.accountId, role: body.role } };
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
        const m = await findMembership(db, params.id, principal.sub);
        if (!m) throw new Problem('not-found', 'No such organization');
        if (m.role !== 'legal_representative') throw new Problem('forbidden', "Only a legal representative changes the organization's details");
        await db.updateTable('organizations').set({ name: body.name }).where('id', '=', params.id).execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'organization.details_changed',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { fields: Object.keys(body) },
        });
        return { status: 200, body: { id: params.id, name: body.name } };
      },
    }),
  ];
}
