/**
 * P11 cashback on a client's order [003]: when a client of a partner (full access) orders at the
 * public price, the partner's prepaid account is credited the difference to the partner price. The
 * orders service queues this process in the order's transaction (workflow-command relay); the credit
 * is one database activity, once per order line by its ledger reference, so a retry credits nothing
 * twice. A client billed to its partner pays the partner price instead and earns no cashback.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { databaseActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import type { OrderCashbackInput } from './shared/orders';

const { creditOrderCashback } = proxyActivities<Pick<Activities, 'creditOrderCashback'>>(databaseActivity([FailureType.NotFound]));

export async function orderCashback({ orderId }: OrderCashbackInput): Promise<{ orderId: string; creditedCents: number }> {
  const { creditedCents } = await creditOrderCashback({ orderId });
  return { orderId, creditedCents };
}
