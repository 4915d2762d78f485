import type { ColumnType } from 'kysely';

export const MEMBERSHIP_ROLES = ['legal_representative', 'administrator', 'collaborator'] as const;
export type MembershipRole = (typeof MEMBERSHIP_ROLES)[number];

export interface MembershipsTable {
  organization_id: string;
  account_id: string;
  role: MembershipRole;
  created_at: ColumnType<Date, Date | undefined, never>;
}
