import type { ColumnType } from 'kysely';

import type { HandoverStatus } from '../../workflows/shared/handover';

export type { HandoverStatus };

/** P10: one row per legal-representative handover. */
export interface LegalRepHandoversTable {
  id: string;
  organization_id: string;
  requested_by: string;
  from_account_id: string;
  to_account_id: string | null;
  /** The invited address (PII: it stays here, never in the workflow). */
  to_email: string | null;
  /** SHA-256 of the emailed invitation token; null once used, lapsed, or for an existing member. */
  token_hash: Buffer | null;
  status: HandoverStatus;
  requested_at: Date;
  expires_at: Date | null;
  completed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The former representative's choice to stay, with this role; null: they leave (issue 17, item 8). */
  former_stays_as: ColumnType<'administrator' | 'collaborator' | null, 'administrator' | 'collaborator' | null | undefined, never>;
}
