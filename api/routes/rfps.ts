/**
 * P11 requests for proposal over HTTP. A customer publishes a need; partners who opted in receive an
 * excerpt and open the full request, with the author's contact, only while it is open; the emailed
 * link cancels it at once (the link is the author's proof, as for other emailed confirmations).
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { describeDuration, RFP_OPEN_MS } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { rfpService } from '../services/rfps';

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

export function rfpRoutes(deps: { client: Client; db: Kysely<Database>; taskQueue: string; clock: { now(): Date } }): AnyRoute[] {
  const rfps = rfpService(deps);
  return [
    defineRoute({
      method: 'post',
      path: '/v1/requests-for-proposal',
      tag: 'Partners',
      summary: `Publish a request for proposal to the partners who take them (open ${describeDuration(RFP_OPEN_MS)}; the email holds a link that cancels it)`,
      roles: ['customer'],
      body: z
        .object({
          organizationId: z.uuid(),
          title: z.string().trim().min(3).max(120),
          summary: z.string().trim().min(10).max(500),
          details: z.string().trim().min(10).max(10_000),
        })
        .strict(),
      responses: { 201: { description: 'Published', schema: rfpSchema }, 403: { description: 'Collaborators may not', schema: problem } },
      async handler({ body, principal }) {
        return { status: 201, body: await rfps.publish(principal.sub, body) };
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
        return { status: 200, body: await rfps.read(params.id, principal.sub) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/requests-for-proposal/cancel/:token',
      tag: 'Partners',
      summary: 'Cancel a request for proposal at once, with the link from its email (single use)',
      roles: [],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a cancellation token') }),
      responses: {
        200: { description: 'Cancelled', schema: z.object({ id: z.uuid(), status: z.literal('cancelled') }) },
        404: { description: 'Unknown or used link', schema: problem },
      },
      async handler({ params }) {
        const r = await rfps.cancelByLink(params.token);
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
        await rfps.setSubscription(params.id, principal.sub, body.enabled);
        return { status: 200, body: { enabled: body.enabled } };
      },
    }),
  ];
}
