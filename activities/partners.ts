/** Side effects of the partner program (P11): client invitations and the end of a partnership. */
import { sameRights } from '../lib/partnerRights';
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, redactSecret } from '../db/repositories/outbox';
import { hashLinkToken } from '../db/repositories/verification';
import type { Db } from '../db/database';
import type { PartnerRights } from '../db/tables/partners.table';
import { FailureType } from '../workflows/shared/failures';
import type { ClientInvitationState } from '../workflows/shared/partners';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';
import { INVITATION_LINK_VALIDITY_MS, describeDuration } from '../lib/rules';

export const describeRights = (r: PartnerRights) =>
  `${r.access === 'full' ? 'full access to the account' : `access to ${r.productIds?.length ?? 0} chosen product(s)`}, billed to ${r.billing === 'partner' ? 'the partner' : 'the client'}`;

export function createPartnerActivities({ db, clock, config }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  const invitationOrFail = async (invitationId: string) => {
    const row = await db
      .selectFrom('client_invitations as i')
      .innerJoin('organizations as o', 'o.id', 'i.partner_organization_id')
      .select(['i.id', 'i.partner_organization_id', 'i.client_email', 'i.requested', 'i.granted', 'i.client_organization_id', 'o.name as partner_name'])
      .where('i.id', '=', invitationId)
      .executeTakeFirst();
    if (!row) throw ApplicationFailure.nonRetryable(`client invitation ${invitationId} not found`, FailureType.NotFound);
    return row;
  };
  /** Legal representatives and administrators of an organization. */
  const managers = (trx: Db, organizationId: string) =>
    trx
      .selectFrom('memberships as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['a.id', 'a.login_email', 'a.display_name'])
      .where('m.organization_id', '=', organizationId)
      .where('m.role', 'in', ['legal_representative', 'administrator'])
      .execute();
  async function mailAll(organizationId: string, key: string, subject: string, line: string) {
    for (const p of await managers(db, organizationId)) {
      const k = `${key}:${p.id}`;
      await enqueue(db, { key: k, channel: 'email', recipient: p.login_email, subject, body: [`Hello ${p.display_name},`, '', line].join('\n') });
      await deliver(k);
    }
  }

  async function sendClientInvitation({ invitationId, expiresAt }: { invitationId: string; expiresAt: string }): Promise<void> {
    const inv = await invitationOrFail(invitationId);
    const key = `client-invitation:${invitationId}:send:${expiresAt}`;
    const token = randomBytes(32).toString('base64url');
    const until = new Date(expiresAt);
    const minted = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('client_invitations')
        .set((eb) => ({ token_hash: hashLinkToken(token), expires_at: until, sent_at: clock.now(), sends: eb('sends', '+', 1) }))
        .where('id', '=', invitationId)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('sent_at', 'is', null), eb('expires_at', '!=', until)]))
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return false;
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: inv.client_email,
        subject: `${inv.partner_name} asks to manage your products as your partner`,
        body: [
          'Hello,',
          '',
          `${inv.partner_name}, a partner of ours, asks for ${describeRights(inv.requested)}.`,
          'You may grant these rights or different ones: a legal representative or administrator of your organization chooses them and accepts on this page, signed in with this address:',
          `${config.publicUrl}/client-invitations/${token}`,
          '',
          `The link works once and expires on ${until.toISOString().slice(0, 10)}. If you do not know this partner, ignore it.`,
        ].join('\n'),
      });
      return true;
    });
    await deliver(key);
    if (minted) await redactSecret(db, key, token);
  }

  /** Ends the invitation; accepted, it starts the partnership with the rights the client granted. */
  async function closeClientInvitation(input: {
    invitationId: string;
    state: ClientInvitationState;
    clientOrganizationId: string | null;
    actor: string;
  }): Promise<void> {
    const { invitationId, state } = input;
    if (state === 'pending') return;
    const inv = await invitationOrFail(invitationId);
    const closed = await db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('client_invitations')
        .set({ status: state, token_hash: null })
        .where('id', '=', invitationId)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!row) return false;
      if (state === 'accepted') {
        const granted = inv.granted;
        if (!granted || !input.clientOrganizationId) throw ApplicationFailure.nonRetryable('accepted without granted rights', FailureType.NotFound);
        await trx
          .insertInto('partnerships')
          .values({
            id: invitationId,
            partner_organization_id: inv.partner_organization_id,
            client_organization_id: input.clientOrganizationId,
            invitation_id: invitationId,
            access: granted.access,
            product_ids: granted.productIds ?? [],
            billing: granted.billing,
            started_at: clock.now(),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'partner-invitation',
        action: `partner.client_invitation_${state}`,
        subject_type: 'organization',
        subject_id: inv.partner_organization_id,
        decision: null,
        details: { invitationId, actor: input.actor },
      });
      return true;
    });
    if (!closed || state === 'cancelled') return;
    await mailAll(
      inv.partner_organization_id,
      `client-invitation:${invitationId}:${state}`,
      state === 'accepted' ? 'Your client accepted your invitation' : 'Your client invitation expired',
      state === 'accepted'
        ? sameRights(inv.granted!, inv.requested)
          ? `The client granted ${describeRights(inv.granted!)}, as you asked.`
          : `The client granted ${describeRights(inv.granted!)}, not what you asked for (${describeRights(inv.requested)}).`
        : `The client did not accept within ${describeDuration(INVITATION_LINK_VALIDITY_MS)}. You can invite again.`,
    );
  }

  /** Access ends with the row; both sides are told. */
  async function notifyPartnershipEnded({ partnershipId }: { partnershipId: string }): Promise<void> {
    const p = await db.selectFrom('partnerships').selectAll().where('id', '=', partnershipId).executeTakeFirst();
    if (!p?.ended_at) throw ApplicationFailure.nonRetryable(`partnership ${partnershipId} has not ended`, FailureType.NotFound);
    const [partner, client] = await Promise.all(
      [p.partner_organization_id, p.client_organization_id].map((id) =>
        db.selectFrom('organizations').select('name').where('id', '=', id).executeTakeFirstOrThrow(),
      ),
    );
    const line = `The partnership between ${partner!.name} (partner) and ${client!.name} (client) has ended; the partner's access ended at once.`;
    await mailAll(p.partner_organization_id, `partnership:${partnershipId}:ended`, 'Partnership ended', line);
    await mailAll(p.client_organization_id, `partnership:${partnershipId}:ended`, 'Partnership ended', line);
  }

  /** The author gets the cancel link; the partners who opted in get the excerpt, never the contact. */
  async function publishRequestForProposal({ rfpId }: { rfpId: string }): Promise<void> {
    const rfp = await db
      .selectFrom('requests_for_proposal as r')
      .innerJoin('accounts as a', 'a.id', 'r.created_by')
      .select(['r.id', 'r.title', 'r.summary', 'r.status', 'r.closes_at', 'r.organization_id', 'a.login_email', 'a.display_name'])
      .where('r.id', '=', rfpId)
      .executeTakeFirst();
    if (!rfp) throw ApplicationFailure.nonRetryable(`request for proposal ${rfpId} not found`, FailureType.NotFound);
    const key = `rfp:${rfpId}:author`;
    const token = randomBytes(32).toString('base64url');
    const minted = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('requests_for_proposal')
        .set({ cancel_token_hash: hashLinkToken(token) })
        .where('id', '=', rfpId)
        .where('status', '=', 'open')
        .where('cancel_token_hash', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return false;
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: rfp.login_email,
        subject: `Your request for proposal is published: ${rfp.title}`,
        body: [
          `Hello ${rfp.display_name},`,
          '',
          `Partners who take such requests have received an excerpt of "${rfp.title}". They see your details and contact only while it is open, until ${rfp.closes_at.toISOString().slice(0, 10)}.`,
          'Found a solution? Cancel it at once on this page:',
          `${config.publicUrl}/rfp/cancel/${token}`,
        ].join('\n'),
      });
      return true;
    });
    await deliver(key);
    if (minted) await redactSecret(db, key, token);
    const partners = await db
      .selectFrom('organizations')
      .select('id')
      .where('program', '=', 'partner')
      .where('rfp_opt_in', '=', true)
      .where('id', '!=', rfp.organization_id)
      .execute();
    for (const p of partners) {
      await mailAll(
        p.id,
        `rfp:${rfpId}:excerpt`,
        `Request for proposal: ${rfp.title}`,
        [rfp.summary.slice(0, 500), '', `Read the whole request and its contact while it is open: ${config.publicUrl}/rfp/${rfpId}`].join('\n'),
      );
    }
  }

  async function closeRequestForProposal({ rfpId }: { rfpId: string }): Promise<void> {
    await db
      .updateTable('requests_for_proposal')
      .set({ status: 'closed', cancel_token_hash: null })
      .where('id', '=', rfpId)
      .where('status', '=', 'open')
      .execute();
  }

  return { sendClientInvitation, closeClientInvitation, notifyPartnershipEnded, publishRequestForProposal, closeRequestForProposal };
}
