import type { ColumnType } from 'kysely';

/** P11: the rights a partner asks for, or a client grants. */
export interface PartnerRights {
  access: 'full' | 'restricted';
  /** For restricted access: the products the partner may manage. */
  productIds?: string[];
  billing: 'client' | 'partner';
}

export interface PartnerApplicationsTable {
  id: string;
  organization_id: string;
  submitted_by: string;
  registry_number: string;
  website: string;
  yearly_volume_cents: number;
  currency: 'CHF' | 'EUR';
  decision: 'accepted' | 'refused';
  reasons: string[];
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface ClientInvitationsTable {
  id: string;
  partner_organization_id: string;
  invited_by: string;
  /** PII: stays here, never in the workflow. */
  client_email: string;
  requested: ColumnType<PartnerRights, string, string>;
  granted: ColumnType<PartnerRights | null, string | null, string | null>;
  client_organization_id: string | null;
  token_hash: Buffer | null;
  status: ColumnType<'pending' | 'accepted' | 'cancelled' | 'expired', 'pending' | undefined, 'pending' | 'accepted' | 'cancelled' | 'expired'>;
  sends: ColumnType<number, number | undefined, number>;
  sent_at: Date | null;
  expires_at: Date;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface PartnershipsTable {
  id: string;
  partner_organization_id: string;
  client_organization_id: string;
  invitation_id: string | null;
  access: 'full' | 'restricted';
  product_ids: ColumnType<string[], string[] | undefined, string[]>;
  billing: 'client' | 'partner';
  started_at: Date;
  ended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  ended_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** P11: a customer's request for proposal. The details and the contact open only while it is open. */
export interface RequestsForProposalTable {
  id: string;
  organization_id: string;
  created_by: string;
  title: string;
  /** The excerpt emailed to partners. */
  summary: string;
  details: string;
  cancel_token_hash: Buffer | null;
  status: ColumnType<'open' | 'cancelled' | 'closed', 'open' | undefined, 'open' | 'cancelled' | 'closed'>;
  created_at: Date;
  closes_at: Date;
}
