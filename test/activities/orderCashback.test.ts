/**
 * P11 cashback on a client's order (issue 17, item 3): credited once per order line however often
 * the activity runs, never on a cancelled order, and taken back once when a credited order is
 * cancelled (as far as the partner's balance allows). Activities over PostgreSQL, as Temporal runs them.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { prepaidBalance } from '../../db/repositories/renewal';
import { database, seedOrganization, smtpCapture } from '../support/fixtures';
import { activitiesOver } from '../support/greylistingSmtp';
import { insertPaidOrder, markBlocked } from '../support/orders';

describe('order cashback activities (issue 17, item 3)', function () {
  this.timeout(60_000);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let acts: Awaited<ReturnType<typeof activitiesOver>>;
  before(async () => {
    acts = await activitiesOver((await smtpCapture()).url);
  });

  async function clientOrder() {
    const { db } = await database();
    const partner = await seedOrganization(db);
    const client = await seedOrganization(db);
    const { orderId } = await insertPaidOrder(db, client, { means: 'card' }, partner.org.id);
    return { db, partner, client, orderId };
  }

  it('credits once however often it runs', async () => {
    const { db, partner, orderId } = await clientOrder();
    assert.deepEqual(await env.run(acts.creditOrderCashback, { orderId }), { creditedCents: 2_400 });
    assert.deepEqual(await env.run(acts.creditOrderCashback, { orderId }), { creditedCents: 0 });
    assert.equal(await prepaidBalance(db, partner.org.id, 'CHF'), 2_400, '20 % of 20.00 + 100.00 CHF');
  });

  it('takes a cancelled order’s cashback back once, and credits none after the cancellation', async () => {
    const { db, partner, orderId } = await clientOrder();
    await env.run(acts.creditOrderCashback, { orderId });
    await markBlocked(db, orderId, randomUUID());
    await env.run(acts.cancelOrder, { orderId, reason: 'identity verification rejected' });
    await env.run(acts.cancelOrder, { orderId, reason: 'identity verification rejected' });
    assert.equal(await prepaidBalance(db, partner.org.id, 'CHF'), 0);

    const other = await clientOrder();
    await markBlocked(other.db, other.orderId, randomUUID());
    await env.run(acts.cancelOrder, { orderId: other.orderId, reason: 'no approved identity verification' });
    assert.deepEqual(await env.run(acts.creditOrderCashback, { orderId: other.orderId }), { creditedCents: 0 });
    assert.equal(await prepaidBalance(db, other.partner.org.id, 'CHF'), 0);
  });
});
