import type { ColumnType } from 'kysely';

export type InvitationStatus = 'pending' | 'accepted' | 'cancelled' | 'expired';
export interface ContactPreferences {
  billing?: boolean;
  technical?: boolean;
  newsletters?: boolean;
}

/** P9: an invitation to join an organization. The address stays here, never in the workflow. */
export interface OrganizationInvitationsTable {
  id: string;
  organization_id: string;
  invited_by: string;
  email: string;
  role: 'administrator' | 'collaborator';
  /** The products the member may access; empty: all of the organization's. */
  product_ids: ColumnType<string[], string[] | undefined, string[]>;
  contact_preferences: ColumnType<ContactPreferences, string | undefined, string>;
  token_hash: Buffer | null;
  status: ColumnType<InvitationStatus, InvitationStatus | undefined, InvitationStatus>;
  sends: ColumnType<number, number | undefined, number>;
  sent_at: Date | null;
  expires_at: Date;
  accepted_by: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}
