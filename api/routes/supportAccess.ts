/**
 * P13 support access over HTTP. The database row answers reads and access checks; changes of state
 * go through the grant's workflow (start, revoke update) so the timer, the row and the email agree.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership, organizationIdsOf } from '../../db/repositories/organizations';
import { deleteGrant, findGrant, insertGrant, listGrants, type SupportAccessGrant } from '../../db/repositories/supportAccessGrants';
import { findTicket, ticketIdsAssignedTo } from '../../db/repositories/tickets';
import { SUPPORT_ACCESS_KINDS } from '../../db/tables/supportAccessGrants.table';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import { revokeUpdate, supportAccessWorkflowId, type SupportAccessInput } from '../../workflows/shared/supportAccess';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { defineRoute } from '../routing';

export interface SupportAccessDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const uuid = z.uuid();
const grantSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    ticketId: z.uuid(),
    grantedBy: z.uuid(),
    kind: z.enum(SUPPORT_ACCESS_KINDS),
    resourceIds: z.array(z.string()),
    status: z.enum(['active', 'revoked', 'expired']),
    grantedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    endedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'SupportAccessGrant' });
const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });

function present(grant: SupportAccessGrant, now: Date) {
  // Past expires_at the grant is expired whatever the workflow has recorded yet.
  const status = grant.status === 'active' && grant.expires_at <= now ? 'expired' : grant.status;
  return {
    id: grant.id,
    organizationId: grant.organization_id,
    ticketId: grant.ticket_id,
    grantedBy: grant.granted_by,
    kind: grant.kind,
    resourceIds: grant.resource_ids,
    status,
    grantedAt: grant.granted_at.toISOString(),
    expiresAt: grant.expires_at.toISOString(),
    endedAt: grant.ended_at?.toISOString() ?? null,
  };
}

/** Who may see a grant: members of its organization, the ticket's assignee, the system. */
async function canSee(db: Kysely<Database>, principal: Principal, grant: SupportAccessGrant): Promise<boolean> {
  if (principal.role === 'system') return true;
  if (principal.role === 'customer') return (await findMembership(db, grant.organization_id, principal.sub)) !== undefined;
  const ticket = await findTicket(db, grant.ticket_id);
  return ticket?.assigned_agent_id === principal.sub;
}

export function supportAccessRoutes({ client, db, taskQueue, clock }: SupportAccessDeps) {
  const idParams = z.object({ id: uuid });

  const create = defineRoute({
    method: 'post',
    path: '/v1/support-access-grants',
    tag: 'Support access',
    summary: 'Grant the agents of a ticket access to one kind of content for 7 days',
    roles: ['customer'],
    body: z.strictObject({
      organizationId: uuid,
      ticketId: uuid,
      kind: z.enum(SUPPORT_ACCESS_KINDS),
      resourceIds: z
        .array(z.string().trim().min(1).max(320))
        .min(1)
        .max(100)
        .refine((ids) => new Set(ids).size === ids.length, 'resourceIds must not repeat'),
    }),
    responses: {
      201: { description: 'The grant, active until expiresAt', schema: grantSchema },
      403: { description: 'Not a member of the organization', schema: problem },
      422: { description: 'The ticket is not an open ticket of the organization', schema: problem },
    },
    async handler({ body, principal }) {
      if (!(await findMembership(db, body.organizationId, principal.sub))) {
        throw new Problem('forbidden', 'You are not a member of this organization');
      }
      const ticket = await findTicket(db, body.ticketId);
      if (!ticket || ticket.organization_id !== body.organizationId) {
        throw new Problem('unprocessable', 'The ticket is not one of this organization', { pointer: '/ticketId' });
      }
      if (ticket.status !== 'open') throw new Problem('unprocessable', 'The ticket is closed', { pointer: '/ticketId' });

      const grantedAt = clock.now();
      const grant = await insertGrant(db, {
        id: randomUUID(),
        organizationId: body.organizationId,
        ticketId: body.ticketId,
        grantedBy: principal.sub,
        kind: body.kind,
        resourceIds: body.resourceIds,
        grantedAt,
        expiresAt: new Date(grantedAt.getTime() + SUPPORT_ACCESS_EXPIRY_MS),
      });
      try {
        await client.workflow.start('supportAccess', {
          workflowId: supportAccessWorkflowId(grant.id),
          taskQueue,
          args: [{ grantId: grant.id } satisfies SupportAccessInput],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
        });
      } catch (err) {
        // No workflow means no expiry: do not leave an active row behind.
        await deleteGrant(db, grant.id);
        throw new Problem('unavailable', 'Could not start the grant; nothing was granted', { cause: (err as Error).name });
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: principal.sub,
        action: 'support_access.granted',
        subject_type: 'support_access_grant',
        subject_id: grant.id,
        decision: null,
        details: { kind: grant.kind, ticketId: grant.ticket_id },
      });
      return { status: 201, body: present(grant, clock.now()), headers: { Location: `/v1/support-access-grants/${grant.id}` } };
    },
  });

  const revoke = defineRoute({
    method: 'delete',
    path: '/v1/support-access-grants/:id',
    tag: 'Support access',
    summary: 'Revoke a grant (the granting customer, or an administrator or legal representative)',
    roles: ['customer'],
    params: idParams,
    responses: {
      200: { description: 'Revoked', schema: z.object({ id: z.uuid(), status: z.literal('revoked') }) },
      403: { description: 'A collaborator revoking someone else’s grant', schema: problem },
      404: { description: 'No such grant in your organizations', schema: problem },
      409: { description: 'Already revoked or expired', schema: problem },
    },
    async handler({ params, principal }) {
      const grant = await findGrant(db, params.id);
      const membership = grant && (await findMembership(db, grant.organization_id, principal.sub));
      if (!grant || !membership) throw new Problem('not-found', 'No such grant');
      const mayRevoke = grant.granted_by === principal.sub || membership.role !== 'collaborator';
      if (!mayRevoke) throw new Problem('forbidden', 'Only the granting customer, an administrator or a legal representative may revoke');
      const current = present(grant, clock.now());
      if (current.status !== 'active') throw new Problem('grant-not-active', `The grant is already ${current.status}`);

      try {
        await client.workflow.getHandle(supportAccessWorkflowId(grant.id)).executeUpdate(revokeUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.GrantNotActive) {
          throw new Problem('grant-not-active', 'The grant is no longer active');
        }
        if (err instanceof WorkflowNotFoundError) {
          const now = await findGrant(db, grant.id);
          if (now && now.status !== 'active') throw new Problem('grant-not-active', `The grant is already ${now.status}`);
        }
        throw err;
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: principal.sub,
        action: 'support_access.revoked',
        subject_type: 'support_access_grant',
        subject_id: grant.id,
        decision: null,
        details: {},
      });
      return { status: 200, body: { id: grant.id, status: 'revoked' } };
    },
  });

  const get = defineRoute({
    method: 'get',
    path: '/v1/support-access-grants/:id',
    tag: 'Support access',
    summary: 'Read a grant',
    roles: ['customer', 'agent', 'system'],
    params: idParams,
    responses: { 200: { description: 'The grant', schema: grantSchema }, 404: { description: 'No such grant visible to you', schema: problem } },
    async handler({ params, principal }) {
      const grant = await findGrant(db, params.id);
      if (!grant || !(await canSee(db, principal, grant))) throw new Problem('not-found', 'No such grant');
      return { status: 200, body: present(grant, clock.now()) };
    },
  });

  const list = defineRoute({
    method: 'get',
    path: '/v1/support-access-grants',
    tag: 'Support access',
    summary: 'List grants: customers see their organizations’, agents their tickets’',
    roles: ['customer', 'agent', 'system'],
    query: z.strictObject({
      organizationId: uuid.optional(),
      ticketId: uuid.optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    responses: {
      200: { description: 'Newest first', schema: z.object({ items: z.array(grantSchema) }) },
      403: { description: 'An organization or ticket that is not yours', schema: problem },
    },
    async handler({ query, principal }) {
      const scope: Parameters<typeof listGrants>[1] = { organizationId: query.organizationId, ticketId: query.ticketId, limit: query.limit };
      if (principal.role === 'customer') {
        const mine = await organizationIdsOf(db, principal.sub);
        if (query.organizationId && !mine.includes(query.organizationId)) throw new Problem('forbidden', 'Not one of your organizations');
        scope.organizationIds = mine;
      } else if (principal.role === 'agent') {
        const mine = await ticketIdsAssignedTo(db, principal.sub);
        if (query.ticketId && !mine.includes(query.ticketId)) throw new Problem('forbidden', 'Not one of your tickets');
        scope.ticketIds = mine;
      }
      const now = clock.now();
      return { status: 200, body: { items: (await listGrants(db, scope)).map((g) => present(g, now)) } };
    },
  });

  const accessCheck = defineRoute({
    method: 'post',
    path: '/v1/support-access-grants/:id/access-checks',
    tag: 'Support access',
    summary: 'An agent asks whether it may open a resource under a grant; every answer is audited',
    roles: ['agent'],
    params: idParams,
    body: z.strictObject({
      resourceId: z.string().trim().min(1).max(320),
      /** The kind of content the agent is about to open; a grant covers one kind only. */
      kind: z.enum(SUPPORT_ACCESS_KINDS).optional(),
    }),
    responses: {
      200: { description: 'Allowed', schema: z.object({ allowed: z.literal(true), expiresAt: z.iso.datetime() }) },
      403: { description: 'Denied, with the reason', schema: problem },
      404: { description: 'No such grant', schema: problem },
    },
    async handler({ params, body, principal }) {
      const grant = await findGrant(db, params.id);
      const now = clock.now();
      let reason: string | null = null;
      if (!grant) reason = 'grant_not_found';
      else {
        const ticket = await findTicket(db, grant.ticket_id);
        if (ticket?.assigned_agent_id !== principal.sub) reason = 'not_ticket_assignee';
        else if (present(grant, now).status !== 'active') reason = `grant_${present(grant, now).status}`;
        else if (body.kind && body.kind !== grant.kind) reason = 'kind_not_granted';
        else if (!grant.resource_ids.includes(body.resourceId)) reason = 'resource_not_granted';
      }
      await audit(db, {
        actor_type: 'agent',
        actor_id: principal.sub,
        action: 'support_access.checked',
        subject_type: 'support_access_grant',
        subject_id: params.id,
        decision: reason ? 'denied' : 'allowed',
        details: { resourceId: body.resourceId, ...(reason ? { reason } : {}) },
      });
      if (!grant) throw new Problem('not-found', 'No such grant');
      if (reason) throw new Problem('access-denied', `Access denied: ${reason.replaceAll('_', ' ')}`, { reason });
      return { status: 200, body: { allowed: true, expiresAt: grant.expires_at.toISOString() } };
    },
  });

  return [create, list, get, revoke, accessCheck];
}
