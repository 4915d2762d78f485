import { sql } from 'kysely';
import type { Db } from '../database';
import type { MembershipRole } from '../tables/memberships.table';
import type { AuditEntry } from './audit';
import type { SupportAccessGrantsTable, SupportAccessKind, SupportAccessStatus } from '../tables/supportAccessGrants.table';
import type { Selectable } from 'kysely';

export type SupportAccessGrant = Selectable<SupportAccessGrantsTable>;

export interface NewGrant {
  id: string;
  organizationId: string;
  ticketId: string;
  grantedBy: string;
  kind: SupportAccessKind;
  resourceIds: string[];
  grantedAt: Date;
  expiresAt: Date;
}

/**
 * Inserts the grant and its audit entry when the granting customer is a member of the organization
 * and the ticket is an open ticket of it, in one statement (issue 20, item 3: one round trip where
 * the checks, the row and the audit took four). What it found is returned either way, so the caller
 * can say why nothing was inserted.
 */
export async function insertGrantIfAllowed(
  db: Db,
  grant: NewGrant,
  entry: Pick<AuditEntry, 'action' | 'details'>,
): Promise<{ role: MembershipRole | null; ticket: { organizationId: string; status: string } | null; grant: SupportAccessGrant | null }> {
  const { rows } = await sql<{
    role: MembershipRole | null;
    ticket_organization_id: string | null;
    ticket_status: string | null;
    inserted: SupportAccessGrant | null;
  }>`
    with pre as (
      select (select role from memberships where organization_id = ${grant.organizationId} and account_id = ${grant.grantedBy}) as role,
             t.organization_id as ticket_organization_id, t.status as ticket_status
      from (select 1) as one left join support_tickets t on t.id = ${grant.ticketId}
    ), inserted as (
      insert into support_access_grants (id, organization_id, ticket_id, granted_by, kind, resource_ids, granted_at, expires_at)
      select ${grant.id}::uuid, ${grant.organizationId}::uuid, ${grant.ticketId}::uuid, ${grant.grantedBy}::uuid, ${grant.kind}::text, ${grant.resourceIds}::text[],
             ${grant.grantedAt}::timestamptz, ${grant.expiresAt}::timestamptz
      from pre where pre.role is not null and pre.ticket_organization_id = ${grant.organizationId} and pre.ticket_status = 'open'
      returning *
    ), audited as (
      insert into audit_log (actor_type, actor_id, action, subject_type, subject_id, decision, details)
      select 'customer', inserted.granted_by::text, ${entry.action}::text, 'support_access_grant', inserted.id::text, null, ${JSON.stringify(entry.details ?? {})}::jsonb
      from inserted
      returning id
    )
    select pre.role, pre.ticket_organization_id, pre.ticket_status, (select to_jsonb(inserted) from inserted) as inserted from pre
  `.execute(db);
  const row = rows[0]!;
  const inserted = row.inserted && {
    ...row.inserted,
    granted_at: new Date(row.inserted.granted_at),
    expires_at: new Date(row.inserted.expires_at),
    ended_at: row.inserted.ended_at && new Date(row.inserted.ended_at),
  };
  return {
    role: row.role,
    ticket: row.ticket_organization_id && row.ticket_status ? { organizationId: row.ticket_organization_id, status: row.ticket_status } : null,
    grant: inserted,
  };
}

export async function findGrant(db: Db, id: string): Promise<SupportAccessGrant | undefined> {
  return db.selectFrom('support_access_grants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listGrants(
  db: Db,
  filter: { organizationIds?: string[]; ticketIds?: string[]; organizationId?: string; ticketId?: string; limit: number },
): Promise<SupportAccessGrant[]> {
  let q = db.selectFrom('support_access_grants').selectAll();
  if (filter.organizationIds)
    q = q.where('organization_id', 'in', filter.organizationIds.length ? filter.organizationIds : ['00000000-0000-0000-0000-000000000000']);
  if (filter.ticketIds) q = q.where('ticket_id', 'in', filter.ticketIds.length ? filter.ticketIds : ['00000000-0000-0000-0000-000000000000']);
  if (filter.organizationId) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.ticketId) q = q.where('ticket_id', '=', filter.ticketId);
  return q.orderBy('granted_at', 'desc').orderBy('id').limit(filter.limit).execute();
}

/**
 * Ends an active grant. Conditional on status = 'active', so of a revoke and an expiry racing each
 * other exactly one wins; the loser learns the state that won.
 */
export async function endGrant(
  db: Db,
  input: { id: string; status: Exclude<SupportAccessStatus, 'active'>; endedBy: string },
): Promise<{ status: SupportAccessStatus } | undefined> {
  const updated = await db
    .updateTable('support_access_grants')
    .set({ status: input.status, ended_at: sql<Date>`now()`, ended_by: input.endedBy })
    .where('id', '=', input.id)
    .where('status', '=', 'active')
    .returning('status')
    .executeTakeFirst();
  if (updated) return updated;
  return db.selectFrom('support_access_grants').select('status').where('id', '=', input.id).executeTakeFirst();
}

export async function deleteGrant(db: Db, id: string): Promise<void> {
  await db.deleteFrom('support_access_grants').where('id', '=', id).execute();
}
