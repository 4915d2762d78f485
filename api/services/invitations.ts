/**
 * P9 membership: the rules behind the invitation routes (api/routes/invitations.ts) and the
 * acceptance page (api/pages/invitations.ts). Administrators and legal representatives manage
 * members; only a legal representative changes the organization's details or a legal
 * representative's role; collaborators do neither. Non-members learn nothing (404).
 * The invitation's workflow sends, resends, cancels and accepts; the row answers reads. A link's
 * page only reads (viewInvitationLink); accepting is `accept`, the same for the route and the page.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
  countOwnedProducts,
  deleteInvitation,
  findInvitation,
  insertInvitation,
  invitationOf,
  loginEmailOf,
  memberIdByLoginEmail,
  pendingInvitationByToken,
  pendingInvitationForAcceptance,
  pendingInvitationsOf,
  renameOrganization,
  setMemberRole,
  type OrganizationInvitation,
  memberRights,
  setMemberRights,
} from '../../db/repositories/invitations';
import { findMembership, isLastLegalRepresentativeError } from '../../db/repositories/organizations';
import type { ContactPreferences } from '../../db/tables/invitations.table';
import type { MembershipRole } from '../../db/tables/memberships.table';
import { maskEmail } from '../../lib/mask';
import { INVITATION_LINK_VALIDITY_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import {
  acceptInvitationUpdate,
  cancelInvitationUpdate,
  invitationWorkflowId,
  resendInvitationUpdate,
  type InvitationInput,
} from '../../workflows/shared/invitation';
import { notFound, Problem } from '../problems';
import { startProcess, updateProcess, type Refusals } from './processes';

export interface InvitationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export type MemberRole = OrganizationInvitation['role'];

export interface InvitationView {
  organizationName: string;
  role: MemberRole;
  /** Limited to some of the organization's products (none: all of them). */
  productCount: number;
  /** The invited address, masked: enough for the person to know which login to sign in with. */
  invitedEmail: string;
}

/** An invitation as the members' managers see it. */
export interface InvitationDetails {
  id: string;
  organizationId: string;
  email: string;
  role: MemberRole;
  productIds: string[];
  contactPreferences: ContactPreferences;
  status: OrganizationInvitation['status'];
  sends: number;
  sentAt: string | null;
  expiresAt: string;
}

function details(i: OrganizationInvitation): InvitationDetails {
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

/** A resend or cancel the workflow refused: too often or too soon, or no longer pending. */
const notPending = new Problem('conflict', 'The invitation is no longer pending');
const resendOrCancelRefusals: Refusals = {
  closed: notPending,
  byType: { [FailureType.ResendLimitReached]: (message) => new Problem('invitation-resend-limit', message) },
  otherwise: notPending,
};

export function invitationService({ client, db, taskQueue, clock }: InvitationDeps) {
  /** Administrators and legal representatives manage members; others learn nothing or are refused. */
  async function manager(organizationId: string, accountId: string) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw notFound('organization');
    if (m.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives manage members');
    return m;
  }
  /** A pending invitation of the organization, or the reason it cannot be acted on. */
  async function pendingOf(organizationId: string, invitationId: string) {
    const i = await invitationOf(db, organizationId, invitationId);
    if (!i) throw notFound('invitation');
    if (i.status !== 'pending') throw new Problem('conflict', `The invitation is ${i.status}`);
  }
  const handleOf = (invitationId: string) => client.workflow.getHandle(invitationWorkflowId(invitationId));

  return {
    /** The invitation behind a usable link; a used, cancelled, expired or unknown one is `invitation-link-invalid`. */
    async viewInvitationLink(token: string): Promise<InvitationView> {
      const i = await pendingInvitationByToken(db, token, clock.now());
      if (!i) throw new Problem('invitation-link-invalid');
      return { organizationName: i.organization_name, role: i.role, productCount: i.product_ids.length, invitedEmail: maskEmail(i.email) };
    },

    /**
     * A manager invites an address that is not a member yet, for INVITATION_LINK_VALIDITY_MS. The
     * invitation's workflow sends it: when it cannot start, the row goes and nothing was sent.
     */
    async invite(
      accountId: string,
      organizationId: string,
      input: { email: string; role: MemberRole; productIds: string[]; contactPreferences: ContactPreferences },
    ): Promise<InvitationDetails> {
      await manager(organizationId, accountId);
      if (await memberIdByLoginEmail(db, organizationId, input.email)) throw new Problem('conflict', 'This address is already a member');
      if (input.productIds.length && (await countOwnedProducts(db, organizationId, input.productIds)) !== new Set(input.productIds).size)
        throw new Problem('unprocessable', 'Every product must belong to the organization');
      const id = randomUUID();
      const inserted = await insertInvitation(db, {
        id,
        organizationId,
        invitedBy: accountId,
        email: input.email,
        role: input.role,
        productIds: input.productIds,
        contactPreferences: input.contactPreferences,
        expiresAt: new Date(clock.now().getTime() + INVITATION_LINK_VALIDITY_MS),
      });
      if (!inserted) throw new Problem('conflict', 'This address has a pending invitation: resend it instead');
      const notSent = async (cause: string) => {
        await deleteInvitation(db, id);
        return new Problem('unavailable', 'Could not send the invitation; nothing changed', { cause });
      };
      let started: boolean;
      try {
        started = await startProcess({ client, taskQueue }, 'memberInvitation', invitationWorkflowId(id), { invitationId: id } satisfies InvitationInput, {
          policy: 'refuse',
        });
      } catch (err) {
        throw await notSent((err as Error).name);
      }
      if (!started) throw await notSent('WorkflowExecutionAlreadyStartedError');
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'organization.member_invited',
        subject_type: 'organization',
        subject_id: organizationId,
        decision: null,
        details: { invitationId: id, role: input.role },
      });
      return details(await findInvitation(db, id));
    },

    /** The organization's pending invitations, newest first (managers only). */
    async listPending(accountId: string, organizationId: string): Promise<InvitationDetails[]> {
      await manager(organizationId, accountId);
      return (await pendingInvitationsOf(db, organizationId)).map(details);
    },

    /** A new link for a pending invitation; the workflow refuses too many or too frequent sends. */
    async resend(accountId: string, organizationId: string, invitationId: string): Promise<InvitationDetails> {
      await manager(organizationId, accountId);
      await pendingOf(organizationId, invitationId);
      await updateProcess(handleOf(invitationId), resendInvitationUpdate, [{ actor: `customer:${accountId}` }], resendOrCancelRefusals);
      return details(await findInvitation(db, invitationId));
    },

    /** Cancels a pending invitation; answers once its workflow has ended, so its link no longer works. */
    async cancel(accountId: string, organizationId: string, invitationId: string): Promise<void> {
      await manager(organizationId, accountId);
      await pendingOf(organizationId, invitationId);
      const handle = handleOf(invitationId);
      await updateProcess(handle, cancelInvitationUpdate, [{ actor: `customer:${accountId}` }], resendOrCancelRefusals);
      await handle.result();
    },

    /**
     * The invited person, signed in with the invited address, joins the organization (single use).
     * The route and the acceptance page both call this.
     */
    async accept(accountId: string, token: string): Promise<{ organizationId: string; role: MemberRole }> {
      const inv = await pendingInvitationForAcceptance(db, token);
      if (!inv || inv.expires_at <= clock.now()) throw new Problem('invitation-link-invalid');
      const login = await loginEmailOf(db, accountId);
      if (!login || login.toLowerCase() !== inv.email.toLowerCase()) throw new Problem('invitation-not-for-you');
      const handle = handleOf(inv.id);
      const invalid = new Problem('invitation-link-invalid');
      await updateProcess(handle, acceptInvitationUpdate, [{ accountId }], { closed: invalid, otherwise: invalid });
      await handle.result();
      return { organizationId: inv.organization_id, role: inv.role };
    },

    /**
     * A manager changes a member's role; a legal representative's only by a legal representative, and
     * never the last one's. A legal representative may make a member legal representative too.
     */
    async changeRole(accountId: string, organizationId: string, memberId: string, role: MembershipRole): Promise<{ accountId: string; role: MembershipRole }> {
      const actor = await manager(organizationId, accountId);
      const target = await findMembership(db, organizationId, memberId);
      if (!target) throw notFound('member');
      if (target.role === 'legal_representative' && actor.role !== 'legal_representative')
        throw new Problem('forbidden', 'Only a legal representative changes a legal representative’s role');
      // Issue 17, item 8 [001, 002]: the role is given without removing anyone; only a legal representative gives it.
      if (role === 'legal_representative' && actor.role !== 'legal_representative')
        throw new Problem('forbidden', 'Only a legal representative makes a member legal representative');
      try {
        await db.transaction().execute((trx) => setMemberRole(trx, organizationId, memberId, role));
      } catch (err) {
        if (isLastLegalRepresentativeError(err)) throw new Problem('last-legal-representative', 'Hand the legal representation over first');
        throw err;
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'organization.member_role_changed',
        subject_type: 'organization',
        subject_id: organizationId,
        decision: null,
        details: { accountId: memberId, from: target.role, to: role },
      });
      return { accountId: memberId, role };
    },

    /**
     * Issue 17, item 7 [001]: a member's rights after joining. Managers change a member's product
     * rights (null: all products; only the organization's own) and contact preferences, a legal
     * representative's only by a legal representative; a member changes their own contact
     * preferences. Restricted members read and act on their products only (api/services/productAccess.ts);
     * billing mail goes by the contact preferences (activities/renewal.ts).
     */
    async changeRights(
      accountId: string,
      organizationId: string,
      memberId: string,
      change: { productIds?: string[] | null; contactPreferences?: ContactPreferences },
    ): Promise<{ accountId: string; productIds: string[] | null; contactPreferences: ContactPreferences }> {
      const self = accountId === memberId;
      const actor = await findMembership(db, organizationId, accountId);
      if (!actor) throw notFound('organization');
      const target = await memberRights(db, organizationId, memberId);
      if (!target) throw notFound('member');
      const managing = change.productIds !== undefined || !self;
      if (managing && actor.role === 'collaborator')
        throw new Problem('forbidden', 'Administrators and legal representatives manage members; you may change your own contact preferences');
      if (managing && target.role === 'legal_representative' && actor.role !== 'legal_representative')
        throw new Problem('forbidden', 'Only a legal representative changes a legal representative’s rights');
      if (change.productIds && (await countOwnedProducts(db, organizationId, change.productIds)) !== new Set(change.productIds).size)
        throw new Problem('unprocessable', 'Every product must belong to the organization', { pointer: '/productIds' });
      await db.transaction().execute(async (trx) => {
        await setMemberRights(trx, organizationId, memberId, change);
        await audit(trx, {
          actor_type: 'customer',
          actor_id: accountId,
          action: 'organization.member_rights_changed',
          subject_type: 'organization',
          subject_id: organizationId,
          decision: null,
          details: {
            accountId: memberId,
            productCount: change.productIds === undefined ? undefined : (change.productIds?.length ?? null),
            contactPreferences: change.contactPreferences,
          },
        });
      });
      const now = (await memberRights(db, organizationId, memberId))!;
      return { accountId: memberId, productIds: now.product_ids, contactPreferences: now.contact_preferences as ContactPreferences };
    },

    /** A legal representative changes the organization's details. */
    async changeDetails(accountId: string, organizationId: string, changes: { name: string }): Promise<{ id: string; name: string }> {
      const m = await findMembership(db, organizationId, accountId);
      if (!m) throw notFound('organization');
      if (m.role !== 'legal_representative') throw new Problem('forbidden', "Only a legal representative changes the organization's details");
      await renameOrganization(db, organizationId, changes.name);
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'organization.details_changed',
        subject_type: 'organization',
        subject_id: organizationId,
        decision: null,
        details: { fields: Object.keys(changes) },
      });
      return { id: organizationId, name: changes.name };
    },
  };
}
