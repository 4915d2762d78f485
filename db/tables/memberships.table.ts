import type { ColumnType } from 'kysely';

export const MEMBERSHIP_ROLES = ['legal_representative', 'administrator', 'collaborator'] as const;
export type MembershipRole = (typeof MEMBERSHIP_ROLES)[number];

export interface MembershipsTable {
  organization_id: string;
  account_id: string;
  role: MembershipRole;
  /** P9: the products this member may access; null: all of the organization's. */
  product_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  /** P9: the member holds a seat in the organization's kSuite, and leaves only with it. */
  in_ksuite: ColumnType<boolean, boolean | undefined, boolean>;
  contact_preferences: ColumnType<Record<string, boolean>, string | undefined, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** P9: a domain of one of the organization's mail services. */
export interface OrganizationMailDomainsTable {
  organization_id: string;
  domain: string;
}
