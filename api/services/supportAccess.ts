/**
 * P13 support access: a customer grants the agents of one of its organization's open tickets access
 * to one kind of content, for SUPPORT_ACCESS_EXPIRY_MS at most. The database row answers reads and
 * access checks; changes of state go through the grant's workflow (start, revoke update) so the
 * timer, the row and the email agree. Every access check is audited, allowed or denied.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership, organizationIdsOf } from '../../db/repositories/organizations';
import { deleteGrant, findGrant, insertGrantIfAllowed, listGrants, type SupportAccessGrant } from '../../db/repositories/supportAccessGrants';
import { findTicket, ticketIdsAssignedTo } from '../../db/repositories/tickets';
import type { SupportAccessKind } from '../../db/tables/supportAccessGrants.table';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import { revokeUpdate, supportAccessWorkflowId, type SupportAccessInput } from '../../workflows/shared/supportAccess';
import type { Principal } from '../auth';
import { notFound, Problem } from '../problems';
import { asProcessProblem, startProcess } from './processes';

export interface SupportAccessDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export interface SupportAccessGrantView {
  id: string;
  organizationId: string;
  ticketId: string;
  grantedBy: string;
  kind: SupportAccessKind;
  resourceIds: string[];
  status: 'active' | 'revoked' | 'expired';
  grantedAt: string;
  expiresAt: string;
  endedAt: string | null;
}

/** Past expires_at a grant is expired, whatever the workflow has recorded yet. */
function statusAt(grant: SupportAccessGrant, now: Date): SupportAccessGrantView['status'] {
  return grant.status === 'active' && grant.expires_at <= now ? 'expired' : grant.status;
}

function view(grant: SupportAccessGrant, now: Date): SupportAccessGrantView {
  return {
    id: grant.id,
    organizationId: grant.organization_id,
    ticketId: grant.ticket_id,
    grantedBy: grant.granted_by,
    kind: grant.kind,
    resourceIds: grant.resource_ids,
    status: statusAt(grant, now),
    grantedAt: grant.granted_at.toISOString(),
    expiresAt: grant.expires_at.toISOString(),
    endedAt: grant.ended_at?.toISOString() ?? null,
  };
}

export function supportAccessService({ client, db, taskQueue, clock }: SupportAccessDeps) {
  /** Who may see a grant: members of its organization, the ticket's assignee, the system. */
  async function canSee(principal: Principal, grant: SupportAccessGrant): Promise<boolean> {
    if (principal.role === 'system') return true;
    if (principal.role === 'customer') return (await findMembership(db, grant.organization_id, principal.sub)) !== undefined;
    const ticket = await findTicket(db, grant.ticket_id);
    return ticket?.assigned_agent_id === principal.sub;
  }

  return {
    /**
     * A member grants access for SUPPORT_ACCESS_EXPIRY_MS on an open ticket of the organization.
     * The grant's workflow holds the expiry: when it cannot start, the row goes and nothing is granted.
     */
    async grant(
      customerId: string,
      input: { organizationId: string; ticketId: string; kind: SupportAccessKind; resourceIds: string[] },
    ): Promise<SupportAccessGrantView> {
      const grantedAt = clock.now();
      const granted = await insertGrantIfAllowed(
        db,
        {
          id: randomUUID(),
          organizationId: input.organizationId,
          ticketId: input.ticketId,
          grantedBy: customerId,
          kind: input.kind,
          resourceIds: input.resourceIds,
          grantedAt,
          expiresAt: new Date(grantedAt.getTime() + SUPPORT_ACCESS_EXPIRY_MS),
        },
        { action: 'support_access.granted', details: { kind: input.kind, ticketId: input.ticketId } },
      );
      // The checks, the row and its audit are one statement (issue 20, item 3), before the start:
      // the process may end the row at any time after it starts. Nothing inserted says why.
      if (!granted.role) throw new Problem('forbidden', 'You are not a member of this organization');
      if (!granted.ticket || granted.ticket.organizationId !== input.organizationId) {
        throw new Problem('unprocessable', 'The ticket is not one of this organization', { pointer: '/ticketId' });
      }
      if (granted.ticket.status !== 'open' || !granted.grant) throw new Problem('unprocessable', 'The ticket is closed', { pointer: '/ticketId' });
      const grant = granted.grant;
      const auditOf = { actor_type: 'customer', actor_id: customerId, subject_type: 'support_access_grant', subject_id: grant.id, decision: null } as const;
      // A new id every time: 'refuse' (never twice) is the policy, and a taken id is as much a failure as any.
      const notGranted = async (cause: string) => {
        // No workflow means no expiry: do not leave an active row behind, and say so after the grant's entry.
        await deleteGrant(db, grant.id);
        await audit(db, { ...auditOf, action: 'support_access.grant_failed', details: { cause } });
        return new Problem('unavailable', 'Could not start the grant; nothing was granted', { cause });
      };
      let started: boolean;
      try {
        started = await startProcess(
          { client, taskQueue },
          'supportAccess',
          supportAccessWorkflowId(grant.id),
          { grantId: grant.id } satisfies SupportAccessInput,
          { policy: 'refuse' },
        );
      } catch (err) {
        throw await notGranted((err as Error).name);
      }
      if (!started) throw await notGranted('WorkflowExecutionAlreadyStartedError');
      return view(grant, clock.now());
    },

    /** The granting customer, or an administrator or legal representative of the organization, ends an active grant. */
    async revoke(customerId: string, grantId: string): Promise<{ id: string; status: 'revoked' }> {
      const grant = await findGrant(db, grantId);
      const membership = grant && (await findMembership(db, grant.organization_id, customerId));
      if (!grant || !membership) throw notFound('grant');
      const mayRevoke = grant.granted_by === customerId || membership.role !== 'collaborator';
      if (!mayRevoke) throw new Problem('forbidden', 'Only the granting customer, an administrator or a legal representative may revoke');
      const status = statusAt(grant, clock.now());
      if (status !== 'active') throw new Problem('grant-not-active', `The grant is already ${status}`);

      try {
        await client.workflow.getHandle(supportAccessWorkflowId(grant.id)).executeUpdate(revokeUpdate, { args: [{ actor: `customer:${customerId}` }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // The workflow has ended: the row says how, unless it still says active (then the fault is ours).
          const now = await findGrant(db, grant.id);
          if (now && now.status !== 'active') throw new Problem('grant-not-active', `The grant is already ${now.status}`);
          throw err;
        }
        throw asProcessProblem(err, {
          closed: new Problem('grant-not-active', 'The grant is no longer active'),
          byType: { [FailureType.GrantNotActive]: new Problem('grant-not-active', 'The grant is no longer active') },
        });
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: customerId,
        action: 'support_access.revoked',
        subject_type: 'support_access_grant',
        subject_id: grant.id,
        decision: null,
        details: {},
      });
      return { id: grant.id, status: 'revoked' };
    },

    /** One grant, to those who may see it; anyone else is told it does not exist. */
    async read(principal: Principal, grantId: string): Promise<SupportAccessGrantView> {
      const grant = await findGrant(db, grantId);
      if (!grant || !(await canSee(principal, grant))) throw notFound('grant');
      return view(grant, clock.now());
    },

    /** Newest first: customers see their organizations' grants, agents their tickets', the system all. */
    async list(principal: Principal, filter: { organizationId?: string; ticketId?: string; limit: number }): Promise<SupportAccessGrantView[]> {
      const scope: Parameters<typeof listGrants>[1] = { organizationId: filter.organizationId, ticketId: filter.ticketId, limit: filter.limit };
      if (principal.role === 'customer') {
        const mine = await organizationIdsOf(db, principal.sub);
        if (filter.organizationId && !mine.includes(filter.organizationId)) throw new Problem('forbidden', 'Not one of your organizations');
        scope.organizationIds = mine;
      } else if (principal.role === 'agent') {
        const mine = await ticketIdsAssignedTo(db, principal.sub);
        if (filter.ticketId && !mine.includes(filter.ticketId)) throw new Problem('forbidden', 'Not one of your tickets');
        scope.ticketIds = mine;
      }
      const now = clock.now();
      return (await listGrants(db, scope)).map((g) => view(g, now));
    },

    /**
     * An agent asks whether it may open a resource: only the ticket's assignee, under an active grant
     * of that kind naming the resource. Every answer is audited; a denial says why.
     */
    async checkAccess(
      agentId: string,
      grantId: string,
      request: { resourceId: string; kind?: SupportAccessKind },
    ): Promise<{ allowed: true; expiresAt: string }> {
      const grant = await findGrant(db, grantId);
      const now = clock.now();
      let reason: string | null = null;
      if (!grant) reason = 'grant_not_found';
      else {
        const ticket = await findTicket(db, grant.ticket_id);
        const status = statusAt(grant, now);
        if (ticket?.assigned_agent_id !== agentId) reason = 'not_ticket_assignee';
        else if (status !== 'active') reason = `grant_${status}`;
        else if (request.kind && request.kind !== grant.kind) reason = 'kind_not_granted';
        else if (!grant.resource_ids.includes(request.resourceId)) reason = 'resource_not_granted';
      }
      await audit(db, {
        actor_type: 'agent',
        actor_id: agentId,
        action: 'support_access.checked',
        subject_type: 'support_access_grant',
        subject_id: grantId,
        decision: reason ? 'denied' : 'allowed',
        details: { resourceId: request.resourceId, ...(reason ? { reason } : {}) },
      });
      if (!grant) throw notFound('grant');
      if (reason) throw new Problem('access-denied', `Access denied: ${reason.replaceAll('_', ' ')}`, { reason });
      return { allowed: true, expiresAt: grant.expires_at.toISOString() };
    },
  };
}
