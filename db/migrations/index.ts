import type { Migration } from 'kysely';
import * as foundation from './20261123120000_foundation';
import * as verification from './20261123130000_verification';
import * as orders from './20261123140000_orders';
import * as cancellation from './20261123150000_cancellation';
import * as legalRepresentative from './20261123160000_legal_representative_invariant';
import * as renewal from './20261124100000_renewal';
import * as handover from './20261124110000_handover';
import * as invitations from './20261124110100_invitations';
import * as leaving from './20261124110200_leaving';
import * as partners from './20261124110300_partners';
import * as rfps from './20261124110400_rfps';
import * as accountSecurity from './20261124120000_account_security';
import * as accountRecovery from './20261124130000_account_recovery';
import * as paymentProcesses from './20261202110000_payment_processes';
import * as secondFactorOnce from './20261202130000_second_factor_once';
import * as agentSessions from './20261202140000_agent_sessions';
import * as sessionReauthentication from './20261202150000_session_reauthentication';
import * as workflowCommands from './20261205100000_workflow_commands';
import * as verificationEvidence from './20261205110000_verification_evidence';
import * as outboxRecipientsRedacted from './20261205120000_outbox_recipients_redacted';
import * as outboxQr from './20261205130000_outbox_qr';
import * as loginAlertsLockThreshold from './20261205140000_login_alerts_lock_threshold';
import * as renewalRuns from './20261205150000_renewal_runs';
import * as rateLimits from './20261205160000_rate_limits';
import * as orderLineTerms from './20261205170000_order_line_terms';
import * as recoveryDetails from './20261205180000_recovery_details';
import * as handoverFormerStays from './20261205190000_handover_former_stays';
import * as accountCountry from './20261205200000_account_country';
import * as prepaidMoney from './20261210100000_prepaid_money';
import * as orderPartnerBilling from './20261210110000_order_partner_billing';
import * as orderIdempotency from './20261212100000_order_idempotency';

/** Listed statically (not read from disk) so the same code runs under tsx, compiled or bundled. */
export const migrations: Record<string, Migration> = {
  '20261123120000_foundation': foundation,
  '20261123130000_verification': verification,
  '20261123140000_orders': orders,
  '20261123150000_cancellation': cancellation,
  '20261123160000_legal_representative_invariant': legalRepresentative,
  '20261124100000_renewal': renewal,
  '20261124110000_handover': handover,
  '20261124110100_invitations': invitations,
  '20261124110200_leaving': leaving,
  '20261124110300_partners': partners,
  '20261124110400_rfps': rfps,
  '20261124120000_account_security': accountSecurity,
  '20261124130000_account_recovery': accountRecovery,
  '20261202110000_payment_processes': paymentProcesses,
  '20261202130000_second_factor_once': secondFactorOnce,
  '20261202140000_agent_sessions': agentSessions,
  '20261202150000_session_reauthentication': sessionReauthentication,
  '20261205100000_workflow_commands': workflowCommands,
  '20261205110000_verification_evidence': verificationEvidence,
  '20261205120000_outbox_recipients_redacted': outboxRecipientsRedacted,
  '20261205130000_outbox_qr': outboxQr,
  '20261205140000_login_alerts_lock_threshold': loginAlertsLockThreshold,
  '20261205150000_renewal_runs': renewalRuns,
  '20261205160000_rate_limits': rateLimits,
  '20261205170000_order_line_terms': orderLineTerms,
  '20261205180000_recovery_details': recoveryDetails,
  '20261205190000_handover_former_stays': handoverFormerStays,
  '20261205200000_account_country': accountCountry,
  '20261210100000_prepaid_money': prepaidMoney,
  '20261210110000_order_partner_billing': orderPartnerBilling,
  '20261212100000_order_idempotency': orderIdempotency,
};
