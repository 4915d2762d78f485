/**
 * P11 requests for proposal over HTTP. A customer publishes a need; partners who opted in receive an
 * excerpt and open the full request, with the author's contact, only while it is open; the emailed
 * link cancels it at once (the link is the author's proof, as for other emailed confirmations).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import { sendCommitted } from '../../temporal/workflowCommands';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { hashLinkToken } from '../../db/repositories/verification';
import { RFP_OPEN_MS } from '../../lib/rules';
import { rfpCancelledSignal, rfpWorkflowId, type RfpInput } from '../../workflows/shared/rfp';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const rfpSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    summary: z.string(),
    details: z.string(),
    contact: z.object({ name: z.string(), email: z.string() }),
    status: z.enum(['open', 'cancelled', 'closed']),
    closesAt: z.iso.datetime(),
  })
  .meta({ id: 'RequestForProposal' });

export function rfpRoutes({ client, db, taskQueue, clock }: { client: Client; db: Kysely<Database>; taskQueue: string; clock: { now(): Date } }): AnyRoute[] {
  async function present(id: string) {
    const r = await db.selectFrom('requests_for_proposal as r').innerJoin('accounts as a', 'a.id', 'r.created_by').selectAll('r').select(['a.display_name', 'a.login_email']).where('r.id', '=', id).executeTakeFirstOrThrow();
    return { id: r.id, title: r.title, summary: r.summary, details: r.details, contact: { name: r.display_name, email: r.login_email }, status: r.status, closesAt: r.closes_at.toISOString() };
  }
  return [
    defineRoute({
      method: 'post',
      path: '/v1/requests-for-proposal',
      tag: 'Partners',
      summary: 'Publish a request for proposal to the partners who take them (open 30 days; the email holds a link that cancels it)',
      roles: ['customer'],
      body: z.object({ organizationId: z.uuid(), title: z.string().trim().min(3).max(120), summary: z.string().trim().min(10).max(500), details: z.string().trim().min(10).max(10_000) }).strict(),
      responses: { 201: { description: 'Published', schema: rfpSchema }, 403: { description: 'Collaborators may not', schema: problem } },
      async handler({ body, principal }) {
        const m = await findMembership(db, body.organizationId, principal.sub);
        if (!m) throw new Problem('not-found', 'No such organization');
        if (m.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives publish requests');
        const id = randomUUID();
        const now = clock.now();
        await db.insertInto('requests_for_proposal').values({ id, organization_id: body.organizationId, created_by: principal.sub, title: body.title, summary: body.summary, details: body.details, cancel_token_hash: null, created_at: now, closes_at: new Date(now.getTime() + RFP_OPEN_MS) }).execute();
        await client.workflow.start('requestForProposal', { workflowId: rfpWorkflowId(id), taskQueue, args: [{ rfpId: id } satisfies RfpInput] });
        await audit(db, { actor_type: 'customer', actor_id: principal.sub, action: 'partner.rfp_published', subject_type: 'organization', subject_id: body.organizationId, decision: null, details: { rfpId: id } });
        return { status: 201, body: await present(id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/requests-for-proposal/:id',
      tag: 'Partners',
      summary: "The full request with the author's contact: to partners who take requests, only while it is open; to its organization always",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The request', schema: rfpSchema }, 404: { description: 'Unknown, or not open to you', schema: problem } },
      async handler({ params, principal }) {
        const r = await db.selectFrom('requests_for_proposal').select(['id', 'organization_id', 'status', 'closes_at']).where('id', '=', params.id).executeTakeFirst();
        if (!r) throw new Problem('not-found', 'No such request');
        if (await findMembership(db, r.organization_id, principal.sub)) return { status: 200, body: await present(r.id) };
        const partner = await db
          .selectFrom('memberships as m')
          .innerJoin('organizations as o', 'o.id', 'm.organization_id')
          .select('o.id')
          .where('m.account_id', '=', principal.sub)
          .where('m.role', 'in', ['legal_representative', 'administrator'])
          .where('o.program', '=', 'partner')
          .where('o.rfp_opt_in', '=', true)
          .executeTakeFirst();
        if (!partner || r.status !== 'open' || r.closes_at <= clock.now()) throw new Problem('not-found', 'No open request of that id');
        return { status: 200, body: await present(r.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/requests-for-proposal/cancel/:token',
      tag: 'Partners',
      summary: 'Cancel a request for proposal at once, with the link from its email (single use)',
      roles: [],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a cancellation token') }),
      responses: { 200: { description: 'Cancelled', schema: z.object({ id: z.uuid(), status: z.literal('cancelled') }) }, 404: { description: 'Unknown or used link', schema: problem } },
      async handler({ params }) {
        // The signal commits with the cancellation: dropped on any error, it left the process open (issue 15).
        const { r, commands } = await db.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable('requests_for_proposal')
            .set({ status: 'cancelled', cancel_token_hash: null })
            .where('cancel_token_hash', '=', hashLinkToken(params.token))
            .where('status', '=', 'open')
            .returning(['id', 'organization_id', 'created_by'])
            .executeTakeFirst();
          if (!r) throw new Problem('cancellation-link-invalid');
          await audit(trx, { actor_type: 'customer', actor_id: r.created_by, action: 'partner.rfp_cancelled', subject_type: 'organization', subject_id: r.organization_id, decision: null, details: { rfpId: r.id } });
          return { r, commands: await queueWorkflowCommands(trx, [{ kind: 'signal', workflowId: rfpWorkflowId(r.id), signal: rfpCancelledSignal.name }]) };
        });
        // The link is spent and the relay has the signal: the answer says cancelled either way.
        await sendCommitted({ client, db }, commands).catch(() => undefined);
        return { status: 200, body: { id: r.id, status: 'cancelled' as const } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/partners/:id/rfp-subscription',
      tag: 'Partners',
      summary: 'Receive requests for proposal, or stop (partner administrators and legal representatives)',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ enabled: z.boolean() }).strict(),
      responses: { 200: { description: 'Saved', schema: z.object({ enabled: z.boolean() }) }, 409: { description: 'Not a partner', schema: problem } },
      async handler({ params, body, principal }) {
        const m = await findMembership(db, params.id, principal.sub);
        if (!m) throw new Problem('not-found', 'No such organization');
        if (m.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives only');
        const org = await db.selectFrom('organizations').select('program').where('id', '=', params.id).executeTakeFirstOrThrow();
        if (org.program !== 'partner') throw new Problem('not-a-partner');
        await db.updateTable('organizations').set({ rfp_opt_in: body.enabled }).where('id', '=', params.id).execute();
        return { status: 200, body: { enabled: body.enabled } };
      },
    }),
  ];
}
