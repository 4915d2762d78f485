/** Side effects of the support-access process (P13): ending a grant and telling the customer. */
import { ApplicationFailure } from '@temporalio/common';
import { enqueue } from '../db/repositories/outbox';
import { endGrant } from '../db/repositories/supportAccessGrants';
import type { SupportAccessKind } from '../db/tables/supportAccessGrants.table';
import { SUPPORT_ACCESS_EXPIRY_MS, describeDuration } from '../lib/rules';
import { FailureType } from '../workflows/shared/failures';
import type { ActivityDeps } from './deps';
import type { createNotificationActivities } from './notifications';

const KIND_LABEL: Record<SupportAccessKind, string> = {
  mail: 'mail addresses',
  kdrive: 'kDrive folders',
  kchat: 'kChat discussions',
};

export function createSupportAccessActivities({ db }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  async function endSupportAccessGrant(input: {
    grantId: string;
    status: 'revoked' | 'expired';
    endedBy: string;
  }): Promise<{ status: 'active' | 'revoked' | 'expired' }> {
    const result = await endGrant(db, { id: input.grantId, status: input.status, endedBy: input.endedBy });
    if (!result) throw ApplicationFailure.nonRetryable(`grant ${input.grantId} not found`, FailureType.NotFound);
    return result;
  }

  /** Emails the granting customer that access ended, once per grant (outbox key). */
  async function notifySupportAccessEnded({ grantId }: { grantId: string }): Promise<void> {
    const row = await db
      .selectFrom('support_access_grants as g')
      .innerJoin('accounts as a', 'a.id', 'g.granted_by')
      .innerJoin('organizations as o', 'o.id', 'g.organization_id')
      .select(['g.status', 'g.kind', 'g.ticket_id', 'g.ended_at', 'a.login_email', 'a.display_name', 'o.name as organization_name'])
      .where('g.id', '=', grantId)
      .executeTakeFirst();
    if (!row) throw ApplicationFailure.nonRetryable(`grant ${grantId} not found`, FailureType.NotFound);
    if (row.status === 'active') throw ApplicationFailure.nonRetryable(`grant ${grantId} is still active`, FailureType.GrantNotActive);

    const how = row.status === 'revoked' ? 'was revoked' : `expired after ${describeDuration(SUPPORT_ACCESS_EXPIRY_MS)}`;
    const key = `support-access:${grantId}:ended`;
    await enqueue(db, {
      key,
      channel: 'email',
      recipient: row.login_email,
      subject: `Support access to your ${KIND_LABEL[row.kind]} has ended`,
      body: [
        `Hello ${row.display_name},`,
        '',
        `The access you gave our support team to ${KIND_LABEL[row.kind]} of ${row.organization_name} ${how}.`,
        `Ticket: ${row.ticket_id}`,
        `Ended at: ${row.ended_at?.toISOString() ?? 'now'}`,
        '',
        'Support can no longer open this content. If they need it again, they will ask you.',
      ].join('\n'),
    });
    await deliverNotification({ key });
  }

  return { endSupportAccessGrant, notifySupportAccessEnded };
}
