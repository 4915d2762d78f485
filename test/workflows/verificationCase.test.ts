import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { findCase } from '../../db/repositories/verification';
import { VERIFICATION_CODE_MAX_WRONG, VERIFICATION_CODE_VALIDITY_MS, VERIFICATION_DOCUMENTS_PURGE_MS } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import {
  confirmCodeUpdate,
  decideUpdate,
  documentUpdate,
  geolocationUpdate,
  manualVerificationUpdate,
  selfieUpdate,
  statusQuery,
  caseIdOf,
  submitPhoneUpdate,
  verificationWorkflowId,
  type DocumentKind,
  type Position,
  type VerificationResult,
} from '../../workflows/shared/verification';
import { database, seedOrganization, smtpCapture, timeSkippingSuite } from '../support/fixtures';
import { linkTokenFor, sealedPhone, sealedPosition, smsCodeFor, storeTestDocuments, uniquePhone } from '../support/verification';
import { testWorker } from '../support/worker';

const HOUR = 3_600_000;

describe('verificationCase workflow (time-skipping)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite();
  const { opened } = suite;

  async function openCase(taskQueue: string, opts: { parent?: boolean } = {}) {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const caseId = randomUUID();
    const input = { accountId: seed.legalRep.id, reason: 'blocked_order' as const, subject: { type: 'order', id: randomUUID() } };
    const parent = opts.parent
      ? await suite.client.workflow.start('verificationParent', { workflowId: `test-parent:${caseId}`, taskQueue, args: [{ ...input, caseId }] })
      : undefined;
    const handle = parent
      ? suite.client.workflow.getHandle(verificationWorkflowId(caseId))
      : await suite.client.workflow.start('verificationCase', { workflowId: verificationWorkflowId(caseId), taskQueue, args: [input] });
    opened.push(...(parent ? [parent] : []), handle);
    const token = await linkTokenFor(seed.legalRep.login_email);
    // Queries wait for pending workflow tasks: nothing is left outstanding when a test ends early.
    await handle.query(statusQuery);
    if (parent) await parent.query('__stack_trace');
    return { seed, caseId, handle, parent, token, email: seed.legalRep.login_email };
  }

  const storeImages = async (caseId: string, kinds: DocumentKind[]) => storeTestDocuments((await database()).db, caseId, kinds);
  // The phone and the position reach the workflow sealed, as the API hands them over.
  const phoneArg = async (handle: WorkflowHandle, phone: string) => sealedPhone((await database()).db, caseIdOf(handle.workflowId), phone);
  const positionArg = async (handle: WorkflowHandle, position: Position) => sealedPosition((await database()).db, caseIdOf(handle.workflowId), position);

  async function passPhone(handle: WorkflowHandle, phone = uniquePhone()) {
    await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
    const code = await smsCodeFor(phone);
    const confirmed = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code }] });
    assert.equal(confirmed.result, 'confirmed');
    await handle.executeUpdate(geolocationUpdate, { args: [await positionArg(handle, { latitude: 47.37, longitude: 8.54, accuracyMeters: 20 })] });
  }

  async function submitDocuments(handle: WorkflowHandle, caseId: string) {
    const card = await storeImages(caseId, ['id_card_front', 'id_card_back']);
    await handle.executeUpdate(documentUpdate, { args: [{ type: 'id_card', documentIds: card }] });
    const [selfie] = await storeImages(caseId, ['selfie']);
    const status = await handle.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] });
    assert.equal(status.step, 'review');
  }

  const caseRow = async (caseId: string) => (await findCase((await database()).db, caseId))!;
  const documentCount = async (caseId: string) =>
    Number(
      (
        await (
          await database()
        ).db
          .selectFrom('verification_documents')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('case_id', '=', caseId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const evidenceCount = async (caseId: string) =>
    Number(
      (
        await (
          await database()
        ).db
          .selectFrom('verification_evidence')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('case_id', '=', caseId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const claim = async (caseId: string, agentId: string) =>
    (await database()).db.updateTable('verification_cases').set({ assigned_agent_id: agentId, claimed_at: new Date() }).where('id', '=', caseId).execute();

  async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure);
      return err.cause.type ?? undefined;
    }
    assert.fail('the update was accepted');
  }

  it('accepts the SMS code until 10 minutes have passed, then refuses it as expired; a new code works', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle } = await openCase(taskQueue);
      const phone = uniquePhone();
      const seen = new Set<string>();
      await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
      const code = await smsCodeFor(phone, seen);

      await suite.env.sleep(VERIFICATION_CODE_VALIDITY_MS - 60_000);
      const wrong = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code: code === '000000' ? '111111' : '000000' }] });
      assert.equal(wrong.result, 'wrong', 'still valid one minute before expiry');

      await suite.env.sleep(60_000);
      const late = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code }] });
      assert.equal(late.result, 'expired');
      assert.equal(late.status.step, 'phone_confirm');

      await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
      const fresh = await smsCodeFor(phone, seen);
      assert.equal((await handle.executeUpdate(confirmCodeUpdate, { args: [{ code: fresh }] })).result, 'confirmed');
      assert.equal((await handle.query(statusQuery)).step, 'geolocation');
    });
  });

  it('restarts the phone step after 5 wrong codes, and the old code no longer works', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle } = await openCase(taskQueue);
      const phone = uniquePhone();
      await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
      const code = await smsCodeFor(phone);
      const wrongCode = code === '999999' ? '999998' : '999999';
      for (let i = 1; i < VERIFICATION_CODE_MAX_WRONG; i++) {
        const r = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code: wrongCode }] });
        assert.equal(r.result, 'wrong');
        assert.equal(r.status.codeAttemptsLeft, VERIFICATION_CODE_MAX_WRONG - i);
      }
      const last = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code: wrongCode }] });
      assert.equal(last.result, 'too_many_attempts');
      assert.equal(last.status.step, 'phone');
      assert.equal(await rejection(handle.executeUpdate(confirmCodeUpdate, { args: [{ code }] })), FailureType.StepOutOfOrder);
    });
  });

  it('sends at most 3 confirmation SMS per hour', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle } = await openCase(taskQueue);
      const phone = uniquePhone();
      for (let i = 0; i < 3; i++) await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
      assert.equal(await rejection(handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] })), FailureType.SmsLimitReached);
      await suite.env.sleep(HOUR);
      const status = await handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(handle, phone)] });
      assert.equal(status.smsSendsLeft, 2);
    });
  });

  it('refuses steps out of order and repeated steps in the validator', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId } = await openCase(taskQueue);
      const position = { latitude: 1, longitude: 2, accuracyMeters: 3 };
      assert.equal(await rejection(handle.executeUpdate(geolocationUpdate, { args: [await positionArg(handle, position)] })), FailureType.StepOutOfOrder);
      await passPhone(handle);
      assert.equal(
        await rejection(handle.executeUpdate(geolocationUpdate, { args: [await positionArg(handle, position)] })),
        FailureType.StepOutOfOrder,
        'geolocation twice',
      );
      const [selfie] = await storeImages(caseId, ['selfie']);
      assert.equal(
        await rejection(handle.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] })),
        FailureType.StepOutOfOrder,
        'selfie before document',
      );
      const [front] = await storeImages(caseId, ['id_card_front']);
      assert.equal(
        await rejection(handle.executeUpdate(documentUpdate, { args: [{ type: 'id_card', documentIds: [front!] }] })),
        FailureType.InvalidDocuments,
        'id card without its back',
      );
      assert.equal((await handle.query(statusQuery)).step, 'document');
    });
  });

  it('expires a case not decided 72 hours after its phone step: documents deleted, customer told to start again', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, email, parent } = await openCase(taskQueue, { parent: true });
      await passPhone(handle);
      // The clock started with the phone number, not with the documents (issue 14, item 6).
      await suite.env.sleep(10 * HOUR);
      await submitDocuments(handle, caseId);
      assert.equal(await documentCount(caseId), 3);

      await suite.env.sleep(VERIFICATION_DOCUMENTS_PURGE_MS - 10 * HOUR - 60_000);
      assert.equal((await caseRow(caseId)).status, 'submitted');
      assert.equal(await documentCount(caseId), 3);

      await suite.env.sleep(60_000);
      assert.deepEqual(await parent!.result(), { caseId, outcome: 'expired' } satisfies VerificationResult);
      const row = await caseRow(caseId);
      assert.equal(row.status, 'expired');
      assert.equal(await documentCount(caseId), 0);
      assert.equal(row.data_key_wrapped, null, 'the case key is erased with the documents');
      assert.equal(await evidenceCount(caseId), 0);
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(email) && /has expired/.test(m.subject));
      assert.match(mail.text, /start the procedure again/);
    });
  });

  it('erases the phone number and the position 72 hours after the phone step when no document came (issue 14, item 6)', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, parent } = await openCase(taskQueue, { parent: true });
      const phone = uniquePhone();
      await passPhone(handle, phone);
      assert.equal(await evidenceCount(caseId), 2, 'the number and the position, sealed');

      await suite.env.sleep(VERIFICATION_DOCUMENTS_PURGE_MS - 60_000);
      assert.equal((await caseRow(caseId)).status, 'awaiting_customer');
      assert.equal(await evidenceCount(caseId), 2);

      await suite.env.sleep(60_000);
      assert.deepEqual(await parent!.result(), { caseId, outcome: 'expired' } satisfies VerificationResult);
      const row = await caseRow(caseId);
      assert.equal(row.status, 'expired');
      assert.equal(await evidenceCount(caseId), 0, 'phone and position erased');
      assert.equal(row.data_key_wrapped, null);
      assert.equal(row.phone_code_hash, null);
      assert.equal(row.link_token_hash, null);
      const outbox = await (
        await database()
      ).db
        .selectFrom('notification_outbox')
        .select(['recipient', 'body'])
        .where('key', 'like', `verification:${caseId}:%`)
        .execute();
      assert.ok(
        outbox.some((m) => /code/.test(m.body)),
        'the code SMS is in the outbox',
      );
      assert.ok(
        outbox.every((m) => !m.recipient.includes(phone.slice(1)) && !m.body.includes(phone.slice(1))),
        'no number left in the outbox',
      );
    });
  });

  it('marks a case overdue 2 business hours after submission and emails the supervisors once; the decision then reaches the parent', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, seed, parent } = await openCase(taskQueue, { parent: true });
      await passPhone(handle);
      await submitDocuments(handle, caseId);
      const smtp = await smtpCapture();
      const escalations = () => smtp.messages().filter((m) => m.to.includes('supervisors@support.test') && m.text.includes(caseId));

      await suite.env.sleep(2 * HOUR - 60_000);
      assert.equal((await caseRow(caseId)).overdue_at, null);
      assert.equal(escalations().length, 0);

      await suite.env.sleep(60_000);
      await smtp.waitFor((m) => m.to.includes('supervisors@support.test') && m.text.includes(caseId));
      assert.ok((await caseRow(caseId)).overdue_at);
      await suite.env.sleep(5 * HOUR);
      assert.equal(escalations().length, 1, 'escalated once');

      await claim(caseId, seed.agent.id);
      await handle.executeUpdate(decideUpdate, { args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'document and selfie match' }] });
      assert.deepEqual(await parent!.result(), { caseId, outcome: 'approved' });
      const row = await caseRow(caseId);
      assert.equal(row.status, 'approved');
      assert.equal(row.decided_by, `agent:${seed.agent.id}`);
      assert.equal(await documentCount(caseId), 0, 'documents deleted as soon as the case is decided');
      const audit = await (
        await database()
      ).db
        .selectFrom('audit_log')
        .select(['actor_id', 'action', 'details'])
        .where('subject_id', '=', caseId)
        .where('action', '=', 'verification.decided')
        .execute();
      assert.deepEqual(
        audit.map((a) => [a.actor_id, a.details.decision]),
        [[seed.agent.id, 'approve']],
      );
    });
  });

  it('sends the customer back to the document step on resubmission, with a new link and the reason', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, seed, token, email } = await openCase(taskQueue);
      await passPhone(handle);
      await submitDocuments(handle, caseId);
      await claim(caseId, seed.agent.id);

      const status = await handle.executeUpdate(decideUpdate, {
        args: [{ agentId: seed.agent.id, decision: 'request_resubmission', reason: 'The back of the card is blurred' }],
      });
      assert.equal(status.step, 'document');
      assert.equal(status.round, 2);
      const row = await caseRow(caseId);
      assert.equal(row.status, 'awaiting_customer');
      assert.equal(row.assigned_agent_id, null);
      assert.equal(await documentCount(caseId), 0);

      const newToken = await linkTokenFor(email, [token]);
      assert.notEqual(newToken, token);
      const mail = (await smtpCapture()).messages().find((m) => m.text.includes(newToken))!;
      assert.match(mail.text, /The back of the card is blurred/);

      await submitDocuments(handle, caseId);
      assert.equal((await caseRow(caseId)).status, 'submitted');
      assert.equal((await caseRow(caseId)).round, 2);
      await claim(caseId, seed.otherAgent.id);
      await handle.executeUpdate(decideUpdate, { args: [{ agentId: seed.otherAgent.id, decision: 'reject', reason: 'selfie does not match' }] });
      assert.deepEqual(await handle.result(), { caseId, outcome: 'rejected' });
    });
  });

  it('refuses a decision from an agent who has not claimed the case', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, seed } = await openCase(taskQueue);
      await passPhone(handle);
      await submitDocuments(handle, caseId);
      await claim(caseId, seed.agent.id);
      const err = await handle
        .executeUpdate(decideUpdate, { args: [{ agentId: seed.otherAgent.id, decision: 'approve', reason: 'x' }] })
        .catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowUpdateFailedError);
      assert.equal((await handle.query(statusQuery)).step, 'review', 'the case is still open');
      assert.equal(await documentCount(caseId), 3);
    });
  });

  it('records a manual verification for a customer without a phone, with the same outcome for the parent', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, seed, parent } = await openCase(taskQueue, { parent: true });
      await handle.executeUpdate(manualVerificationUpdate, {
        args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'passport checked at the counter' }],
      });
      assert.deepEqual(await parent!.result(), { caseId, outcome: 'approved' });
      const row = await caseRow(caseId);
      assert.equal(row.manual, true);
      assert.equal(row.decision_reason, 'passport checked at the counter');
    });
  });

  it('erases the evidence when the parent is cancelled', async () => {
    const { worker, taskQueue } = await testWorker(suite.env);
    await worker.runUntil(async () => {
      const { handle, caseId, parent } = await openCase(taskQueue, { parent: true });
      await passPhone(handle);
      const card = await storeImages(caseId, ['id_card_front', 'id_card_back']);
      await handle.executeUpdate(documentUpdate, { args: [{ type: 'id_card', documentIds: card }] });
      await parent!.cancel();
      await assert.rejects(parent!.result(), WorkflowFailedError);
      await assert.rejects(handle.result(), WorkflowFailedError);
      const row = await caseRow(caseId);
      assert.equal(row.status, 'cancelled');
      assert.equal(await documentCount(caseId), 0);
      assert.equal(await evidenceCount(caseId), 0);
    });
  });

  it('survives a worker restart in the middle of the customer steps', async () => {
    const taskQueue = `test-${randomUUID()}`;
    const first = await testWorker(suite.env, taskQueue, { maxCachedWorkflows: 0 });
    const phone = uniquePhone();
    const opening = await first.worker.runUntil(async () => {
      const o = await openCase(taskQueue);
      await o.handle.executeUpdate(submitPhoneUpdate, { args: [await phoneArg(o.handle, phone)] });
      return o;
    });
    const code = await smsCodeFor(phone);
    const second = await testWorker(suite.env, taskQueue);
    await second.worker.runUntil(async () => {
      assert.equal((await opening.handle.executeUpdate(confirmCodeUpdate, { args: [{ code }] })).result, 'confirmed');
      await opening.handle.executeUpdate(geolocationUpdate, { args: [await positionArg(opening.handle, { latitude: 0, longitude: 0, accuracyMeters: 5 })] });
      await submitDocuments(opening.handle, opening.caseId);
      assert.equal((await caseRow(opening.caseId)).status, 'submitted');
    });
  });
});
