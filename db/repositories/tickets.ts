import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { SupportTicketsTable } from '../tables/supportTickets.table';

export type SupportTicket = Selectable<SupportTicketsTable>;

export async function findTicket(db: Db, id: string): Promise<SupportTicket | undefined> {
  return db.selectFrom('support_tickets').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function ticketIdsAssignedTo(db: Db, agentId: string): Promise<string[]> {
  const rows = await db.selectFrom('support_tickets').select('id').where('assigned_agent_id', '=', agentId).execute();
  return rows.map((r) => r.id);
}
