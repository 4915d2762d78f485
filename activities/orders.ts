/**
 * Side effects of blocked orders (P1). Money moves exactly once: each refund has an idempotency key
 * (`refund:<paymentId>`) held unique in PostgreSQL and passed to the payment provider, so a retry
 * after a crash, or a lost response, finds the first refund instead of making a second one.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/database';
import { audit } from '../db/repositories/audit';
import { createProductsOfOrder } from '../db/repositories/products';
import { enqueue } from '../db/repositories/outbox';
import { prepaidBalance } from '../db/repositories/renewal';
import { partnerPrice } from '../lib/pricing';
import { orderCashbackReference } from '../workflows/shared/orders';
import { FailureType } from '../workflows/shared/failures';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

export function createOrderActivities({ db, clock, payments }: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const orderOrFail = async (conn: Db, orderId: string, lock = false) => {
    let q = conn.selectFrom('orders').selectAll().where('id', '=', orderId);
    if (lock) q = q.forUpdate();
    const order = await q.executeTakeFirst();
    if (!order) throw ApplicationFailure.nonRetryable(`order ${orderId} not found`, FailureType.NotFound);
    return order;
  };
  // An undeliverable email is recorded on its outbox row; the process does not depend on it.
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  const emailCustomer = async (orderId: string, key: string, subject: string, body: string[]) => {
    const row = await db
      .selectFrom('orders as o')
      .innerJoin('accounts as a', 'a.id', 'o.account_id')
      .select(['a.login_email', 'a.display_name'])
      .where('o.id', '=', orderId)
      .executeTakeFirstOrThrow();
    await enqueue(db, { key, channel: 'email', recipient: row.login_email, subject, body: [`Hello ${row.display_name},`, '', ...body].join('\n') });
    await deliver(key);
  };

  async function verificationCaseStatus({ caseId }: { caseId: string }) {
    const row = await db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirst();
    return { status: row?.status ?? null };
  }

  async function attachOrderVerificationCase({ orderId, caseId }: { orderId: string; caseId: string }): Promise<void> {
    await db.updateTable('orders').set({ verification_case_id: caseId }).where('id', '=', orderId).where('status', '=', 'blocked').execute();
  }

  /** Unblocks: one active product per order line, then the customer is told. */
  async function fulfillOrder({ orderId }: { orderId: string }): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const order = await orderOrFail(trx, orderId, true);
      if (order.status === 'fulfilled') return;
      if (order.status === 'cancelled') throw ApplicationFailure.nonRetryable(`order ${orderId} is cancelled`, FailureType.OrderClosed);
      // Products that renew enter the renewal cycle: the next sweep starts their processes.
      await createProductsOfOrder(trx, order, clock.now());
      await trx.updateTable('orders').set({ status: 'fulfilled', fulfilled_at: clock.now() }).where('id', '=', orderId).execute();
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'order-block',
        action: 'order.fulfilled',
        subject_type: 'order',
        subject_id: orderId,
        decision: null,
        details: {},
      });
    });
    // Idempotent per outbox key: a retry re-sends nothing.
    await emailCustomer(orderId, `order:${orderId}:fulfilled`, 'Your order is unblocked', [
      'Thank you for verifying your identity. Your order has been unblocked and its products are now active.',
      `Order: ${orderId}`,
    ]);
  }

  async function cancelOrder({ orderId, reason }: { orderId: string; reason: string }): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const order = await orderOrFail(trx, orderId, true);
      if (order.status === 'cancelled') return;
      if (order.status === 'fulfilled') throw ApplicationFailure.nonRetryable(`order ${orderId} is fulfilled`, FailureType.OrderClosed);
      await trx.updateTable('orders').set({ status: 'cancelled', cancelled_at: clock.now(), cancel_reason: reason }).where('id', '=', orderId).execute();
      await takeBackOrderCashback(trx, order);
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'order-block',
        action: 'order.cancelled',
        subject_type: 'order',
        subject_id: orderId,
        decision: null,
        details: { reason },
      });
    });
  }

  /**
   * Refunds every payment of a cancelled order in full: to the means used, or to the prepaid account
   * when a bank transfer is still in progress (or the order was paid from that account).
   */
  async function refundOrderPayments({ orderId }: { orderId: string }): Promise<{ refunded: number }> {
    const order = await orderOrFail(db, orderId);
    if (order.status !== 'cancelled') throw ApplicationFailure.nonRetryable(`order ${orderId} is ${order.status}, not cancelled`, FailureType.OrderClosed);
    const paid = await db.selectFrom('payments').selectAll().where('order_id', '=', orderId).orderBy('created_at').execute();
    let refunded = 0;
    for (const payment of paid) {
      const key = `refund:${payment.id}`;
      const toPrepaid = (payment.means === 'iban_transfer' && payment.status === 'in_progress') || payment.means === 'prepaid';
      await db
        .insertInto('refunds')
        .values({
          id: randomUUID(),
          payment_id: payment.id,
          order_id: orderId,
          idempotency_key: key,
          destination: toPrepaid ? 'prepaid_account' : 'original_means',
          amount_cents: payment.amount_cents,
          currency: payment.currency,
          provider_refund_id: null,
          succeeded_at: null,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute();
      const refund = await db.selectFrom('refunds').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
      if (refund.status === 'succeeded') continue;

      let providerRefundId: string | null = null;
      if (refund.destination === 'original_means') {
        ({ refundId: providerRefundId } = await payments.refund({
          idempotencyKey: key,
          means: payment.means,
          paymentReference: payment.provider_reference,
          amountCents: refund.amount_cents,
          currency: refund.currency,
        }));
      }
      await db.transaction().execute(async (trx) => {
        if (refund.destination === 'prepaid_account') {
          await trx
            .insertInto('prepaid_ledger_entries')
            .values({
              // The payer's account: the partner's when the client was billed to it (P11).
              organization_id: order.billed_organization_id ?? order.organization_id,
              currency: order.currency,
              amount_cents: refund.amount_cents,
              reason: `refund of order ${orderId}`,
              reference: key,
            })
            .onConflict((oc) => oc.column('reference').doNothing())
            .execute();
        }
        await trx
          .updateTable('refunds')
          .set({ status: 'succeeded', provider_refund_id: providerRefundId, succeeded_at: clock.now() })
          .where('id', '=', refund.id)
          .execute();
        await trx.updateTable('payments').set({ status: 'refunded' }).where('id', '=', payment.id).execute();
        await audit(trx, {
          actor_type: 'system',
          actor_id: 'order-block',
          action: 'order.refunded',
          subject_type: 'order',
          subject_id: orderId,
          decision: null,
          details: { paymentId: payment.id, destination: refund.destination, amountCents: refund.amount_cents },
        });
      });
      refunded += 1;
    }
    return { refunded };
  }

  async function notifyOrderCancelled({ orderId }: { orderId: string }): Promise<void> {
    const order = await orderOrFail(db, orderId);
    const refunds = await db.selectFrom('refunds').select(['destination', 'amount_cents', 'currency']).where('order_id', '=', orderId).execute();
    await emailCustomer(orderId, `order:${orderId}:cancelled`, 'Your blocked order has been cancelled', [
      `Your order ${orderId} has been cancelled: ${order.cancel_reason ?? 'cancelled'}.`,
      ...refunds.map((r) =>
        r.destination === 'prepaid_account'
          ? `${money(r.amount_cents, r.currency)} has been credited to your organization's prepaid account.`
          : `${money(r.amount_cents, r.currency)} has been refunded to the means of payment you used.`,
      ),
    ]);
  }

  /**
   * P11 [003]: a client of a partner orders at the public price; the partner earns the difference to
   * its price as cashback on its prepaid account, once per order line (the reference), and never on
   * a cancelled order. A client billed to its partner was invoiced the partner price: no cashback.
   */
  async function creditOrderCashback({ orderId }: { orderId: string }): Promise<{ creditedCents: number }> {
    return db.transaction().execute(async (trx) => {
      const order = await orderOrFail(trx, orderId, true);
      if (!order.partner_organization_id || order.billed_organization_id || order.status === 'cancelled') return { creditedCents: 0 };
      const lines = await trx.selectFrom('order_lines').select(['id', 'quantity', 'unit_price_cents']).where('order_id', '=', orderId).orderBy('id').execute();
      let creditedCents = 0;
      for (const line of lines) {
        const { cashbackCents } = partnerPrice({ publicCents: line.quantity * line.unit_price_cents });
        if (cashbackCents <= 0) continue;
        const credited = await trx
          .insertInto('prepaid_ledger_entries')
          .values({
            organization_id: order.partner_organization_id,
            currency: order.currency,
            amount_cents: cashbackCents,
            reason: `partner cashback, order ${orderId}`,
            reference: orderCashbackReference(orderId, line.id),
          })
          .onConflict((oc) => oc.column('reference').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (credited) creditedCents += cashbackCents;
      }
      if (creditedCents > 0)
        await audit(trx, {
          actor_type: 'system',
          actor_id: 'order-cashback',
          action: 'order.cashback_credited',
          subject_type: 'order',
          subject_id: orderId,
          decision: null,
          details: { partnerOrganizationId: order.partner_organization_id, amountCents: creditedCents },
        });
      return { creditedCents };
    });
  }

  /**
   * A cancelled order earns nothing: its cashback goes back, once per line, as far as the partner's
   * balance allows (money already paid out is not claimed back here) [decided].
   */
  async function takeBackOrderCashback(trx: Db, order: { id: string; partner_organization_id: string | null; currency: 'CHF' | 'EUR' }) {
    if (!order.partner_organization_id) return;
    const credits = await trx
      .selectFrom('prepaid_ledger_entries')
      .select(['reference', 'amount_cents'])
      .where('reference', 'like', `${orderCashbackReference(order.id, '')}%`)
      .where('amount_cents', '>', 0)
      .orderBy('reference')
      .execute();
    for (const credit of credits) {
      const balance = await prepaidBalance(trx, order.partner_organization_id, order.currency);
      const amount = Math.min(credit.amount_cents, balance);
      if (amount <= 0) continue;
      await trx
        .insertInto('prepaid_ledger_entries')
        .values({
          organization_id: order.partner_organization_id,
          currency: order.currency,
          amount_cents: -amount,
          reason: `partner cashback taken back, order ${order.id} cancelled`,
          reference: `${credit.reference}:cancelled`,
        })
        .onConflict((oc) => oc.column('reference').doNothing())
        .execute();
    }
  }

  return {
    verificationCaseStatus,
    attachOrderVerificationCase,
    fulfillOrder,
    cancelOrder,
    refundOrderPayments,
    notifyOrderCancelled,
    creditOrderCashback,
  };
}
