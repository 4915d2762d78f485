/**
 * P1 blocked orders. The system records paid orders and blocks one for security (its process emails
 * the identity-check procedure and cancels and refunds after the deadline); the customer who placed
 * it, or an administrator or legal representative of its organization, reads it and asks for the
 * procedure again; agents and the system read every order. The API routes call these functions.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
  countRecentResends,
  findOrderHeader,
  findOrderByIdempotencyKey,
  InsufficientPrepaidBalance,
  markOrderBlocked,
  orderDetails,
  recordPaidOrder,
  unmarkOrderBlocked,
  verificationCaseStatus,
  type PaidOrder,
} from '../../db/repositories/orders';
import { findMembership } from '../../db/repositories/organizations';
import { partnershipCovering, productsPaidBy } from '../../db/repositories/partnerships';
import { queueWorkflowCommands, type WorkflowCommandRow } from '../../db/repositories/workflowCommands';
import { degressiveBasisPoints, partnerPrice } from '../../lib/pricing';
import { sendCommitted } from '../../temporal/workflowCommands';
import { BLOCKED_ORDER_AUTO_CANCEL_MS, BLOCKED_ORDER_RESEND_WINDOW_MS, BLOCKED_ORDER_RESENDS_PER_DAY, describePeriod } from '../../lib/rules';
import {
  orderBlockWorkflowId,
  orderCashbackWorkflowId,
  reopenVerificationSignal,
  type OrderBlockInput,
  type OrderCashbackInput,
} from '../../workflows/shared/orders';
import { reissueLinkUpdate, verificationWorkflowId } from '../../workflows/shared/verification';
import type { Principal } from '../auth';
import { notFound, Problem } from '../problems';
import { startProcess, updateProcess } from './processes';

export interface OrderDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

export type OrderView = Awaited<ReturnType<ReturnType<typeof orderService>['read']>>;

export function orderService({ client, db, taskQueue, clock }: OrderDeps) {
  const recentResends = (orderId: string) => countRecentResends(db, orderId, new Date(clock.now().getTime() - BLOCKED_ORDER_RESEND_WINDOW_MS));

  async function present(orderId: string, principal: Principal) {
    const { order, lines, payments, refunds, caseStatus } = await orderDetails(db, orderId);
    let block: {
      reason: string;
      blockedAt: string;
      deadline: string;
      resendAllowed: boolean;
      resendsLeftToday: number;
      verificationCaseId?: string | null;
    } | null = null;
    if (order.blocked_at && order.block_deadline) {
      const left = Math.max(0, BLOCKED_ORDER_RESENDS_PER_DAY - (await recentResends(orderId)));
      block = {
        reason: order.block_reason ?? '',
        blockedAt: order.blocked_at.toISOString(),
        deadline: order.block_deadline.toISOString(),
        resendAllowed: order.status === 'blocked' && left > 0 && caseStatus !== 'submitted',
        resendsLeftToday: left,
        // The case id is the agents' handle on the identity check, not the customer's. Shown once
        // the case's process has opened its record: before that, acting on the id would find no case.
        ...(principal.role === 'customer' ? {} : { verificationCaseId: caseStatus ? order.verification_case_id : null }),
      };
    }
    return {
      id: order.id,
      organizationId: order.organization_id,
      accountId: order.account_id,
      status: order.status,
      currency: order.currency,
      totalCents: order.total_cents,
      // P11: the partner that pays it (at the partner price), or null when the organization does.
      billedOrganizationId: order.billed_organization_id,
      lines: lines.map((l) => ({
        id: l.id,
        productType: l.product_type,
        description: l.description,
        quantity: l.quantity,
        unitPriceCents: l.unit_price_cents,
        termMonths: l.term_months,
        productId: l.product_id,
      })),
      payments: payments.map((p) => ({ id: p.id, means: p.means, amountCents: p.amount_cents, status: p.status })),
      refunds: refunds.map((r) => ({ destination: r.destination, amountCents: r.amount_cents, status: r.status })),
      block,
      cancelReason: order.cancel_reason,
    };
  }

  /** The order's customer, an administrator or legal representative of its organization; agents and the system read all. */
  async function visibleOrder(orderId: string, principal: Principal) {
    const order = await findOrderHeader(db, orderId);
    if (!order) throw notFound('order');
    if (principal.role === 'customer' && order.account_id !== principal.sub) {
      const membership = await findMembership(db, order.organization_id, principal.sub);
      // Not revealing whether an order exists to someone outside its organization.
      if (!membership || membership.role === 'collaborator') throw notFound('order');
    }
    return order;
  }

  /**
   * P11 [003]: the terms of an order by a client of a partner with full access. Billed to the partner,
   * it pays the partner price of each line (its discount, then the degressive rate of its volume);
   * billed to the client, the client pays the public price and the partner earns the cashback.
   */
  async function partnerTerms(trx: Kysely<Database>, input: Omit<PaidOrder, 'recordedBy'>) {
    const partnership = await partnershipCovering(trx, input.organizationId);
    if (!partnership) return undefined;
    const partnerId = partnership.partner_organization_id;
    if (partnership.billing !== 'partner') return { organizationId: partnerId, billedTotalCents: null };
    let billedTotalCents = 0;
    for (const line of input.lines) {
      const volume = (await productsPaidBy(trx, partnerId, line.productType)) + line.quantity;
      const degressive = degressiveBasisPoints(line.productType, volume);
      billedTotalCents += partnerPrice({ publicCents: line.quantity * line.unitPriceCents, degressiveBasisPoints: degressive }).finalCents;
    }
    return { organizationId: partnerId, billedTotalCents };
  }

  return {
    read: async (principal: Principal, orderId: string) => present((await visibleOrder(orderId, principal)).id, principal),

    /**
     * The shop's checkout records a paid order; paid from the prepaid account, the account is debited
     * now. Once per Idempotency-Key: the key again answers the order recorded under it (created:
     * false), nothing recorded, debited or credited twice; the key with another request is a conflict.
     */
    async record(principal: Principal, input: Omit<PaidOrder, 'recordedBy' | 'idempotency'>, idempotencyKey: string) {
      // The parsed request, its keys in the schema's order: the same order sent again digests the same.
      const requestDigest = createHash('sha256').update(JSON.stringify(input)).digest('base64url');
      const earlier = async () => {
        const found = await findOrderByIdempotencyKey(db, idempotencyKey);
        if (found && found.request_digest !== requestDigest)
          throw new Problem('conflict', 'This Idempotency-Key was used for another order; use a new key', { orderId: found.id });
        return found && { created: false, order: await present(found.id, principal) };
      };
      const replay = await earlier();
      if (replay) return replay;
      if (!(await findMembership(db, input.organizationId, input.accountId)))
        throw new Problem('unprocessable', 'The customer is not a member of this organization', { pointer: '/accountId' });
      const total = input.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      if (total <= 0) throw new Problem('unprocessable', 'The order total must be positive', { pointer: '/lines' });
      // Amounts are PostgreSQL integers: a larger total used to answer 500.
      if (total > 2_147_483_647) throw new Problem('unprocessable', 'The order total is larger than one order can hold', { pointer: '/lines' });
      if (input.payment.cardRef && input.payment.means !== 'card')
        throw new Problem('unprocessable', 'Only a card payment has a card token', { pointer: '/payment/cardRef' });
      if (input.payment.status === 'in_progress' && input.payment.means !== 'iban_transfer')
        throw new Problem('unprocessable', 'Only a bank transfer can be in progress', { pointer: '/payment/status' });
      let id: string;
      let commands: WorkflowCommandRow[] = [];
      try {
        ({ id, commands } = await db.transaction().execute(async (trx) => {
          const partner = await partnerTerms(trx, input);
          const { orderId } = await recordPaidOrder(trx, {
            ...input,
            recordedBy: principal.sub,
            idempotency: { key: idempotencyKey, requestDigest },
            ...(partner ? { partner } : {}),
          });
          // The partner's cashback is credited by a process (money moves in activities), queued with the order.
          const cashback =
            partner && partner.billedTotalCents === null
              ? await queueWorkflowCommands(trx, [
                  {
                    kind: 'start',
                    workflowType: 'orderCashback',
                    workflowId: orderCashbackWorkflowId(orderId),
                    taskQueue,
                    args: [{ orderId } satisfies OrderCashbackInput],
                  },
                ])
              : [];
          return { id: orderId, commands: cashback };
        }));
      } catch (err) {
        if (err instanceof InsufficientPrepaidBalance) throw new Problem('insufficient-prepaid-balance', 'The prepaid account does not cover this order');
        // The same key sent twice at once: the other request recorded it, this transaction undid all of its own.
        const replay = (err as { code?: string }).code === '23505' ? await earlier() : undefined;
        if (replay) return replay;
        throw err;
      }
      // The order is recorded: Temporal away, the relay starts the process later; a 503 would only make the checkout order twice.
      await sendCommitted({ client, db }, commands).catch(() => undefined);
      return { created: true, order: await present(id, principal) };
    },

    /** Blocks a paid order once; its process runs from here. When it cannot start, the order is left as it was. */
    async block(principal: Principal, orderId: string, reason: string) {
      const order = await visibleOrder(orderId, principal);
      const caseId = randomUUID();
      const now = clock.now();
      if (!(await markOrderBlocked(db, order.id, { reason, now, deadline: new Date(now.getTime() + BLOCKED_ORDER_AUTO_CANCEL_MS), caseId })))
        throw new Problem('conflict', `The order is ${order.status} and cannot be blocked again`);
      try {
        await startProcess(
          { client, taskQueue },
          'orderBlock',
          orderBlockWorkflowId(order.id),
          { orderId: order.id, accountId: order.account_id, caseId } satisfies OrderBlockInput,
          {
            policy: 'refuse',
            ifTaken: new Problem('conflict', 'This order has already been blocked'),
          },
        );
      } catch (err) {
        if (err instanceof Problem) throw err;
        await unmarkOrderBlocked(db, order.id);
        throw new Problem('unavailable', 'Could not start the blocking process; the order is unchanged', { cause: (err as Error).name });
      }
      await audit(db, {
        actor_type: 'system',
        actor_id: principal.sub,
        action: 'order.blocked',
        subject_type: 'order',
        subject_id: order.id,
        decision: null,
        details: { reason },
      });
      return present(order.id, principal);
    },

    /** The procedure again with a fresh link, a few times a day, not while the identity check is under review. */
    async resend(principal: Principal, orderId: string) {
      const order = await visibleOrder(orderId, principal);
      if (order.status !== 'blocked' || !order.verification_case_id) throw new Problem('conflict', `The order is ${order.status}`);
      if ((await recentResends(order.id)) >= BLOCKED_ORDER_RESENDS_PER_DAY)
        throw new Problem(
          'rate-limited',
          `The procedure can be sent again at most ${BLOCKED_ORDER_RESENDS_PER_DAY} times a ${describePeriod(BLOCKED_ORDER_RESEND_WINDOW_MS)}`,
          {
            retryAfterSeconds: 3600,
          },
        );
      const status = await verificationCaseStatus(db, order.verification_case_id);
      if (!status) throw new Problem('conflict', 'The procedure is being sent; try again in a minute');
      if (status === 'submitted') throw new Problem('conflict', 'Your identity check is being reviewed; no new link is needed');
      if (status === 'awaiting_customer') {
        const closed = new Problem('conflict', 'The identity check has just ended; try again in a minute');
        await updateProcess(
          client.workflow.getHandle(verificationWorkflowId(order.verification_case_id)),
          reissueLinkUpdate,
          [{ actor: `customer:${principal.sub}` }],
          {
            closed,
            otherwise: closed,
          },
        );
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
      return present(order.id, principal);
    },
  };
}
