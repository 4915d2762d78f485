/** Side effects of membership invitations (P9); each is idempotent under retry. */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, redactSecret } from '../db/repositories/outbox';
import { hashLinkToken } from '../db/repositories/verification';
import { INVITATION_LINK_VALIDITY_MS, describeDuration } from '../lib/rules';
import { FailureType } from '../workflows/shared/failures';
import type { InvitationState } from '../workflows/shared/invitation';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

export function createInvitationActivities({ db, clock, config }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  const invitationOrFail = async (invitationId: string) => {
    const row = await db
      .selectFrom('organization_invitations as i')
      .innerJoin('organizations as o', 'o.id', 'i.organization_id')
      .innerJoin('accounts as a', 'a.id', 'i.invited_by')
      .select([
        'i.id',
        'i.organization_id',
        'i.email',
        'i.role',
        'i.product_ids',
        'i.contact_preferences',
        'i.invited_by',
        'o.name as org_name',
        'a.display_name as inviter_name',
        'a.login_email as inviter_email',
      ])
      .where('i.id', '=', invitationId)
      .executeTakeFirst();
    if (!row) throw ApplicationFailure.nonRetryable(`invitation ${invitationId} not found`, FailureType.NotFound);
    return row;
  };

  /** Sends a new single-use link; the previous one stops working. One link per expiry date, whatever the retries. */
  async function sendMemberInvitation({ invitationId, expiresAt }: { invitationId: string; expiresAt: string }): Promise<void> {
    const inv = await invitationOrFail(invitationId);
    const key = `invitation:${invitationId}:send:${expiresAt}`;
    const token = randomBytes(32).toString('base64url');
    const until = new Date(expiresAt);
    const minted = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('organization_invitations')
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
        recipient: inv.email,
        subject: `${inv.inviter_name} invites you to ${inv.org_name}`,
        body: [
          'Hello,',
          '',
          `${inv.inviter_name} invites you to join ${inv.org_name} as ${inv.role === 'administrator' ? 'an administrator' : 'a collaborator'}${inv.product_ids.length ? `, with access to ${inv.product_ids.length} product(s)` : ''}.`,
          'Open this page and accept, signed in with this address (create your account with it first if you have none):',
          `${config.publicUrl}/invitations/${token}`,
          '',
          `The link works once and expires on ${until.toISOString().slice(0, 10)}. If you do not expect this, ignore it.`,
        ].join('\n'),
      });
      return true;
    });
    await deliver(key);
    if (minted) await redactSecret(db, key, token);
  }

  /** Ends the invitation; accepted, it makes the accepter a member as the invitation said. */
  async function closeMemberInvitation({
    invitationId,
    state,
    acceptedBy,
    actor,
  }: {
    invitationId: string;
    state: InvitationState;
    acceptedBy: string | null;
    actor: string;
  }): Promise<void> {
    if (state === 'pending') return;
    const inv = await invitationOrFail(invitationId);
    const closed = await db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('organization_invitations')
        .set({ status: state, token_hash: null, accepted_by: acceptedBy })
        .where('id', '=', invitationId)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!row) return false;
      if (state === 'accepted' && acceptedBy) {
        await trx
          .insertInto('memberships')
          .values({
            organization_id: inv.organization_id,
            account_id: acceptedBy,
            role: inv.role,
            product_ids: inv.product_ids.length ? inv.product_ids : null,
            contact_preferences: JSON.stringify(inv.contact_preferences),
          })
          .onConflict((oc) => oc.columns(['organization_id', 'account_id']).doNothing())
          .execute();
      }
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'invitation',
        action: `organization.invitation_${state}`,
        subject_type: 'organization',
        subject_id: inv.organization_id,
        decision: null,
        details: { invitationId, actor, acceptedBy },
      });
      return true;
    });
    if (!closed || state === 'cancelled') return;
    const key = `invitation:${invitationId}:${state}`;
    await enqueue(db, {
      key,
      channel: 'email',
      recipient: inv.inviter_email,
      subject: state === 'accepted' ? `Your invitation to ${inv.org_name} was accepted` : `Your invitation to ${inv.org_name} expired`,
      body: [
        `Hello ${inv.inviter_name},`,
        '',
        state === 'accepted'
          ? 'The person you invited has joined the organization.'
          : `Nobody accepted your invitation within ${describeDuration(INVITATION_LINK_VALIDITY_MS)}. You can invite again.`,
      ].join('\n'),
    });
    await deliver(key);
  }

  return { sendMemberInvitation, closeMemberInvitation };
}
