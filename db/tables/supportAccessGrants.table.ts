import type { ColumnType } from 'kysely';

export const SUPPORT_ACCESS_KINDS = ['mail', 'kdrive', 'kchat'] as const;
export type SupportAccessKind = (typeof SUPPORT_ACCESS_KINDS)[number];
export const SUPPORT_ACCESS_STATUSES = ['active', 'revoked', 'expired'] as const;
export type SupportAccessStatus = (typeof SUPPORT_ACCESS_STATUSES)[number];

export interface SupportAccessGrantsTable {
  id: string;
  organization_id: string;
  ticket_id: string;
  granted_by: string;
  kind: SupportAccessKind;
  resource_ids: string[];
  status: ColumnType<SupportAccessStatus, SupportAccessStatus | undefined, SupportAccessStatus>;
  granted_at: Date;
  /** Authoritative: an access check after this instant is refused even if the workflow is late. */
  expires_at: Date;
  ended_at: Date | null;
  ended_by: string | null;
}
