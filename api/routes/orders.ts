/**
 * P1 blocked orders over HTTP. The system creates and blocks orders; the customer who placed one
 * (or an administrator or legal representative of its organization) reads it and asks for the
 * procedure again; agents read it and verify identity manually on its case. The rules are
 * api/services/orders.ts; this file translates HTTP.
 */
import { z } from 'zod';
import { PAYMENT_MEANS } from '../../db/tables/orders.table';
import { BLOCKED_ORDER_RESEND_WINDOW_MS, BLOCKED_ORDER_RESENDS_PER_DAY, describePeriod } from '../../lib/rules';
import { idempotencyKey } from '../idempotency';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { orderService, type OrderDeps } from '../services/orders';

export type { OrderDeps } from '../services/orders';

const uuid = z.uuid();
const orderSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    accountId: z.uuid(),
    status: z.enum(['paid', 'blocked', 'fulfilled', 'cancelled']),
    currency: z.enum(['CHF', 'EUR']),
    totalCents: z.number().int(),
    /** P11: the partner billed for the order at its partner price; null: the organization pays the public price. */
    billedOrganizationId: z.uuid().nullable(),
    lines: z.array(
      z.object({
        id: z.uuid(),
        productType: z.string(),
        description: z.string(),
        quantity: z.number().int(),
        unitPriceCents: z.number().int(),
        /** Months of the product's term; null: a one-off that does not renew. */
        termMonths: z.number().int().nullable(),
        productId: z.uuid().nullable(),
      }),
    ),
    payments: z.array(z.object({ id: z.uuid(), means: z.enum(PAYMENT_MEANS), amountCents: z.number().int(), status: z.string() })),
    refunds: z.array(z.object({ destination: z.enum(['original_means', 'prepaid_account']), amountCents: z.number().int(), status: z.string() })),
    block: z
      .object({
        reason: z.string(),
        blockedAt: z.iso.datetime(),
        deadline: z.iso.datetime(),
        resendAllowed: z.boolean(),
        resendsLeftToday: z.number().int(),
        verificationCaseId: z.uuid().nullable().optional(),
      })
      .nullable(),
    cancelReason: z.string().nullable(),
  })
  .meta({ id: 'Order' });

export function orderRoutes(deps: OrderDeps): AnyRoute[] {
  const orders = orderService(deps);
  const idParams = z.object({ id: uuid });
  return [
    defineRoute({
      method: 'post',
      path: '/v1/orders',
      tag: 'Orders',
      summary: 'Record a paid order (the shop’s checkout); requires an Idempotency-Key header: the same key again is the same order',
      roles: ['system'],
      body: z.strictObject({
        organizationId: uuid,
        accountId: uuid,
        currency: z.enum(['CHF', 'EUR']),
        lines: z
          .array(
            z.strictObject({
              productType: z.string().trim().min(1).max(50),
              description: z.string().trim().min(1).max(200),
              quantity: z.number().int().min(1).max(1000),
              unitPriceCents: z.number().int().min(0).max(100_000_000),
              // Issue 17: the product the line creates renews every this many months; null: a one-off. Omitted: yearly.
              termMonths: z.number().int().min(1).max(120).nullable().default(12),
            }),
          )
          .min(1)
          .max(100),
        payment: z.strictObject({
          means: z.enum(PAYMENT_MEANS),
          status: z.enum(['captured', 'in_progress']).default('captured'),
          reference: z.string().max(200).nullable().default(null),
          // The provider's token of the card that paid: it pays the renewals of the order's products [001].
          cardRef: z.string().trim().min(1).max(200).optional(),
        }),
      }),
      responses: {
        201: { description: 'The paid order (paid from the prepaid account: debited now)', schema: orderSchema },
        200: { description: 'The same Idempotency-Key again: the order recorded under it, not a second one', schema: orderSchema },
        409: { description: 'The prepaid balance does not cover the order, or the Idempotency-Key was used for another order', schema: problem },
        422: { description: 'Unknown organization or customer, or a zero total', schema: problem },
      },
      async handler({ body, principal, req }) {
        const { created, order } = await orders.record(principal, body, idempotencyKey(req, 'records an order'));
        return { status: created ? 201 : 200, body: order, headers: { Location: `/v1/orders/${order.id}` } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/orders/:id/block',
      tag: 'Orders',
      summary: 'Block a paid order for security; the customer is emailed the identity-check procedure',
      roles: ['system'],
      params: idParams,
      body: z.strictObject({ reason: z.string().trim().min(1).max(500) }),
      responses: {
        202: { description: 'Blocked; the process runs', schema: orderSchema },
        409: { description: 'Already blocked, fulfilled or cancelled', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 202, body: await orders.block(principal, params.id, body.reason) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/orders/:id/block/resend',
      tag: 'Orders',
      summary: `Send the unblocking procedure again with a fresh link (at most ${BLOCKED_ORDER_RESENDS_PER_DAY} times a ${describePeriod(BLOCKED_ORDER_RESEND_WINDOW_MS)})`,
      roles: ['customer'],
      params: idParams,
      responses: {
        202: { description: 'Sent; the previous link no longer works', schema: orderSchema },
        404: { description: 'No such order of yours', schema: problem },
        409: { description: 'Not blocked, or the identity check is already under review', schema: problem },
        429: { description: `${BLOCKED_ORDER_RESENDS_PER_DAY} re-sends in the last ${describePeriod(BLOCKED_ORDER_RESEND_WINDOW_MS)}`, schema: problem },
      },
      async handler({ params, principal }) {
        return { status: 202, body: await orders.resend(principal, params.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/orders/:id',
      tag: 'Orders',
      summary: 'An order, and while it is blocked the reason, the deadline and whether a re-send is allowed',
      roles: ['customer', 'agent', 'system'],
      params: idParams,
      responses: { 200: { description: 'The order', schema: orderSchema }, 404: { description: 'No such order visible to you', schema: problem } },
      async handler({ params, principal }) {
        return { status: 200, body: await orders.read(principal, params.id) };
      },
    }),
  ];
}
