/**
 * P11 A partner invites a client [seeds 001, 003]: the client receives the requested rights by
 * email and may grant different, never wider, ones; the partner is told what was granted. The link
 * is single use and valid 30 days [inferred, as for member invitations]; it can be sent again (3
 * times, an hour apart) or cancelled.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { INVITATION_LINK_VALIDITY_MS, INVITATION_MAX_RESENDS, INVITATION_RESEND_MIN_INTERVAL_MS, describeDuration } from '../lib/rules';
import { messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  acceptClientInvitationUpdate,
  cancelClientInvitationUpdate,
  clientInvitationStatusQuery,
  resendClientInvitationUpdate,
  type ClientInvitationInput,
  type ClientInvitationState,
  type ClientInvitationStatus,
} from './shared/partners';

const notify = proxyActivities<Pick<Activities, 'sendClientInvitation' | 'closeClientInvitation'>>(messageActivity([FailureType.NotFound]));

// Inside the sandbox `Date` is the workflow task's time, replayed identically.
const now = () => new Date().getTime();

export async function partnerInvitation({ invitationId }: ClientInvitationInput): Promise<ClientInvitationStatus> {
  let state: ClientInvitationState = 'pending';
  let resends = 0;
  let resendWanted = false;
  let sentAt = now();
  let expiresAt = sentAt + INVITATION_LINK_VALIDITY_MS;
  let accepted: { clientOrganizationId: string; accountId: string } | undefined;
  let actor = 'system:expiry';
  const status = (): ClientInvitationStatus => ({ invitationId, state, resends, expiresAt });
  const mustBePending = () => {
    if (state !== 'pending') throw ApplicationFailure.nonRetryable(`the invitation is ${state}`, FailureType.CaseClosed);
  };

  setHandler(clientInvitationStatusQuery, status);
  setHandler(acceptClientInvitationUpdate, (input) => ((accepted = input), (state = 'accepted'), status()), { validator: (_input) => mustBePending() });
  setHandler(cancelClientInvitationUpdate, ({ actor: who }) => ((actor = who), (state = 'cancelled'), status()), { validator: (_input) => mustBePending() });
  setHandler(
    resendClientInvitationUpdate,
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

  await notify.sendClientInvitation({ invitationId, expiresAt: new Date(expiresAt).toISOString() });
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
    await notify.sendClientInvitation({ invitationId, expiresAt: new Date(expiresAt).toISOString() });
    resendWanted = false;
  }
  await notify.closeClientInvitation({
    invitationId,
    state,
    clientOrganizationId: accepted?.clientOrganizationId ?? null,
    actor: accepted ? `customer:${accepted.accountId}` : actor,
  });
  return status();
}
