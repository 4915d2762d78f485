/**
 * P13 Support access to customer content [seeds 001, 003].
 * A customer lets the agents handling a ticket into one kind of content (mail, kDrive, kChat) for
 * at most 7 days; the customer can revoke it at any time. Each grant is its own workflow, so
 * granting one kind never opens another. The database row is authoritative for access checks
 * (they also compare expires_at with the clock), the workflow drives the state change and the email.
 */
import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import { revokeUpdate, statusQuery, type SupportAccessInput, type SupportAccessResult, type SupportAccessState } from './shared/supportAccess';

const db = proxyActivities<Pick<Activities, 'endSupportAccessGrant'>>(databaseActivity([FailureType.NotFound]));
const notify = proxyActivities<Pick<Activities, 'notifySupportAccessEnded'>>(messageActivity([FailureType.PermanentDeliveryFailure, FailureType.NotFound]));

export async function supportAccess(input: SupportAccessInput): Promise<SupportAccessResult> {
  if (!input?.grantId) throw ApplicationFailure.nonRetryable('grantId is required', FailureType.NotFound);
  const { grantId } = input;
  let state: SupportAccessState = 'active';

  setHandler(statusQuery, () => ({ grantId, state }));
  setHandler(
    revokeUpdate,
    async ({ actor }) => {
      // The database decides a revoke racing the expiry: the first conditional update wins.
      const ended = await db.endSupportAccessGrant({ grantId, status: 'revoked', endedBy: actor });
      state = ended.status;
      if (ended.status !== 'revoked') {
        throw ApplicationFailure.nonRetryable(`grant is already ${ended.status}`, FailureType.GrantNotActive);
      }
      return { grantId, state };
    },
    {
      validator: (_input) => {
        if (state !== 'active') {
          throw ApplicationFailure.nonRetryable(`grant is already ${state}`, FailureType.GrantNotActive);
        }
      },
    },
  );

  const revoked = await condition(() => state !== 'active', SUPPORT_ACCESS_EXPIRY_MS);
  if (!revoked) {
    const ended = await db.endSupportAccessGrant({ grantId, status: 'expired', endedBy: 'system:expiry' });
    state = ended.status;
  }
  await condition(allHandlersFinished);
  try {
    await notify.notifySupportAccessEnded({ grantId });
  } catch (err) {
    // An undeliverable email does not undo the end of access; the outbox row records why.
    const permanent = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.PermanentDeliveryFailure;
    if (!permanent) throw err;
    log.warn('grant-ended email undeliverable', { grantId });
  }
  return { grantId, state: state as SupportAccessResult['state'] };
}
