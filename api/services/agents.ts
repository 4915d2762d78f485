/**
 * Support agents (issue 14, item 4): the system role deactivates an agent who leaves or whose
 * credentials are in doubt. Every token of the agent stops working at once (its sessions end, and
 * a deactivated agent's session is refused even if one were missed); no new one is issued.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { deactivateAgent } from '../../db/repositories/sessions';
import { notFound } from '../problems';

export function agentService({ db, clock }: { db: Kysely<Database>; clock: { now(): Date } }) {
  return {
    /** Deactivates now, or answers when it was; `system:<sub>` is audited as the actor. */
    async deactivate(agentId: string, systemActor: string): Promise<{ deactivatedAt: Date; sessionsEnded: number }> {
      const done = await db
        .transaction()
        .execute((trx) => deactivateAgent(trx, agentId, { now: clock.now(), actor: { actor_type: 'system', actor_id: systemActor } }));
      if (!done) throw notFound('agent');
      return done;
    },
  };
}
