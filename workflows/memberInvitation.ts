/**
 * P9 Membership invitation [seeds 001, 003]: an email with a single-use link valid 30 days; the
 * inviter may send it again (a new link, valid 30 days from then, at most 3 times, an hour apart
 * [inferred]) or cancel it; the invitee accepts while signed in with the invited address.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { INVITATION_LINK_VALIDITY_MS, INVITATION_MAX_RESENDS, INVITATION_RESEND_MIN_INTERVAL_MS, describeDuration } from '../lib/rules';
import { messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  acceptInvitationUpdate,
  cancelInvitationUpdate,
  invitationStatusQuery,
  resendInvitationUpdate,
  type InvitationInput,
  type InvitationState,
  type InvitationStatus,
} from './shared/invitation';

const notify = proxyActivities<Pick<Activities, 'sendMemberInvitation' | 'closeMemberInvitation'>>(messageActivity([FailureType.NotFound]));

// Inside the sandbox `Date` is the workflow task's time, replayed identically.
const now = () => new Date().getTime();

export async function memberInvitation({ invitationId }: InvitationInput): Promise<InvitationStatus> {
  let state: InvitationState = 'pending';
  let resends = 0;
  let resendWanted = false;
  let sentAt = now();
  let expiresAt = sentAt + INVITATION_LINK_VALIDITY_MS;
  let acceptedBy: string | undefined;
  let actor = 'system:expiry';
  const status = (): InvitationStatus => ({ invitationId, state, resends, expiresAt });
  const mustBePending = () => {
    if (state !== 'pending') throw ApplicationFailure.nonRetryable(`the invitation is ${state}`, FailureType.CaseClosed);
  };

  setHandler(invitationStatusQuery, status);
  setHandler(acceptInvitationUpdate, ({ accountId }) => ((acceptedBy = accountId), (state = 'accepted'), status()), { validator: (_input) => mustBePending() });
  setHandler(cancelInvitationUpdate, ({ actor: who }) => ((actor = who), (state = 'cancelled'), status()), { validator: (_input) => mustBePending() });
  setHandler(
    resendInvitationUpdate,
    async () => {
      resendWanted = true;
      await condition(() => !resendWanted);
      return status();
    },
    {
      validator: (_input) => {
        mustBePending();
        if (resendWanted) throw ApplicationFailure.nonRetryable('a resend is in progress', FailureType.StepInProgress);
        if (resends >= INVITATION_MAX_RESENDS) throw ApplicationFailure.nonRetryable(`sent again ${resends} times already`, FailureType.ResendLimitReached);
        if (now() - sentAt < INVITATION_RESEND_MIN_INTERVAL_MS)
          throw ApplicationFailure.nonRetryable(`sent less than ${describeDuration(INVITATION_RESEND_MIN_INTERVAL_MS)} ago`, FailureType.ResendLimitReached);
      },
    },
  );

  await notify.sendMemberInvitation({ invitationId, expiresAt: new Date(expiresAt).toISOString() });
  for (;;) {
    const decided = await condition(() => state !== 'pending' || resendWanted, expiresAt - now());
    if (!decided) {
      state = 'expired';
      break;
    }
    if (state !== 'pending') break;
    resends += 1;
    sentAt = now();
    expiresAt = sentAt + INVITATION_LINK_VALIDITY_MS;
    await notify.sendMemberInvitation({ invitationId, expiresAt: new Date(expiresAt).toISOString() });
    resendWanted = false;
  }
  await notify.closeMemberInvitation({ invitationId, state, acceptedBy: acceptedBy ?? null, actor });
  return status();
}
