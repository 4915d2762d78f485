/**
 * P10 legal-representative handover: the rules behind the handover routes (api/routes/handover.ts)
 * and the acceptance page (api/pages/invitations.ts). A legal representative hands over to an
 * existing member or invites someone by email; the process gives the new one the role before
 * removing the former one. The invitation is accepted by the invitee signed in with the invited
 * address. Members with rights may read a handover; only a legal representative acts; others learn
 * nothing (404). One handover of an organization at a time: the row's unique index and the
 * workflow id both say so.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
  deleteHandover,
  findHandover,
  handoverAwaitingAcceptance,
  handoverOf,
  insertHandover,
  markHandoverAccepted,
  pendingHandoverByToken,
  type LegalRepHandover,
} from '../../db/repositories/handover';
import { loginEmailOf, memberIdByLoginEmail } from '../../db/repositories/invitations';
import { findMembership } from '../../db/repositories/organizations';
import { maskEmail } from '../../lib/mask';
import { INVITATION_LINK_VALIDITY_MS } from '../../lib/rules';
import { acceptHandoverUpdate, cancelHandoverUpdate, handoverWorkflowId, type HandoverInput } from '../../workflows/shared/handover';
import { notFound, Problem } from '../problems';
import { startProcess, updateProcess } from './processes';

export interface HandoverDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export interface HandoverView {
  id: string;
  organizationId: string;
  from: string;
  /** The new representative; null while an invitation waits. */
  to: string | null;
  invitation: boolean;
  status: LegalRepHandover['status'];
  requestedAt: string;
  expiresAt: string | null;
  completedAt: string | null;
  /** The former representative stays with this role; null: they leave. */
  formerStaysAs: 'administrator' | 'collaborator' | null;
}

function view(h: LegalRepHandover): HandoverView {
  return {
    id: h.id,
    organizationId: h.organization_id,
    from: h.from_account_id,
    to: h.to_account_id,
    invitation: h.to_email !== null,
    status: h.status,
    requestedAt: h.requested_at.toISOString(),
    expiresAt: h.expires_at?.toISOString() ?? null,
    completedAt: h.completed_at?.toISOString() ?? null,
    formerStaysAs: h.former_stays_as,
  };
}

export function handoverService({ client, db, taskQueue, clock }: HandoverDeps) {
  /** Members with rights may read; only a legal representative acts. Others learn nothing. */
  async function actorIn(organizationId: string, accountId: string, act: boolean) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m || m.role === 'collaborator') throw notFound('organization');
    if (act && m.role !== 'legal_representative') throw new Problem('forbidden', 'Only a legal representative hands the representation over');
  }

  return {
    /** The handover behind a usable link; a used, cancelled, lapsed or unknown one is `invitation-link-invalid`. */
    async viewHandoverLink(token: string): Promise<{ organizationName: string; fromName: string; invitedEmail: string }> {
      const h = await pendingHandoverByToken(db, token, clock.now());
      if (!h) throw new Problem('invitation-link-invalid');
      return { organizationName: h.organization_name, fromName: h.from_name, invitedEmail: maskEmail(h.to_email ?? '') };
    },

    /**
     * A legal representative hands `from`'s role over to a member, or to an address (a member's
     * login is that member; anyone else is invited and has INVITATION_LINK_VALIDITY_MS to accept).
     * When the process cannot start, the row goes and nothing changed.
     */
    async request(
      accountId: string,
      organizationId: string,
      input: { from: string; to: { accountId: string } | { email: string }; formerStaysAs?: 'administrator' | 'collaborator' | null },
    ): Promise<HandoverView> {
      await actorIn(organizationId, accountId, true);
      // Staying is the former representative's own choice [001]: nobody makes it for them.
      if (input.formerStaysAs && input.from !== accountId)
        throw new Problem('handover-invalid', 'Only the former representative chooses to stay: `from` must be you to set formerStaysAs');
      const from = await findMembership(db, organizationId, input.from);
      if (from?.role !== 'legal_representative') throw new Problem('handover-invalid', '`from` is not a legal representative of this organization');
      let toAccount: string | null = null;
      let toEmail: string | null = null;
      if ('accountId' in input.to) {
        if (!(await findMembership(db, organizationId, input.to.accountId)))
          throw new Problem('handover-invalid', '`to` is not a member: invite by email instead');
        toAccount = input.to.accountId;
      } else {
        // An address that is already a member's login is that member.
        const member = await memberIdByLoginEmail(db, organizationId, input.to.email);
        if (member) toAccount = member;
        else toEmail = input.to.email;
      }
      if (toAccount === input.from) throw new Problem('handover-invalid', '`to` is `from`');
      const id = randomUUID();
      const now = clock.now();
      const inserted = await insertHandover(db, {
        id,
        organizationId,
        requestedBy: accountId,
        from: input.from,
        toAccount,
        toEmail,
        requestedAt: now,
        expiresAt: toEmail ? new Date(now.getTime() + INVITATION_LINK_VALIDITY_MS) : null,
        formerStaysAs: input.formerStaysAs ?? null,
      });
      if (!inserted) throw new Problem('handover-pending');
      // A closed handover's id may be reused by the next one; a running one refuses the second.
      let started: boolean;
      try {
        started = await startProcess(
          { client, taskQueue },
          'legalRepHandover',
          handoverWorkflowId(organizationId),
          { handoverId: id, organizationId, invitation: toEmail !== null } satisfies HandoverInput,
          { policy: 'one-at-a-time' },
        );
      } catch (err) {
        await deleteHandover(db, id);
        throw new Problem('unavailable', 'Could not start the handover; nothing changed', { cause: (err as Error).name });
      }
      if (!started) {
        await deleteHandover(db, id);
        throw new Problem('handover-pending');
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'organization.legal_rep_handover_requested',
        subject_type: 'organization',
        subject_id: organizationId,
        decision: null,
        details: { handoverId: id, from: input.from, to: toAccount, invitation: toEmail !== null },
      });
      return view(await findHandover(db, id));
    },

    /** A handover of the organization, to its administrators and legal representatives. */
    async read(accountId: string, organizationId: string, handoverId: string): Promise<HandoverView> {
      await actorIn(organizationId, accountId, false);
      const h = await handoverOf(db, organizationId, handoverId);
      if (!h) throw notFound('handover');
      return view(await findHandover(db, h.id));
    },

    /** A legal representative cancels a handover whose invitation is not accepted yet. */
    async cancel(accountId: string, organizationId: string, handoverId: string): Promise<HandoverView> {
      await actorIn(organizationId, accountId, true);
      const h = await handoverOf(db, organizationId, handoverId);
      if (!h) throw notFound('handover');
      if (h.status !== 'awaiting_acceptance') throw new Problem('conflict', `The handover is ${h.status}`);
      const handle = client.workflow.getHandle(handoverWorkflowId(organizationId));
      const notWaiting = new Problem('conflict', 'The handover is no longer waiting for acceptance');
      await updateProcess(handle, cancelHandoverUpdate, [{ actor: `customer:${accountId}` }], { closed: notWaiting, otherwise: notWaiting });
      // It closes its row and ends at once; answering after that lets a new handover start right away.
      await handle.result();
      return view(await findHandover(db, h.id));
    },

    /**
     * The invitee, signed in with the invited address, accepts becoming legal representative
     * (single use); the process then hands the role over. The route and the acceptance page both call this.
     */
    async accept(accountId: string, token: string): Promise<{ handoverId: string; status: 'transferring' }> {
      const h = await handoverAwaitingAcceptance(db, token);
      if (!h || (h.expires_at && h.expires_at <= clock.now())) throw new Problem('invitation-link-invalid');
      const login = await loginEmailOf(db, accountId);
      if (!login || login.toLowerCase() !== h.to_email?.toLowerCase()) throw new Problem('invitation-not-for-you');
      const invalid = new Problem('invitation-link-invalid');
      await updateProcess(client.workflow.getHandle(handoverWorkflowId(h.organization_id)), acceptHandoverUpdate, [{ accountId }], {
        closed: invalid,
        otherwise: invalid,
      });
      await markHandoverAccepted(db, h.id);
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'organization.legal_rep_invitation_accepted',
        subject_type: 'organization',
        subject_id: h.organization_id,
        decision: null,
        details: { handoverId: h.id },
      });
      return { handoverId: h.id, status: 'transferring' };
    },
  };
}
