import type { ColumnType } from 'kysely';
import type { DocumentKind, VerificationReason, VerificationCaseStatus } from '../../workflows/shared/verification';

/** One identity check. Evidence is sealed with the case's own key (data_key_wrapped). */
export interface VerificationCasesTable {
  id: string;
  account_id: string;
  reason: VerificationReason;
  subject_type: string | null;
  subject_id: string | null;
  status: ColumnType<VerificationCaseStatus, VerificationCaseStatus | undefined, VerificationCaseStatus>;
  opened_by: string;
  opened_at: ColumnType<Date, Date | undefined, never>;
  /** Null once the evidence is erased. */
  data_key_wrapped: Buffer | null;
  /** SHA-256 of the customer's current link token; null when no link is usable. */
  link_token_hash: Buffer | null;
  link_seq: ColumnType<number, number | undefined, number>;
  /** HMAC of the current SMS code; null when none is outstanding. */
  phone_code_hash: Buffer | null;
  phone_code_seq: ColumnType<number, number | undefined, number>;
  /** Phone number and geolocation, sealed, as written before verification_evidence (issue 14, item 6). */
  evidence_sealed: Buffer | null;
  round: ColumnType<number, number | undefined, number>;
  submitted_at: Date | null;
  due_at: Date | null;
  overdue_at: Date | null;
  assigned_agent_id: string | null;
  claimed_at: Date | null;
  resubmission_reason: string | null;
  manual: ColumnType<boolean, boolean | undefined, boolean>;
  decided_at: Date | null;
  decided_by: string | null;
  decision_reason: string | null;
  /** Where the customer's messages go: the login address, or (P3) the recovery email and mobile. */
  contact: ColumnType<'login_email' | 'recovery_channels', 'login_email' | 'recovery_channels' | undefined, never>;
}

export interface VerificationDocumentsTable {
  id: string;
  case_id: string;
  round: number;
  kind: DocumentKind;
  media_type: 'image/jpeg' | 'image/png';
  size_bytes: number;
  sealed: Buffer;
  attached: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type EvidenceKind = 'phone' | 'position';

/** A phone number or a position the customer gave, sealed under the case key; the workflow holds only its id. */
export interface VerificationEvidenceTable {
  id: string;
  case_id: string;
  round: number;
  kind: EvidenceKind;
  sealed: Buffer;
  attached: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
