/**
 * P11 partner program: the rules behind the partner routes (api/routes/partners.ts).
 * - Applications are decided at once against the program's conditions (lib/rules.ts); the decision,
 *   the organization's program and the audit commit together.
 * - Client invitations: only a partner's legal representatives invite (administrators may read);
 *   the client's workflow sends, resends, cancels and accepts. The client grants the requested
 *   rights or narrower ones (lib/partnerRights.ts), for an organization it manages.
 * - Either side ends a partnership; the partner's access ends at once, and the emails' process is
 *   queued in the same transaction (issue 15).
 */
import { maskEmail } from '../../lib/mask';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { countOwnedProducts, loginEmailOf } from '../../db/repositories/invitations';
import { findMembership } from '../../db/repositories/organizations';
import {
  clientInvitationOf,
  clientInvitationsOf,
  deleteClientInvitation,
  findClientInvitation,
  insertClientInvitation,
  insertPartnerApplication,
  makePartner,
  pendingClientInvitationByToken,
  programOf,
  recordGrantedRights,
  type ClientInvitation,
  clientInvitationOffer,
  managedOrganizationsWithProducts,
} from '../../db/repositories/partners';
import { findPartnership, hasActivePartnership, markPartnershipEnded } from '../../db/repositories/partnerships';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import type { MembershipRole } from '../../db/tables/memberships.table';
import type { PartnerRights } from '../../db/tables/partners.table';
import { INVITATION_LINK_VALIDITY_MS, PARTNER_MIN_YEARLY_VOLUME } from '../../lib/rules';
import { sendCommitted } from '../../temporal/workflowCommands';
import { FailureType } from '../../workflows/shared/failures';
import {
  acceptClientInvitationUpdate,
  cancelClientInvitationUpdate,
  partnerInvitationWorkflowId,
  resendClientInvitationUpdate,
  type ClientInvitationInput,
} from '../../workflows/shared/partners';
import { notFound, Problem } from '../problems';
import { startProcess, updateProcess, type Refusals } from './processes';

export interface PartnerDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export interface PartnerApplication {
  organizationId: string;
  registryNumber: string;
  website: string;
  yearlyVolume: { amountCents: number; currency: 'CHF' | 'EUR' };
}

export interface ClientInvitationView {
  id: string;
  partnerOrganizationId: string;
  clientEmail: string;
  requested: PartnerRights;
  granted: PartnerRights | null;
  status: ClientInvitation['status'];
  sends: number;
  sentAt: string | null;
  expiresAt: string;
}

function view(i: ClientInvitation): ClientInvitationView {
  return {
    id: i.id,
    partnerOrganizationId: i.partner_organization_id,
    clientEmail: i.client_email,
    requested: i.requested,
    granted: i.granted,
    status: i.status,
    sends: i.sends,
    sentAt: i.sent_at?.toISOString() ?? null,
    expiresAt: i.expires_at.toISOString(),
  };
}

/** Why an application does not meet the program's conditions; none: accepted. */
function refusalReasons(application: PartnerApplication, program: string | null): string[] {
  const reasons: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9 .\-/]{4,39}$/.test(application.registryNumber)) reasons.push('a company registry number is required');
  let site: URL | undefined;
  try {
    site = new URL(application.website);
  } catch {
    site = undefined;
  }
  if (!site || !['http:', 'https:'].includes(site.protocol) || !site.hostname.includes('.')) reasons.push('a website address is required');
  const { amountCents, currency } = application.yearlyVolume;
  const minimum = PARTNER_MIN_YEARLY_VOLUME[currency] * 100;
  if (amountCents < minimum) reasons.push(`the products managed under the program must reach ${minimum / 100} ${currency} a year`);
  if (program === 'affiliate') reasons.push('an Affiliate cannot also be a Partner');
  return reasons;
}

/** A resend or cancel the workflow refused: too often or too soon, or no longer pending. */
const notPending = new Problem('conflict', 'The invitation is no longer pending');
const resendOrCancelRefusals: Refusals = {
  closed: notPending,
  byType: { [FailureType.ResendLimitReached]: (message) => new Problem('invitation-resend-limit', message) },
  otherwise: notPending,
};

const LEGAL_REPRESENTATIVES: readonly MembershipRole[] = ['legal_representative'];
const MANAGERS: readonly MembershipRole[] = ['legal_representative', 'administrator'];

export function partnerService({ client, db, taskQueue, clock }: PartnerDeps) {
  async function member(organizationId: string, accountId: string, roles: readonly MembershipRole[], what: string) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw notFound('organization');
    if (!roles.includes(m.role)) throw new Problem('forbidden', what);
    return m;
  }
  /** A partner organization in which the account has one of these roles. */
  async function partnerOrg(id: string, accountId: string, roles: readonly MembershipRole[]) {
    await member(
      id,
      accountId,
      roles,
      roles.length === 1 ? 'Only the legal representatives of the partner organization invite clients' : 'Administrators and legal representatives only',
    );
    if ((await programOf(db, id)) !== 'partner') throw new Problem('not-a-partner');
  }
  async function pendingOf(partnerId: string, invitationId: string) {
    const i = await clientInvitationOf(db, partnerId, invitationId);
    if (!i) throw notFound('invitation');
    if (i.status !== 'pending') throw new Problem('conflict', `The invitation is ${i.status}`);
  }
  const handleOf = (invitationId: string) => client.workflow.getHandle(partnerInvitationWorkflowId(invitationId));

  return {
    /**
     * A legal representative applies for the organization. The decision is recorded either way;
     * a refusal is `partner-application-refused` with every reason.
     */
    async apply(accountId: string, application: PartnerApplication): Promise<{ applicationId: string; decision: 'accepted' }> {
      const { organizationId } = application;
      await member(organizationId, accountId, LEGAL_REPRESENTATIVES, 'Only a legal representative applies for the organization');
      const program = await programOf(db, organizationId);
      if (program === 'partner') throw new Problem('conflict', 'The organization is a partner already');
      const reasons = refusalReasons(application, program);
      const id = randomUUID();
      await db.transaction().execute(async (trx) => {
        await insertPartnerApplication(trx, {
          id,
          organization_id: organizationId,
          submitted_by: accountId,
          registry_number: application.registryNumber,
          website: application.website,
          yearly_volume_cents: application.yearlyVolume.amountCents,
          currency: application.yearlyVolume.currency,
          decision: reasons.length ? 'refused' : 'accepted',
          reasons,
        });
        if (!reasons.length) await makePartner(trx, organizationId);
        await audit(trx, {
          actor_type: 'customer',
          actor_id: accountId,
          action: reasons.length ? 'partner.application_refused' : 'partner.application_accepted',
          subject_type: 'organization',
          subject_id: organizationId,
          decision: null,
          details: { applicationId: id, reasons },
        });
      });
      if (reasons.length) throw new Problem('partner-application-refused', reasons.join('; '), { reasons });
      return { applicationId: id, decision: 'accepted' };
    },

    /**
     * A partner's legal representative invites a client, for INVITATION_LINK_VALIDITY_MS. The
     * invitation's workflow sends it: when it cannot start, the row goes and nothing was sent.
     */
    async inviteClient(accountId: string, partnerId: string, input: { clientEmail: string; requested: PartnerRights }): Promise<ClientInvitationView> {
      await partnerOrg(partnerId, accountId, LEGAL_REPRESENTATIVES);
      const id = randomUUID();
      await insertClientInvitation(db, {
        id,
        partnerOrganizationId: partnerId,
        invitedBy: accountId,
        clientEmail: input.clientEmail,
        requested: input.requested,
        expiresAt: new Date(clock.now().getTime() + INVITATION_LINK_VALIDITY_MS),
      });
      const notSent = async (cause: string) => {
        await deleteClientInvitation(db, id);
        return new Problem('unavailable', 'Could not send the invitation; nothing changed', { cause });
      };
      let started: boolean;
      try {
        started = await startProcess(
          { client, taskQueue },
          'partnerInvitation',
          partnerInvitationWorkflowId(id),
          { invitationId: id } satisfies ClientInvitationInput,
          { policy: 'refuse' },
        );
      } catch (err) {
        throw await notSent((err as Error).name);
      }
      if (!started) throw await notSent('WorkflowExecutionAlreadyStartedError');
      await audit(db, {
        actor_type: 'customer',
        actor_id: accountId,
        action: 'partner.client_invited',
        subject_type: 'organization',
        subject_id: partnerId,
        decision: null,
        details: { invitationId: id, requested: input.requested },
      });
      return view(await findClientInvitation(db, id));
    },

    /** The partner's client invitations, newest first, to its legal representatives and administrators. */
    async listClientInvitations(accountId: string, partnerId: string): Promise<ClientInvitationView[]> {
      await partnerOrg(partnerId, accountId, MANAGERS);
      return (await clientInvitationsOf(db, partnerId)).map(view);
    },

    /** A new link for a pending client invitation; the workflow refuses too many or too frequent sends. */
    async resendClientInvitation(accountId: string, partnerId: string, invitationId: string): Promise<ClientInvitationView> {
      await partnerOrg(partnerId, accountId, LEGAL_REPRESENTATIVES);
      await pendingOf(partnerId, invitationId);
      await updateProcess(handleOf(invitationId), resendClientInvitationUpdate, [{ actor: `customer:${accountId}` }], resendOrCancelRefusals);
      return view(await findClientInvitation(db, invitationId));
    },

    /** Cancels a pending client invitation; answers once its workflow has ended. */
    async cancelClientInvitation(accountId: string, partnerId: string, invitationId: string): Promise<void> {
      await partnerOrg(partnerId, accountId, LEGAL_REPRESENTATIVES);
      await pendingOf(partnerId, invitationId);
      const handle = handleOf(invitationId);
      await updateProcess(handle, cancelClientInvitationUpdate, [{ actor: `customer:${accountId}` }], resendOrCancelRefusals);
      await handle.result();
    },

    /** The offer behind an emailed client-invitation link, read without acting (issue 18); the address masked. */
    async viewClientInvitationLink(token: string): Promise<{ partnerName: string; requested: PartnerRights; invitedEmail: string }> {
      const offer = await clientInvitationOffer(db, token);
      if (!offer || offer.expires_at <= clock.now()) throw new Problem('invitation-link-invalid');
      return { partnerName: offer.partner_name, requested: offer.requested, invitedEmail: maskEmail(offer.client_email) };
    },

    /** What a signed-in client may grant from: the organizations it manages and their products. */
    async grantableOrganizations(accountId: string) {
      return managedOrganizationsWithProducts(db, accountId);
    },

    /**
     * The invited client, signed in with the invited address, accepts the partner for an
     * organization it manages, granting the rights it chooses, which may differ from those requested
     * either way (single use); the partner is told what was granted.
     */
    async acceptClientInvitation(
      accountId: string,
      token: string,
      input: { organizationId: string; granted: PartnerRights },
    ): Promise<{ partnershipId: string; granted: PartnerRights }> {
      const inv = await pendingClientInvitationByToken(db, token);
      if (!inv || inv.expires_at <= clock.now()) throw new Problem('invitation-link-invalid');
      const login = await loginEmailOf(db, accountId);
      if (!login || login.toLowerCase() !== inv.client_email.toLowerCase()) throw new Problem('invitation-not-for-you');
      await member(input.organizationId, accountId, MANAGERS, 'Only a legal representative or administrator grants rights on the organization');
      if (input.organizationId === inv.partner_organization_id) throw new Problem('unprocessable', 'A partner cannot be its own client');
      // The client decides: the rights granted may differ from those requested, either way [003].
      if (input.granted.access === 'restricted') {
        const productIds = input.granted.productIds!;
        if ((await countOwnedProducts(db, input.organizationId, productIds)) !== new Set(productIds).size)
          throw new Problem('unprocessable', 'Every granted product must belong to your organization');
      }
      if (await hasActivePartnership(db, inv.partner_organization_id, input.organizationId))
        throw new Problem('conflict', 'This partner already manages your organization');
      const granted: PartnerRights = input.granted.access === 'full' ? { access: 'full', billing: input.granted.billing } : input.granted;
      await recordGrantedRights(db, inv.id, input.organizationId, granted);
      const handle = handleOf(inv.id);
      const invalid = new Problem('invitation-link-invalid');
      await updateProcess(handle, acceptClientInvitationUpdate, [{ clientOrganizationId: input.organizationId, accountId }], {
        closed: invalid,
        otherwise: invalid,
      });
      await handle.result();
      return { partnershipId: inv.id, granted };
    },

    /**
     * An administrator or legal representative of either side ends a partnership: the partner's
     * access ends at once, and the emails' process commits with the end (a retry after a lost start
     * answers 409, issue 15).
     */
    async endPartnership(accountId: string, partnershipId: string): Promise<void> {
      const p = await findPartnership(db, partnershipId);
      const side = p && ((await findMembership(db, p.partner_organization_id, accountId)) ?? (await findMembership(db, p.client_organization_id, accountId)));
      if (!p || !side) throw notFound('partnership');
      if (side.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives only');
      const commands = await db.transaction().execute(async (trx) => {
        if (!(await markPartnershipEnded(trx, p.id, accountId, clock.now()))) throw new Problem('conflict', 'The partnership has ended already');
        await audit(trx, {
          actor_type: 'customer',
          actor_id: accountId,
          action: 'partner.partnership_ended',
          subject_type: 'organization',
          subject_id: p.client_organization_id,
          decision: null,
          details: { partnershipId: p.id },
        });
        return queueWorkflowCommands(trx, [
          { kind: 'start', workflowType: 'partnershipEnded', workflowId: `partnership-ended:${p.id}`, taskQueue, args: [{ partnershipId: p.id }] },
        ]);
      });
      await sendCommitted({ client, db }, commands);
    },
  };
}
