/**
 * Support agents (issue 14, item 4): the system role deactivates an agent who leaves or whose
 * credentials are in doubt. Every token of the agent stops working at once (its sessions end, and
 * a deactivated agent's session is refused even if one were missed); no new one is issued.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { deactivateAgent } from '../../db/repositories/sessions';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });

export function agentRoutes(deps: { db: Kysely<Database>; clock: { now(): Date } }): AnyRoute[] {
  const { db, clock } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/agents/:id/deactivation',
      tag: 'Agents',
      summary: "Deactivate an agent (system): every token of the agent stops working at once; again: nothing new",
      roles: ['system'],
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: 'Deactivated (now or before)', schema: z.object({ agentId: z.uuid(), deactivatedAt: z.string(), sessionsEnded: z.number().int() }) },
        404: { description: 'No such agent', schema: problem },
      },
      async handler({ params, principal }) {
        const done = await db.transaction().execute((trx) => deactivateAgent(trx, params.id, { now: clock.now(), actor: { actor_type: 'system', actor_id: principal.sub } }));
        if (!done) throw new Problem('not-found', 'No such agent');
        return { status: 200, body: { agentId: params.id, deactivatedAt: done.deactivatedAt.toISOString(), sessionsEnded: done.sessionsEnded } };
      },
    }),
  ];
}
