/** Side effects of the legal-representative handover (P10); each is idempotent under retry. */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, redactSecret } from '../db/repositories/outbox';
import { lockOrganization } from '../db/repositories/organizations';
import { describeDuration, INVITATION_LINK_VALIDITY_MS } from '../lib/rules';
import { hashLinkToken } from '../db/repositories/verification';
import type { HandoverStatus } from '../db/tables/handover.table';
import { FailureType } from '../workflows/shared/failures';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

const isLastLegalRepresentative = (err: unknown) => (err as { constraint?: string }).constraint === 'memberships_legal_representative_required';

export function createHandoverActivities({ db, clock, config }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  const handoverOrFail = async (handoverId: string) => {
    const row = await db
      .selectFrom('legal_rep_handovers as h')
      .innerJoin('organizations as o', 'o.id', 'h.organization_id')
      .innerJoin('accounts as f', 'f.id', 'h.from_account_id')
      .select([
        'h.id',
        'h.organization_id',
        'h.requested_by',
        'h.from_account_id',
        'h.to_account_id',
        'h.to_email',
        'h.status',
        'h.expires_at',
        'h.former_stays_as',
        'o.name as org_name',
        'f.display_name as from_name',
        'f.login_email as from_email',
      ])
      .where('h.id', '=', handoverId)
      .executeTakeFirst();
    if (!row) throw ApplicationFailure.nonRetryable(`handover ${handoverId} not found`, FailureType.NotFound);
    return row;
  };

  /** Emails the invitee a single-use link; accepting it (signed in with that address) makes them legal representative. */
  async function sendHandoverInvitation({ handoverId }: { handoverId: string }): Promise<void> {
    const h = await handoverOrFail(handoverId);
    const key = `handover:${handoverId}:invitation`;
    const token = randomBytes(32).toString('base64url');
    const minted = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('legal_rep_handovers')
        .set({ token_hash: hashLinkToken(token) })
        .where('id', '=', handoverId)
        .where('status', '=', 'awaiting_acceptance')
        .where('token_hash', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return false;
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: h.to_email!,
        subject: `You are invited to become the legal representative of ${h.org_name}`,
        body: [
          'Hello,',
          '',
          `${h.from_name} asks you to take over as legal representative of ${h.org_name}.`,
          'Open this page and accept, signed in with this address:',
          `${config.publicUrl}/handover/${token}`,
          '',
          `The link works once and expires on ${h.expires_at!.toISOString().slice(0, 10)}. If you do not expect this, ignore it.`,
        ].join('\n'),
      });
      return true;
    });
    await deliver(key);
    if (minted) await redactSecret(db, key, token);
  }

  async function closeHandover({
    handoverId,
    status,
    actor,
  }: {
    handoverId: string;
    status: Extract<HandoverStatus, 'lapsed' | 'cancelled'>;
    actor: string;
  }): Promise<void> {
    const closed = await db
      .updateTable('legal_rep_handovers')
      .set({ status, token_hash: null })
      .where('id', '=', handoverId)
      .where('status', '=', 'awaiting_acceptance')
      .returning(['organization_id', 'requested_by'])
      .executeTakeFirst();
    if (!closed) return;
    await audit(db, {
      actor_type: 'system',
      actor_id: 'handover',
      action: `organization.legal_rep_handover_${status}`,
      subject_type: 'organization',
      subject_id: closed.organization_id,
      decision: null,
      details: { handoverId, actor },
    });
    const h = await handoverOrFail(handoverId);
    const key = `handover:${handoverId}:${status}`;
    await enqueue(db, {
      key,
      channel: 'email',
      recipient: h.from_email,
      subject: `Handover of ${h.org_name}: ${status === 'lapsed' ? 'the invitation expired' : 'cancelled'}`,
      body: [
        `Hello ${h.from_name},`,
        '',
        `The handover of the legal representation of ${h.org_name} ${status === 'lapsed' ? `was not accepted within ${describeDuration(INVITATION_LINK_VALIDITY_MS)}` : 'was cancelled'}. You remain its legal representative.`,
      ].join('\n'),
    });
    await deliver(key);
  }

  /**
   * Gives the new representative the role, then removes the former one, in one transaction: either
   * both happen or neither. PostgreSQL's trigger refuses the removal if no representative would remain.
   */
  async function transferLegalRepresentation({ handoverId, acceptedBy }: { handoverId: string; acceptedBy: string | null }): Promise<void> {
    try {
      await db.transaction().execute(async (trx) => {
        const h = await trx.selectFrom('legal_rep_handovers').selectAll().where('id', '=', handoverId).executeTakeFirst();
        if (!h) throw ApplicationFailure.nonRetryable(`handover ${handoverId} not found`, FailureType.NotFound);
        // The organization first, as every membership change does: racing changes queue, never deadlock.
        await lockOrganization(trx, h.organization_id);
        if (h.status === 'completed') return;
        const to = h.to_account_id ?? acceptedBy;
        if (!to) throw ApplicationFailure.nonRetryable('the handover has no new representative', FailureType.HandoverRefused);
        await trx
          .insertInto('memberships')
          .values({ organization_id: h.organization_id, account_id: to, role: 'legal_representative' })
          .onConflict((oc) => oc.columns(['organization_id', 'account_id']).doUpdateSet({ role: 'legal_representative' }))
          .execute();
        if (to !== h.from_account_id && h.former_stays_as) {
          // The former representative chose to stay (issue 17, item 8), with the role they chose.
          await trx
            .updateTable('memberships')
            .set({ role: h.former_stays_as })
            .where('organization_id', '=', h.organization_id)
            .where('account_id', '=', h.from_account_id)
            .execute();
        } else if (to !== h.from_account_id) {
          await trx.deleteFrom('memberships').where('organization_id', '=', h.organization_id).where('account_id', '=', h.from_account_id).execute();
        }
        await trx
          .updateTable('legal_rep_handovers')
          .set({ status: 'completed', to_account_id: to, token_hash: null, completed_at: clock.now() })
          .where('id', '=', handoverId)
          .execute();
        await audit(trx, {
          actor_type: 'system',
          actor_id: 'handover',
          action: 'organization.legal_rep_handed_over',
          subject_type: 'organization',
          subject_id: h.organization_id,
          decision: null,
          details: { handoverId, from: h.from_account_id, to, formerStaysAs: h.former_stays_as },
        });
      });
    } catch (err) {
      if (isLastLegalRepresentative(err))
        throw ApplicationFailure.nonRetryable('the organization would have no legal representative', FailureType.HandoverRefused);
      throw err;
    }
  }

  /** Tells the new and the former representative and every other member with rights. */
  async function notifyHandoverCompleted({ handoverId }: { handoverId: string }): Promise<void> {
    const h = await handoverOrFail(handoverId);
    const to = await db.selectFrom('accounts').select(['id', 'display_name']).where('id', '=', h.to_account_id!).executeTakeFirstOrThrow();
    const people = await db
      .selectFrom('memberships as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['a.id', 'a.login_email', 'a.display_name'])
      .where('m.organization_id', '=', h.organization_id)
      .where('m.role', 'in', ['legal_representative', 'administrator'])
      .execute();
    const former = { id: h.from_account_id, login_email: h.from_email, display_name: h.from_name };
    for (const person of [...people, ...(people.some((p) => p.id === former.id) ? [] : [former])]) {
      const key = `handover:${handoverId}:completed:${person.id}`;
      const line =
        person.id === to.id
          ? `You are now the legal representative of ${h.org_name}.`
          : person.id === former.id
            ? h.former_stays_as
              ? `${to.display_name} is now the legal representative of ${h.org_name}; as you chose, you stay in the organization as ${h.former_stays_as === 'administrator' ? 'an administrator' : 'a collaborator'}.`
              : `${to.display_name} is now the legal representative of ${h.org_name}; as agreed, you have been removed from the organization.`
            : `${to.display_name} is now the legal representative of ${h.org_name}, replacing ${h.from_name}.`;
      await enqueue(db, {
        key,
        channel: 'email',
        recipient: person.login_email,
        subject: `New legal representative of ${h.org_name}`,
        body: [`Hello ${person.display_name},`, '', line].join('\n'),
      });
      await deliver(key);
    }
  }

  return { sendHandoverInvitation, closeHandover, transferLegalRepresentation, notifyHandoverCompleted };
}
