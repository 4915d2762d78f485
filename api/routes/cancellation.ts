/**
 * P12 product cancellation over HTTP. An administrator or legal representative asks; the emailed
 * link confirms (the link's token is the credential, as the email is the proof of intent).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { partnerMayAct } from '../../db/repositories/partnerships';
import { hashLinkToken } from '../../db/repositories/verification';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS } from '../../lib/rules';
import { cancellationWorkflowId, confirmCancellationUpdate, type CancellationInput } from '../../workflows/shared/cancellation';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

export interface CancellationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
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

export function cancellationRoutes({ client, db, taskQueue, clock }: CancellationDeps): AnyRoute[] {
  async function productFor(productId: string, principal: Principal) {
    const product = await db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirst();
    const membership = product && principal.role === 'customer' ? await findMembership(db, product.organization_id, principal.sub) : undefined;
    if (!product || (principal.role === 'customer' && !membership)) throw new Problem('not-found', 'No such product');
    return { product, membership };
  }
  async function present(productId: string) {
    const p = await db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirstOrThrow();
    const pending = await db
      .selectFrom('cancellation_requests')
      .select(['id', 'expires_at'])
      .where('product_id', '=', productId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return {
      id: p.id,
      organizationId: p.organization_id,
      name: p.name,
      productType: p.product_type,
      status: p.status,
      bundledIn: p.bundled_in,
      terminatedAt: p.terminated_at?.toISOString() ?? null,
      pendingCancellation: pending ? { requestId: pending.id, expiresAt: pending.expires_at.toISOString() } : null,
    };
  }

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
        // P11: a partner reads its clients' products within the rights granted.
        if (principal.role !== 'customer' || !(await partnerMayAct(db, principal.sub, params.id))) await productFor(params.id, principal);
        return { status: 200, body: await present(params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/products/:id/cancellation-requests',
      tag: 'Products',
      summary: 'Ask to cancel a product; nothing happens until the emailed link confirms it (within 14 days)',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: {
        202: { description: 'The confirmation email is on its way', schema: productSchema },
        403: { description: 'Collaborators may not cancel', schema: problem },
        409: { description: 'Terminated already, part of a kSuite, or a request is pending', schema: problem },
      },
      async handler({ params, principal }) {
        const { product, membership } = await productFor(params.id, principal);
        if (membership!.role === 'collaborator') throw new Problem('forbidden', 'Only an administrator or the legal representative may cancel a product');
        if (product.bundled_in === 'ksuite') throw new Problem('product-bundled', 'Cancel the kSuite that includes it instead');
        if (product.status === 'terminated') throw new Problem('conflict', 'The product is already cancelled');
        const requestId = randomUUID();
        const now = clock.now();
        try {
          await db
            .insertInto('cancellation_requests')
            .values({
              id: requestId,
              product_id: product.id,
              requested_by: principal.sub,
              token_hash: null,
              requested_at: now,
              expires_at: new Date(now.getTime() + CANCELLATION_CONFIRMATION_VALIDITY_MS),
              confirmed_at: null,
            })
            .execute();
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new Problem('cancellation-pending');
          throw err;
        }
        try {
          await client.workflow.start('productCancellation', {
            workflowId: cancellationWorkflowId(product.id),
            taskQueue,
            args: [{ requestId, productId: product.id } satisfies CancellationInput],
            // A new request after one lapsed is a new run; two at once are refused.
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          await db.deleteFrom('cancellation_requests').where('id', '=', requestId).execute();
          throw new Problem('unavailable', 'Could not start the cancellation; nothing changed', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'product.cancellation_requested',
          subject_type: 'product',
          subject_id: product.id,
          decision: null,
          details: { requestId },
        });
        return { status: 202, body: await present(product.id) };
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
        const request = await db
          .selectFrom('cancellation_requests')
          .select(['id', 'product_id', 'requested_by', 'expires_at'])
          .where('token_hash', '=', hashLinkToken(params.token))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (!request || request.expires_at <= clock.now()) throw new Problem('cancellation-link-invalid');
        try {
          await client.workflow
            .getHandle(cancellationWorkflowId(request.product_id))
            .executeUpdate(confirmCancellationUpdate, { args: [{ actor: `customer:${request.requested_by}` }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Problem('cancellation-link-invalid');
          throw err;
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: request.requested_by,
          action: 'product.cancellation_confirmed',
          subject_type: 'product',
          subject_id: request.product_id,
          decision: null,
          details: { requestId: request.id },
        });
        return { status: 202, body: { requestId: request.id, state: 'confirmed' as const } };
      },
    }),
  ];
}
