/**
 * P11 requests for proposal. A customer publishes a need; partners who opted in receive an excerpt
 * and open the full request, with the author's contact, only while it is open; the emailed link
 * cancels it at once (the link is the author's proof, as for other emailed confirmations).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import {
  cancelRfpByToken,
  insertRfp,
  openRfpByCancelToken,
  organizationProgram,
  rfpHeader,
  rfpWithContact,
  setRfpOptIn,
  takesRfpsAsPartner,
} from '../../db/repositories/rfps';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import { RFP_OPEN_MS } from '../../lib/rules';
import { sendCommitted } from '../../temporal/workflowCommands';
import { rfpCancelledSignal, rfpWorkflowId, type RfpInput } from '../../workflows/shared/rfp';
import { notFound, Problem } from '../problems';
import { startProcess } from './processes';

export interface RfpView {
  id: string;
  title: string;
  summary: string;
  details: string;
  contact: { name: string; email: string };
  status: 'open' | 'cancelled' | 'closed';
  closesAt: string;
}

export function rfpService({ db, client, taskQueue, clock }: { db: Kysely<Database>; client?: Client; taskQueue?: string; clock?: { now(): Date } }) {
  const now = () => clock?.now() ?? new Date();
  async function present(id: string): Promise<RfpView> {
    const r = await rfpWithContact(db, id);
    return {
      id: r.id,
      title: r.title,
      summary: r.summary,
      details: r.details,
      contact: { name: r.display_name, email: r.login_email },
      status: r.status,
      closesAt: r.closes_at.toISOString(),
    };
  }
  /** Administrators and legal representatives of the organization act for it; collaborators do not. */
  async function mustAdminister(organizationId: string, accountId: string, refusal: string) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw notFound('organization');
    if (m.role === 'collaborator') throw new Problem('forbidden', refusal);
  }

  return {
    async publish(authorId: string, r: { organizationId: string; title: string; summary: string; details: string }): Promise<RfpView> {
      await mustAdminister(r.organizationId, authorId, 'Administrators and legal representatives publish requests');
      const id = randomUUID();
      const at = now();
      await insertRfp(db, {
        id,
        organizationId: r.organizationId,
        createdBy: authorId,
        title: r.title,
        summary: r.summary,
        details: r.details,
        now: at,
        closesAt: new Date(at.getTime() + RFP_OPEN_MS),
      });
      await startProcess({ client: client!, taskQueue: taskQueue! }, 'requestForProposal', rfpWorkflowId(id), { rfpId: id } satisfies RfpInput, {
        policy: 'one-at-a-time',
      });
      await audit(db, {
        actor_type: 'customer',
        actor_id: authorId,
        action: 'partner.rfp_published',
        subject_type: 'organization',
        subject_id: r.organizationId,
        decision: null,
        details: { rfpId: id },
      });
      return present(id);
    },

    /** To its organization always; to partners who take requests, only while it is open. */
    async read(id: string, readerId: string): Promise<RfpView> {
      const r = await rfpHeader(db, id);
      if (!r) throw notFound('request');
      if (await findMembership(db, r.organization_id, readerId)) return present(r.id);
      if (!(await takesRfpsAsPartner(db, readerId)) || r.status !== 'open' || r.closes_at <= now())
        throw new Problem('not-found', 'No open request of that id');
      return present(r.id);
    },

    /** The open request behind an emailed cancel link, read without acting (the cancel page's GET). */
    async viewCancelLink(token: string): Promise<{ title: string; summary: string; closesAt: Date }> {
      const r = await openRfpByCancelToken(db, token);
      if (!r) throw new Problem('cancellation-link-invalid');
      return { title: r.title, summary: r.summary, closesAt: r.closes_at };
    },

    /** Cancels at once with the emailed link (single use). The signal commits with the cancellation (issue 15). */
    async cancelByLink(token: string): Promise<{ id: string }> {
      const { r, commands } = await db.transaction().execute(async (trx) => {
        const r = await cancelRfpByToken(trx, token);
        if (!r) throw new Problem('cancellation-link-invalid');
        await audit(trx, {
          actor_type: 'customer',
          actor_id: r.created_by,
          action: 'partner.rfp_cancelled',
          subject_type: 'organization',
          subject_id: r.organization_id,
          decision: null,
          details: { rfpId: r.id },
        });
        return { r, commands: await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: rfpWorkflowId(r.id), signal: rfpCancelledSignal.name }]) };
      });
      // The link is spent and the relay has the signal: the answer says cancelled either way.
      await sendCommitted({ client: client!, db }, commands).catch(() => undefined);
      return { id: r.id };
    },

    async setSubscription(organizationId: string, accountId: string, enabled: boolean): Promise<void> {
      await mustAdminister(organizationId, accountId, 'Administrators and legal representatives only');
      if ((await organizationProgram(db, organizationId)) !== 'partner') throw new Problem('not-a-partner');
      await setRfpOptIn(db, organizationId, enabled);
    },
  };
}
