/** Support agents over HTTP (issue 14, item 4); the rules are api/services/agents.ts's. */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { problemSchema } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { agentService } from '../services/agents';

export function agentRoutes(deps: { db: Kysely<Database>; clock: { now(): Date } }): AnyRoute[] {
  const agents = agentService(deps);
  return [
    defineRoute({
      method: 'post',
      path: '/v1/agents/:id/deactivation',
      tag: 'Agents',
      summary: 'Deactivate an agent (system): every token of the agent stops working at once; again: nothing new',
      roles: ['system'],
      params: z.object({ id: z.uuid() }),
      responses: {
        200: {
          description: 'Deactivated (now or before)',
          schema: z.object({ agentId: z.uuid(), deactivatedAt: z.string(), sessionsEnded: z.number().int() }),
        },
        404: { description: 'No such agent', schema: problemSchema },
      },
      async handler({ params, principal }) {
        const done = await agents.deactivate(params.id, principal.sub);
        return { status: 200, body: { agentId: params.id, deactivatedAt: done.deactivatedAt.toISOString(), sessionsEnded: done.sessionsEnded } };
      },
    }),
  ];
}
