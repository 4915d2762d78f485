import type { ColumnType } from 'kysely';

export const MEMBERSHIP_ROLES = ['legal_representative', 'administrator', 'collaborator'] as const;
export type MembershipRole = (typeof MEMBERSHIP_ROLES)[number];

export interface MembershipsTable {
  organization_id: string;
  account_id: string;
  role: MembershipRole;
  /** P9: the products this member may access; null: all of the organization's. */
  product_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  contact_preferences: ColumnType<Record<string, boolean>, string | undefined, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
