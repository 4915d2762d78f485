/**
 * P12 product cancellation over HTTP. An administrator or legal representative asks; the emailed
 * link confirms (the link's token is the credential, as the email is the proof of intent). The
 * rules are api/services/cancellation.ts; this file translates HTTP.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS, describeDuration } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { cancellationService } from '../services/cancellation';

export interface CancellationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const productSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    name: z.string(),
    productType: z.string(),
    status: z.enum(['active', 'suspended', 'terminated']),
    bundledIn: z.enum(['ksuite']).nullable(),
    terminatedAt: z.iso.datetime().nullable(),
    pendingCancellation: z.object({ requestId: z.uuid(), expiresAt: z.iso.datetime() }).nullable(),
  })
  .meta({ id: 'Product' });

export function cancellationRoutes(deps: CancellationDeps): AnyRoute[] {
  const cancellations = cancellationService(deps);

  return [
    defineRoute({
      method: 'get',
      path: '/v1/products/:id',
      tag: 'Products',
      summary: 'A product, with any cancellation waiting for confirmation',
      roles: ['customer', 'agent', 'system'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The product', schema: productSchema }, 404: { description: 'No such product of yours', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await cancellations.product(principal, params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/products/:id/cancellation-requests',
      tag: 'Products',
      summary: `Ask to cancel a product; nothing happens until the emailed link confirms it (within ${describeDuration(CANCELLATION_CONFIRMATION_VALIDITY_MS)})`,
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: {
        202: { description: 'The confirmation email is on its way', schema: productSchema },
        403: { description: 'Collaborators may not cancel', schema: problem },
        409: { description: 'Terminated already, part of a kSuite, or a request is pending', schema: problem },
      },
      async handler({ params, principal }) {
        return { status: 202, body: await cancellations.request(principal, params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/cancellation-requests/:token/confirm',
      tag: 'Products',
      summary: 'Confirm a cancellation with the link from its email (single use)',
      roles: [],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a confirmation token') }),
      responses: {
        202: { description: 'Confirmed; the product is being terminated', schema: z.object({ requestId: z.uuid(), state: z.literal('confirmed') }) },
        404: { description: 'Unknown, used or lapsed link', schema: problem },
      },
      async handler({ params }) {
        return { status: 202, body: await cancellations.confirmByLink(params.token) };
      },
    }),
  ];
}
