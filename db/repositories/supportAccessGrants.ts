import { sql } from 'kysely';
import type { Db } from '../database';
import type { SupportAccessGrantsTable, SupportAccessKind, SupportAccessStatus } from '../tables/supportAccessGrants.table';
import type { Selectable } from 'kysely';

export type SupportAccessGrant = Selectable<SupportAccessGrantsTable>;

export async function insertGrant(
  db: Db,
  grant: {
    id: string;
    organizationId: string;
    ticketId: string;
    grantedBy: string;
    kind: SupportAccessKind;
    resourceIds: string[];
    grantedAt: Date;
    expiresAt: Date;
  },
): Promise<SupportAccessGrant> {
  return db
    .insertInto('support_access_grants')
    .values({
      id: grant.id,
      organization_id: grant.organizationId,
      ticket_id: grant.ticketId,
      granted_by: grant.grantedBy,
      kind: grant.kind,
      resource_ids: grant.resourceIds,
      granted_at: grant.grantedAt,
      expires_at: grant.expiresAt,
      ended_at: null,
      ended_by: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
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
