import type { Kysely, Transaction } from 'kysely';
import type { AccessTokensTable, AccountsTable, BackupCodesTable, RecoveryRequestsTable, SessionsTable } from './tables/accounts.table';
import type { AgentSessionsTable, AgentsTable } from './tables/agents.table';
import type { AuditLogTable } from './tables/auditLog.table';
import type { MembershipsTable, OrganizationMailDomainsTable } from './tables/memberships.table';
import type { NotificationOutboxTable } from './tables/notificationOutbox.table';
import type { OrganizationsTable } from './tables/organizations.table';
import type { SupportAccessGrantsTable } from './tables/supportAccessGrants.table';
import type { SupportTicketsTable } from './tables/supportTickets.table';
import type { CancellationRequestsTable, InvoicesTable, ProductBackupsTable, ProductFeesTable } from './tables/cancellation.table';
import type {
  LocalProviderCallsTable,
  LocalProviderOperationsTable,
  OrderLinesTable,
  OrdersTable,
  PaymentsTable,
  PrepaidLedgerEntriesTable,
  ProductsTable,
  RefundsTable,
} from './tables/orders.table';
import type { LegalRepHandoversTable } from './tables/handover.table';
import type { OrganizationInvitationsTable } from './tables/invitations.table';
import type { ClientInvitationsTable, PartnerApplicationsTable, PartnershipsTable, RequestsForProposalTable } from './tables/partners.table';
import type { BillingPreferencesTable, InvoiceLinesTable, ProductRenewalsTable, RenewalRunsTable } from './tables/renewal.table';
import type { VerificationCasesTable, VerificationDocumentsTable, VerificationEvidenceTable } from './tables/verification.table';
import type { PrepaidDepositsTable, PrepaidPayoutsTable } from './tables/prepaid.table';
import type { RateLimitsTable } from './tables/rateLimits.table';
import type { WorkflowCommandsTable } from './tables/workflowCommands.table';

export interface Database {
  accounts: AccountsTable;
  sessions: SessionsTable;
  backup_codes: BackupCodesTable;
  access_tokens: AccessTokensTable;
  recovery_requests: RecoveryRequestsTable;
  agents: AgentsTable;
  agent_sessions: AgentSessionsTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  support_tickets: SupportTicketsTable;
  support_access_grants: SupportAccessGrantsTable;
  notification_outbox: NotificationOutboxTable;
  audit_log: AuditLogTable;
  verification_cases: VerificationCasesTable;
  verification_documents: VerificationDocumentsTable;
  verification_evidence: VerificationEvidenceTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  products: ProductsTable;
  payments: PaymentsTable;
  refunds: RefundsTable;
  prepaid_ledger_entries: PrepaidLedgerEntriesTable;
  prepaid_deposits: PrepaidDepositsTable;
  prepaid_payouts: PrepaidPayoutsTable;
  local_provider_operations: LocalProviderOperationsTable;
  local_provider_calls: LocalProviderCallsTable;
  cancellation_requests: CancellationRequestsTable;
  product_fees: ProductFeesTable;
  invoices: InvoicesTable;
  product_backups: ProductBackupsTable;
  billing_preferences: BillingPreferencesTable;
  invoice_lines: InvoiceLinesTable;
  product_renewals: ProductRenewalsTable;
  renewal_runs: RenewalRunsTable;
  rate_limits: RateLimitsTable;
  legal_rep_handovers: LegalRepHandoversTable;
  organization_invitations: OrganizationInvitationsTable;
  organization_mail_domains: OrganizationMailDomainsTable;
  partner_applications: PartnerApplicationsTable;
  client_invitations: ClientInvitationsTable;
  partnerships: PartnershipsTable;
  requests_for_proposal: RequestsForProposalTable;
  workflow_commands: WorkflowCommandsTable;
}

/** Repositories take either, so callers decide the transaction boundary. */
export type Db = Kysely<Database> | Transaction<Database>;
