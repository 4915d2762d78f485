/**
 * P10 Legal-representative handover [seeds 001, 002]: the new legal representative gets the role
 * first (an invitee only after accepting, within 30 days); only then is the former one removed from
 * the organization, and the members with rights are told. PostgreSQL refuses any change that would
 * leave the organization without a legal representative, so the order of these steps is a matter of
 * courtesy and audit, not the only safeguard.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { INVITATION_LINK_VALIDITY_MS } from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  acceptHandoverUpdate,
  cancelHandoverUpdate,
  handoverStateQuery,
  type HandoverInput,
  type HandoverResult,
  type HandoverStatus,
} from './shared/handover';

const finalFailures = [FailureType.NotFound, FailureType.HandoverRefused];
const db = proxyActivities<Pick<Activities, 'transferLegalRepresentation'>>(databaseActivity(finalFailures));
const notify = proxyActivities<Pick<Activities, 'sendHandoverInvitation' | 'closeHandover' | 'notifyHandoverCompleted'>>(messageActivity(finalFailures));

export async function legalRepHandover({ handoverId, invitation }: HandoverInput): Promise<HandoverResult> {
  let status: HandoverStatus = invitation ? 'awaiting_acceptance' : 'transferring';
  let acceptedBy: string | undefined;
  let cancelledBy: string | undefined;
  const state = () => ({ handoverId, status });

  setHandler(handoverStateQuery, state);
  setHandler(
    acceptHandoverUpdate,
    ({ accountId }) => {
      acceptedBy = accountId;
      status = 'transferring';
      return state();
    },
    {
      validator: (_input) => {
        if (status !== 'awaiting_acceptance') throw ApplicationFailure.nonRetryable(`the handover is ${status}`, FailureType.CaseClosed);
      },
    },
  );
  setHandler(
    cancelHandoverUpdate,
    ({ actor }) => {
      cancelledBy = actor;
      status = 'cancelled';
      return state();
    },
    {
      // Once the role moves, the handover completes: cancelling half of it would help nobody.
      validator: (_input) => {
        if (status !== 'awaiting_acceptance') throw ApplicationFailure.nonRetryable(`the handover is ${status}`, FailureType.CaseClosed);
      },
    },
  );

  if (invitation) {
    await notify.sendHandoverInvitation({ handoverId });
    const decided = await condition(() => status !== 'awaiting_acceptance', INVITATION_LINK_VALIDITY_MS);
    if (!decided || (status as HandoverStatus) === 'cancelled') {
      status = decided ? 'cancelled' : 'lapsed';
      await notify.closeHandover({ handoverId, status, actor: cancelledBy ?? 'system:expiry' });
      return { handoverId, status };
    }
  }
  await db.transferLegalRepresentation({ handoverId, acceptedBy: acceptedBy ?? null });
  status = 'completed';
  await notify.notifyHandoverCompleted({ handoverId });
  return { handoverId, status: 'completed' };
}
