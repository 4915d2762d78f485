import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { INVITATION_LINK_VALIDITY_MS, INVITATION_MAX_RESENDS, INVITATION_RESEND_MIN_INTERVAL_MS } from '../../lib/rules';
import { acceptInvitationUpdate, invitationStatusQuery, invitationWorkflowId, resendInvitationUpdate } from '../../workflows/shared/invitation';
import { partnerInvitationWorkflowId, resendClientInvitationUpdate } from '../../workflows/shared/partners';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { testWorker } from '../support/worker';

describe('memberInvitation and partnerInvitation workflows (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();
  const LINK = /\/invitations\/([A-Za-z0-9_-]{43})\b/;

  async function invite(taskQueue: string) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const id = randomUUID();
    const email = `invitee-${id.slice(0, 8)}@customer.test`;
    await db
      .insertInto('organization_invitations')
      .values({
        id,
        organization_id: seed.org.id,
        invited_by: seed.admin.id,
        email,
        role: 'collaborator',
        product_ids: [],
        contact_preferences: '{}',
        token_hash: null,
        sent_at: null,
        expires_at: new Date(Date.now() + INVITATION_LINK_VALIDITY_MS),
        accepted_by: null,
      })
      .execute();
    const handle = await suite.client.workflow.start('memberInvitation', { workflowId: invitationWorkflowId(id), taskQueue, args: [{ invitationId: id }] });
    suite.opened.push(handle);
    await (await smtpCapture()).waitFor((m) => m.to.includes(email) && LINK.test(m.text));
    await handle.query(invitationStatusQuery);
    return { db, seed, id, email, handle };
  }
  const row = async (id: string) => (await database()).db.selectFrom('organization_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError, 'refused');
    return (err.cause as { type?: string }).type;
  };

  it('expires 30 days after the last link was sent, and tells the inviter', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { id, seed, handle } = await invite(taskQueue);
      await suite.env.sleep(INVITATION_LINK_VALIDITY_MS - 60_000);
      assert.equal((await handle.query(invitationStatusQuery)).state, 'pending');
      await suite.env.sleep(120_000);
      assert.equal((await handle.result()).state, 'expired');
      const r = await row(id);
      assert.deepEqual([r.status, r.token_hash], ['expired', null]);
      await (await smtpCapture()).waitFor((m) => m.to.includes(seed.admin.login_email) && /expired/.test(m.subject));
    });
  });

  it('sends again at most 3 times, an hour apart; each new link replaces the last and restarts the 30 days', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { id, email, seed, handle } = await invite(taskQueue);
      const resend = () => handle.executeUpdate(resendInvitationUpdate, { args: [{ actor: 'customer:test' }] });
      assert.equal(await refusal(resend()), 'ResendLimitReached', 'not within the hour');
      for (let n = 1; n <= INVITATION_MAX_RESENDS; n += 1) {
        await suite.env.sleep(INVITATION_RESEND_MIN_INTERVAL_MS);
        assert.equal((await resend()).resends, n);
      }
      await suite.env.sleep(INVITATION_RESEND_MIN_INTERVAL_MS);
      assert.equal(await refusal(resend()), 'ResendLimitReached', 'the fourth resend is refused');
      const r = await row(id);
      assert.equal(r.sends, 1 + INVITATION_MAX_RESENDS);
      const links = (await smtpCapture()).messages().filter((m) => m.to.includes(email) && LINK.test(m.text));
      assert.equal(links.length, 1 + INVITATION_MAX_RESENDS);
      // The 30 days count from the last link: still pending 29 days later.
      await suite.env.sleep(INVITATION_LINK_VALIDITY_MS - 24 * 3_600_000);
      assert.equal((await handle.query(invitationStatusQuery)).state, 'pending');
      await handle.executeUpdate(acceptInvitationUpdate, { args: [{ accountId: seed.outsider.id }] });
      assert.equal((await handle.result()).state, 'accepted');
      const m = await (
        await database()
      ).db
        .selectFrom('memberships')
        .select('role')
        .where('organization_id', '=', seed.org.id)
        .where('account_id', '=', seed.outsider.id)
        .executeTakeFirstOrThrow();
      assert.equal(m.role, 'collaborator');
      assert.equal((await row(id)).status, 'accepted');
    });
  });

  it("expires a partner's client invitation after 30 days, refusing early resends, and tells the partner", async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { db } = await database();
      const partner = await seedOrganization(db);
      const id = randomUUID();
      const email = `client-${id.slice(0, 8)}@customer.test`;
      await db
        .insertInto('client_invitations')
        .values({
          id,
          partner_organization_id: partner.org.id,
          invited_by: partner.legalRep.id,
          client_email: email,
          requested: JSON.stringify({ access: 'full', billing: 'client' }),
          granted: null,
          client_organization_id: null,
          token_hash: null,
          sent_at: null,
          expires_at: new Date(Date.now() + INVITATION_LINK_VALIDITY_MS),
        })
        .execute();
      const handle = await suite.client.workflow.start('partnerInvitation', {
        workflowId: partnerInvitationWorkflowId(id),
        taskQueue,
        args: [{ invitationId: id }],
      });
      suite.opened.push(handle);
      await (await smtpCapture()).waitFor((m) => m.to.includes(email) && /client-invitations\/[\w-]{43}\b/.test(m.text));
      assert.equal(await refusal(handle.executeUpdate(resendClientInvitationUpdate, { args: [{ actor: 'customer:test' }] })), 'ResendLimitReached');
      await suite.env.sleep(INVITATION_LINK_VALIDITY_MS + 60_000);
      assert.equal((await handle.result()).state, 'expired');
      assert.equal((await db.selectFrom('client_invitations').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status, 'expired');
      await (await smtpCapture()).waitFor((m) => m.to.includes(partner.legalRep.login_email) && /client invitation expired/.test(m.subject));
    });
  });
});
