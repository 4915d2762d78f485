/** Support agents as the desk and the supervisors' reassignment see them (issue 18, item 2). */
import type { Db } from '../database';

export interface ActiveAgent {
  id: string;
  displayName: string;
  supervisor: boolean;
}

/** The agent while not deactivated; undefined otherwise. */
export async function activeAgent(db: Db, id: string): Promise<ActiveAgent | undefined> {
  const a = await db
    .selectFrom('agents')
    .select(['id', 'display_name', 'is_supervisor'])
    .where('id', '=', id)
    .where('deactivated_at', 'is', null)
    .executeTakeFirst();
  return a && { id: a.id, displayName: a.display_name, supervisor: a.is_supervisor };
}

/** Every agent not deactivated, with how many submitted cases each holds, by name. */
export async function activeAgentsWithLoad(db: Db): Promise<(ActiveAgent & { claimedCases: number })[]> {
  const rows = await db
    .selectFrom('agents')
    .leftJoin('verification_cases', (j) => j.onRef('verification_cases.assigned_agent_id', '=', 'agents.id').on('verification_cases.status', '=', 'submitted'))
    .select(({ fn }) => ['agents.id', 'agents.display_name', 'agents.is_supervisor', fn.count<string>('verification_cases.id').as('claimed')])
    .where('agents.deactivated_at', 'is', null)
    .groupBy(['agents.id', 'agents.display_name', 'agents.is_supervisor'])
    .orderBy('agents.display_name')
    .execute();
  return rows.map((r) => ({ id: r.id, displayName: r.display_name, supervisor: r.is_supervisor, claimedCases: Number(r.claimed) }));
}
