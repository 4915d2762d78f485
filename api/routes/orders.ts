/**
 * P1 blocked orders over HTTP. The system creates and blocks orders; the customer who placed one
 * (or an administrator or legal representative of its organization) reads it and asks for the
 * procedure again; agents read it and verify identity manually on its case.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { InsufficientPrepaidBalance, recordPaidOrder } from '../../db/repositories/orders';
import { findMembership } from '../../db/repositories/organizations';
import { PAYMENT_MEANS } from '../../db/tables/orders.table';
import { BLOCKED_ORDER_AUTO_CANCEL_MS, BLOCKED_ORDER_RESEND_WINDOW_MS, BLOCKED_ORDER_RESENDS_PER_DAY } from '../../lib/rules';
import { orderBlockWorkflowId, reopenVerificationSignal, type OrderBlockInput } from '../../workflows/shared/orders';
import { reissueLinkUpdate, verificationWorkflowId } from '../../workflows/shared/verification';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

export interface OrderDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const uuid = z.uuid();
const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const orderSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    accountId: z.uuid(),
    status: z.enum(['paid', 'blocked', 'fulfilled', 'cancelled']),
    currency: z.enum(['CHF', 'EUR']),
    totalCents: z.number().int(),
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

export function orderRoutes({ client, db, taskQueue, clock }: OrderDeps): AnyRoute[] {
  const recentResends = async (orderId: string) =>
    Number(
      (
        await db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('subject_type', '=', 'order')
          .where('subject_id', '=', orderId)
          .where('action', '=', 'order.block_procedure_resent')
          .where('at', '>', new Date(clock.now().getTime() - BLOCKED_ORDER_RESEND_WINDOW_MS))
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function present(orderId: string, principal: Principal) {
    const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
    const lines = await db
      .selectFrom('order_lines as l')
      .leftJoin('products as p', 'p.order_line_id', 'l.id')
      .select(['l.id', 'l.product_type', 'l.description', 'l.quantity', 'l.unit_price_cents', 'l.term_months', 'p.id as product_id'])
      .where('l.order_id', '=', orderId)
      .execute();
    const pays = await db
      .selectFrom('payments')
      .select(['id', 'means', 'amount_cents', 'status'])
      .where('order_id', '=', orderId)
      .orderBy('created_at')
      .execute();
    const refunds = await db.selectFrom('refunds').select(['destination', 'amount_cents', 'status']).where('order_id', '=', orderId).execute();
    let block: z.infer<typeof orderSchema>['block'] = null;
    if (order.blocked_at && order.block_deadline) {
      const caseRow = order.verification_case_id
        ? await db.selectFrom('verification_cases').select('status').where('id', '=', order.verification_case_id).executeTakeFirst()
        : undefined;
      const left = Math.max(0, BLOCKED_ORDER_RESENDS_PER_DAY - (await recentResends(orderId)));
      block = {
        reason: order.block_reason ?? '',
        blockedAt: order.blocked_at.toISOString(),
        deadline: order.block_deadline.toISOString(),
        resendAllowed: order.status === 'blocked' && left > 0 && caseRow?.status !== 'submitted',
        resendsLeftToday: left,
        ...(principal.role === 'customer' ? {} : { verificationCaseId: order.verification_case_id }),
      };
    }
    return {
      id: order.id,
      organizationId: order.organization_id,
      accountId: order.account_id,
      status: order.status,
      currency: order.currency,
      totalCents: order.total_cents,
      lines: lines.map((l) => ({
        id: l.id,
        productType: l.product_type,
        description: l.description,
        quantity: l.quantity,
        unitPriceCents: l.unit_price_cents,
        termMonths: l.term_months,
        productId: l.product_id,
      })),
      payments: pays.map((p) => ({ id: p.id, means: p.means, amountCents: p.amount_cents, status: p.status })),
      refunds: refunds.map((r) => ({ destination: r.destination, amountCents: r.amount_cents, status: r.status })),
      block,
      cancelReason: order.cancel_reason,
    };
  }

  /** The order's customer, an administrator or legal representative of its organization; agents and the system read all. */
  async function visibleOrder(orderId: string, principal: Principal) {
    const order = await db
      .selectFrom('orders')
      .select(['id', 'account_id', 'organization_id', 'status', 'verification_case_id'])
      .where('id', '=', orderId)
      .executeTakeFirst();
    if (!order) throw new Problem('not-found', 'No such order');
    if (principal.role === 'customer' && order.account_id !== principal.sub) {
      const membership = await findMembership(db, order.organization_id, principal.sub);
      // Not revealing whether an order exists to someone outside its organization.
      if (!membership || membership.role === 'collaborator') throw new Problem('not-found', 'No such order');
    }
    return order;
  }

  const idParams = z.object({ id: uuid });
  return [
    defineRoute({
      method: 'post',
      path: '/v1/orders',
      tag: 'Orders',
      summary: 'Record a paid order (the shop’s checkout)',
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
        409: { description: 'The prepaid balance does not cover the order', schema: problem },
        422: { description: 'Unknown organization or customer, or a zero total', schema: problem },
      },
      async handler({ body, principal }) {
        if (!(await findMembership(db, body.organizationId, body.accountId)))
          throw new Problem('unprocessable', 'The customer is not a member of this organization', { pointer: '/accountId' });
        const total = body.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
        if (total <= 0) throw new Problem('unprocessable', 'The order total must be positive', { pointer: '/lines' });
        // Amounts are PostgreSQL integers: a larger total used to answer 500.
        if (total > 2_147_483_647) throw new Problem('unprocessable', 'The order total is larger than one order can hold', { pointer: '/lines' });
        if (body.payment.cardRef && body.payment.means !== 'card')
          throw new Problem('unprocessable', 'Only a card payment has a card token', { pointer: '/payment/cardRef' });
        if (body.payment.status === 'in_progress' && body.payment.means !== 'iban_transfer') {
          throw new Problem('unprocessable', 'Only a bank transfer can be in progress', { pointer: '/payment/status' });
        }
        let id: string;
        try {
          ({ orderId: id } = await db.transaction().execute((trx) => recordPaidOrder(trx, { ...body, recordedBy: principal.sub })));
        } catch (err) {
          if (err instanceof InsufficientPrepaidBalance) throw new Problem('insufficient-prepaid-balance', 'The prepaid account does not cover this order');
          throw err;
        }
        return { status: 201, body: await present(id, principal), headers: { Location: `/v1/orders/${id}` } };
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
        const order = await visibleOrder(params.id, principal);
        const caseId = randomUUID();
        const now = clock.now();
        const blocked = await db
          .updateTable('orders')
          .set({
            status: 'blocked',
            block_reason: body.reason,
            blocked_at: now,
            block_deadline: new Date(now.getTime() + BLOCKED_ORDER_AUTO_CANCEL_MS),
            verification_case_id: caseId,
          })
          .where('id', '=', order.id)
          .where('status', '=', 'paid')
          .where('blocked_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!blocked) throw new Problem('conflict', `The order is ${order.status} and cannot be blocked again`);
        try {
          await client.workflow.start('orderBlock', {
            workflowId: orderBlockWorkflowId(order.id),
            taskQueue,
            args: [{ orderId: order.id, accountId: order.account_id, caseId } satisfies OrderBlockInput],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Problem('conflict', 'This order has already been blocked');
          await db
            .updateTable('orders')
            .set({ status: 'paid', block_reason: null, blocked_at: null, block_deadline: null, verification_case_id: null })
            .where('id', '=', order.id)
            .execute();
          throw new Problem('unavailable', 'Could not start the blocking process; the order is unchanged', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: 'system',
          actor_id: principal.sub,
          action: 'order.blocked',
          subject_type: 'order',
          subject_id: order.id,
          decision: null,
          details: { reason: body.reason },
        });
        return { status: 202, body: await present(order.id, principal) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/orders/:id/block/resend',
      tag: 'Orders',
      summary: 'Send the unblocking procedure again with a fresh link (at most 3 times a day)',
      roles: ['customer'],
      params: idParams,
      responses: {
        202: { description: 'Sent; the previous link no longer works', schema: orderSchema },
        404: { description: 'No such order of yours', schema: problem },
        409: { description: 'Not blocked, or the identity check is already under review', schema: problem },
        429: { description: '3 re-sends in the last 24 hours', schema: problem },
      },
      async handler({ params, principal }) {
        const order = await visibleOrder(params.id, principal);
        if (order.status !== 'blocked' || !order.verification_case_id) throw new Problem('conflict', `The order is ${order.status}`);
        if ((await recentResends(order.id)) >= BLOCKED_ORDER_RESENDS_PER_DAY) {
          throw new Problem('rate-limited', 'The procedure can be sent again at most 3 times a day', { retryAfterSeconds: 3600 });
        }
        const caseRow = await db.selectFrom('verification_cases').select('status').where('id', '=', order.verification_case_id).executeTakeFirst();
        if (!caseRow) throw new Problem('conflict', 'The procedure is being sent; try again in a minute');
        if (caseRow.status === 'submitted') throw new Problem('conflict', 'Your identity check is being reviewed; no new link is needed');
        if (caseRow.status === 'awaiting_customer') {
          await client.workflow
            .getHandle(verificationWorkflowId(order.verification_case_id))
            .executeUpdate(reissueLinkUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } else {
          // The case ended without approval: the process opens a new one.
          await client.workflow.getHandle(orderBlockWorkflowId(order.id)).signal(reopenVerificationSignal);
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'order.block_procedure_resent',
          subject_type: 'order',
          subject_id: order.id,
          decision: null,
          details: {},
        });
        return { status: 202, body: await present(order.id, principal) };
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
        const order = await visibleOrder(params.id, principal);
        return { status: 200, body: await present(order.id, principal) };
      },
    }),
  ];
}
