import type { ActivityDeps } from './deps';
import { createAccountActivities } from './accounts';
import { createCancellationActivities } from './cancellation';
import { createHandoverActivities } from './handover';
import { createInvitationActivities } from './invitations';
import { createNotificationActivities } from './notifications';
import { createPartnerActivities } from './partners';
import { createPaymentActivities } from './payments';
import { createPrepaidActivities } from './prepaid';
import { createRecoveryActivities } from './recovery';
import { createOrderActivities } from './orders';
import { createRenewalActivities } from './renewal';
import { createRenewalSweepActivities } from './renewalSweep';
import { createSupportAccessActivities } from './supportAccess';
import { createVerificationActivities } from './verification';

export type { ActivityDeps } from './deps';

/** Every activity of the worker, bound to its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const notifications = createNotificationActivities(deps);
  return {
    ...notifications,
    ...createSupportAccessActivities(deps, notifications),
    ...createVerificationActivities(deps, notifications),
    ...createOrderActivities(deps, notifications),
    ...createCancellationActivities(deps, notifications),
    ...createRenewalActivities(deps, notifications),
    ...createPaymentActivities(deps),
    ...createRenewalSweepActivities(deps),
    ...createHandoverActivities(deps, notifications),
    ...createInvitationActivities(deps, notifications),
    ...createPartnerActivities(deps, notifications),
    ...createAccountActivities(deps, notifications),
    ...createRecoveryActivities(deps, notifications),
    ...createPrepaidActivities(deps, notifications),
  };
}

export type Activities = ReturnType<typeof createActivities>;
