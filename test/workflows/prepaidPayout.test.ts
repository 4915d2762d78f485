import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { findPayout, insertPayoutOnce, writeLedgerEntry, balanceOf } from '../../db/repositories/prepaid';
import { PREPAID_PAYOUT_DECISION_TIMEOUT_MS } from '../../lib/rules';
import { decidePayoutUpdate, payoutReservationUpdate, payoutStatusQuery, prepaidPayoutWorkflowId } from '../../workflows/shared/prepaid';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { testWorker } from '../support/worker';

describe('prepaidPayout workflow (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();

  async function startPayout(taskQueue: string, amountCents: number, funded: number) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    await writeLedgerEntry(db, {
      organizationId: seed.org.id,
      currency: 'CHF',
      amountCents: funded,
      reason: 'bank transfer',
      reference: `test:${randomUUID()}`,
    });
    const payoutId = randomUUID();
    await insertPayoutOnce(db, {
      id: payoutId,
      organization_id: seed.org.id,
      requested_by: seed.legalRep.id,
      amount_cents: amountCents,
      currency: 'CHF',
      destination_kind: 'iban',
      iban: 'CH9300762011623852957',
      holder: 'Org AG',
      paypal_email: null,
    });
    const handle = await suite.client.workflow.start('prepaidPayout', { workflowId: prepaidPayoutWorkflowId(payoutId), taskQueue, args: [{ payoutId }] });
    suite.opened.push(handle);
    return { db, seed, payoutId, handle };
  }

  it('awaits a decision until one minute before the deadline, then lapses: credited back once, managers emailed', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, payoutId, handle } = await startPayout(taskQueue, 2_500, 4_000);
      assert.equal((await handle.executeUpdate(payoutReservationUpdate)).status, 'reserved');
      assert.equal(await balanceOf(db, seed.org.id, 'CHF'), 1_500);
      await suite.env.sleep(PREPAID_PAYOUT_DECISION_TIMEOUT_MS - 60_000);
      assert.equal((await handle.query(payoutStatusQuery)).state, 'awaiting_approval');
      await suite.env.sleep(60_000);
      assert.deepEqual(await handle.result(), { payoutId, status: 'expired' });
      assert.equal((await findPayout(db, payoutId))!.status, 'expired');
      assert.equal(await balanceOf(db, seed.org.id, 'CHF'), 4_000);
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /not made/.test(m.subject));
      assert.match(mail.text, /not reviewed within 14 days/);
      // A decision after the lapse is refused.
      await assert.rejects(handle.executeUpdate(decidePayoutUpdate, { args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'late' }] }));
    });
  });

  it('refuses a payout beyond the balance at the reservation, nothing debited', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, payoutId, handle } = await startPayout(taskQueue, 5_000, 4_000);
      assert.deepEqual(await handle.executeUpdate(payoutReservationUpdate), { status: 'refused', reason: 'insufficient-prepaid-balance' });
      assert.deepEqual(await handle.result(), { payoutId, status: 'refused' });
      assert.equal(await balanceOf(db, seed.org.id, 'CHF'), 4_000);
    });
  });

  it('a payout the provider refuses after approval is credited back', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db, seed, payoutId, handle } = await startPayout(taskQueue, 1_000, 1_000);
      await db.updateTable('prepaid_payouts').set({ holder: 'refused-payout AG' }).where('id', '=', payoutId).execute();
      await handle.executeUpdate(payoutReservationUpdate);
      await handle.executeUpdate(decidePayoutUpdate, { args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'ok' }] });
      assert.deepEqual(await handle.result(), { payoutId, status: 'failed' });
      assert.equal(await balanceOf(db, seed.org.id, 'CHF'), 1_000);
    });
  });
});
