import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { REDACTED } from '../../db/repositories/outbox';
import { EncryptionCodec } from '../../temporal/codec';
import { verificationWorkflowId } from '../../workflows/shared/verification';
import { fixtureKeyring, smsSink, smtpCapture } from '../support/fixtures';
import { apiSuite, assertProblem } from '../support/api';
import { linkTokenFor, openCase, openSubmittedCase, passPhoneAndPosition, sendDocuments, smsCodeFor, testImage, uniquePhone } from '../support/verification';

describe('verification API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  const documentCount = async (caseId: string) =>
    Number(
      (
        await suite.api.db
          .selectFrom('verification_documents')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('case_id', '=', caseId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const evidenceRows = async (caseId: string) =>
    suite.api.db.selectFrom('verification_evidence').select(['id', 'kind', 'attached']).where('case_id', '=', caseId).orderBy('created_at').execute();

  /** Every payload of the workflow's history decrypted with the workers' key, as text. */
  async function historyInClear(handle: WorkflowHandle): Promise<string> {
    const codec = new EncryptionCodec(fixtureKeyring());
    const parts: string[] = [];
    const walk = async (node: unknown): Promise<void> => {
      if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
      const candidate = node as Payload;
      if (candidate.data instanceof Uint8Array && candidate.metadata) {
        const [plain] = await codec.decode([candidate]);
        parts.push(Buffer.from(plain!.data ?? []).toString('utf8'));
        return;
      }
      for (const value of Object.values(node)) await walk(value);
    };
    await walk(await handle.fetchHistory());
    return parts.join('\n');
  }

  describe('the customer’s link', () => {
    it('walks every step with the link from the email and the code from the SMS, then stops working', async () => {
      const { caseId, token } = await openCase(suite.api, suite.seed.legalRep.id);
      const progress = await suite.api.call('GET', `/v1/verification/${token}`);
      assert.equal(progress.status, 200);
      assert.deepEqual({ reason: progress.json.reason, step: progress.json.step }, { reason: 'account_unblock', step: 'phone' });

      const qr = await fetch(`${suite.api.base}/v1/verification/${token}/qr.png`);
      assert.equal(qr.status, 200);
      assert.equal(qr.headers.get('content-type'), 'image/png');
      assert.deepEqual([...Buffer.from(await qr.arrayBuffer()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);

      const phone = uniquePhone();
      const sent = await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } });
      assert.equal(sent.json.step, 'phone_confirm');
      // Delivered through the twilio client to the local Messages API peer.
      const sms = await (await smsSink()).waitFor((m) => m.to === phone);
      assert.match(sms.body, /^Your identity verification code is \d{6}\. It expires in 10 minutes/);
      const code = /(\d{6})/.exec(sms.body)![1]!;
      const outboxRow = await suite.api.db
        .selectFrom('notification_outbox')
        .select('body')
        .where('key', '=', `verification:${caseId}:code:1`)
        .executeTakeFirstOrThrow();
      assert.ok(!outboxRow.body.includes(code), 'the sent code is redacted from the outbox');

      assert.equal((await suite.api.call('POST', `/v1/verification/${token}/phone/confirm`, { body: { code } })).json.step, 'geolocation');
      assert.equal(
        (await suite.api.call('POST', `/v1/verification/${token}/geolocation`, { body: { latitude: 46.2, longitude: 6.1, accuracyMeters: 30 } })).json.step,
        'document',
      );
      await sendDocuments(suite.api, token, 'walk');

      const row = await suite.api.db
        .selectFrom('verification_cases')
        .select(['status', 'submitted_at', 'due_at', 'link_token_hash'])
        .where('id', '=', caseId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'submitted');
      assert.equal(row.due_at!.getTime() - row.submitted_at!.getTime(), 2 * 3_600_000, 'due 2 business hours later (round-the-clock test calendar)');
      assert.equal(row.link_token_hash, null);
      assertProblem(await suite.api.call('GET', `/v1/verification/${token}`), 404, 'verification-link-invalid');
    });

    it('answers 400 for malformed input, 409 for steps out of order or repeated, and keeps nothing it refused', async () => {
      const { caseId, token } = await openCase(suite.api, suite.seed.legalRep.id);
      assertProblem(await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone: '0791234567' } }), 400, 'validation-failed');
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${token}/geolocation`, { body: { latitude: 1, longitude: 1, accuracyMeters: 1 } }),
        409,
        'verification-step-out-of-order',
      );
      assert.deepEqual(await evidenceRows(caseId), [], 'a refused position is not kept');
      assertProblem(await suite.api.call('POST', `/v1/verification/not-a-token/phone`, { body: { phone: '+41791234567' } }), 400, 'validation-failed');
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${'A'.repeat(43)}/phone`, { body: { phone: '+41791234567' } }),
        404,
        'verification-link-invalid',
      );

      await passPhoneAndPosition(suite.api, token);
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${token}/geolocation`, { body: { latitude: 1, longitude: 1, accuracyMeters: 1 } }),
        409,
        'verification-step-out-of-order',
      );
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${token}/selfie`, { body: { image: await testImage('early') } }),
        409,
        'verification-step-out-of-order',
      );
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'id_card', images: [await testImage('one side')] } }),
        400,
        'validation-failed',
      );

      const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1').toString('base64');
      const bad = await suite.api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'passport', images: [gif] } });
      assertProblem(bad, 422, 'invalid-image');
      assert.equal(bad.json.pointer, '/images/0');
      const huge = Buffer.alloc(10 * 1024 * 1024 + 1, 0);
      Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(huge);
      assertProblem(
        await suite.api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'passport', images: [huge.toString('base64')] } }),
        422,
        'invalid-image',
      );
      assert.equal(await documentCount(caseId), 0, 'refused images are not kept');

      // A JPEG is recognised by its content whatever it is called.
      const jpeg = Buffer.concat([Buffer.from('ffd8ffe000104a46494600', 'hex'), Buffer.alloc(64, 1), Buffer.from('ffd9', 'hex')]).toString('base64');
      const passport = await suite.api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'passport', images: [jpeg] } });
      assert.equal(passport.status, 200, passport.text);
      assert.equal(passport.json.step, 'selfie');
    });

    it('hands the workflow only ids of the sealed phone and position: its history holds neither, even decrypted (issue 14, item 6)', async () => {
      const { caseId, token } = await openCase(suite.api, suite.seed.legalRep.id);
      const phone = uniquePhone();
      const position = { latitude: 46.517_234, longitude: 6.632_871, accuracyMeters: 17.25 };
      assert.equal((await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } })).status, 200);
      const code = await smsCodeFor(phone);
      assert.equal((await suite.api.call('POST', `/v1/verification/${token}/phone/confirm`, { body: { code } })).status, 200);
      assert.equal((await suite.api.call('POST', `/v1/verification/${token}/geolocation`, { body: position })).status, 200);

      const rows = await evidenceRows(caseId);
      assert.deepEqual(
        rows.map((r) => [r.kind, r.attached]),
        [
          ['phone', true],
          ['position', true],
        ],
      );
      const history = await historyInClear(suite.api.client.workflow.getHandle(verificationWorkflowId(caseId)));
      // Control: the decrypted payloads are readable, and the references are in them.
      assert.ok(history.includes(suite.seed.legalRep.id), 'the decrypted history holds the account id');
      for (const r of rows) assert.ok(history.includes(r.id), `the history holds the ${r.kind} reference`);
      for (const needle of [phone, phone.slice(1), phone.slice(-7), '46.517234', '6.632871', '17.25']) {
        assert.ok(!history.includes(needle), `the history holds ${needle}`);
      }
    });

    it('keeps no phone number in the outbox row of a delivered code SMS (issue 14, item 6)', async () => {
      const { caseId, token } = await openCase(suite.api, suite.seed.legalRep.id);
      const phone = uniquePhone();
      assert.equal((await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } })).status, 200);
      await smsCodeFor(phone);
      const row = await suite.api.db.selectFrom('notification_outbox').selectAll().where('key', '=', `verification:${caseId}:code:1`).executeTakeFirstOrThrow();
      assert.equal(row.status, 'sent');
      assert.equal(row.recipient, REDACTED);
      assert.ok(!JSON.stringify(row).includes(phone.slice(1)), 'no column holds the number');
      assert.match(row.provider_message_id ?? '', /^SM/, 'the provider’s message id is kept for troubleshooting');
    });

    it('refuses a wrong code with the attempts left', async () => {
      const { token } = await openCase(suite.api, suite.seed.legalRep.id);
      const phone = uniquePhone();
      await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } });
      const code = await smsCodeFor(phone);
      const wrong = await suite.api.call('POST', `/v1/verification/${token}/phone/confirm`, { body: { code: code === '123456' ? '654321' : '123456' } });
      assertProblem(wrong, 422, 'verification-code-rejected');
      assert.equal(wrong.json.result, 'wrong');
      assert.equal(wrong.json.progress.codeAttemptsLeft, 4);
    });

    it('answers 422 for a number that cannot receive SMS, and 429 once 3 SMS were sent in the hour', async () => {
      const { token } = await openCase(suite.api, suite.seed.legalRep.id);
      // Valid E.164 for us, refused by the Messages API (error 21211): a permanent failure.
      const refused = await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone: '+1234567' } });
      assertProblem(refused, 422, 'phone-undeliverable');
      assert.equal((await suite.api.call('GET', `/v1/verification/${token}`)).json.step, 'phone', 'still at the phone step');
      const phone = uniquePhone();
      for (let i = 0; i < 2; i++) assert.equal((await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } })).status, 200);
      assertProblem(await suite.api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } }), 429, 'sms-limit-reached');
    });

    it('re-issuing the link invalidates the previous one', async () => {
      const { caseId, token, email } = await openCase(suite.api, suite.seed.legalRep.id);
      const res = await suite.api.call('POST', `/v1/verification-cases/${caseId}/link`, { token: suite.tokens.agent });
      assert.equal(res.status, 200, res.text);
      const fresh = await linkTokenFor(email, [token]);
      assertProblem(await suite.api.call('GET', `/v1/verification/${token}`), 404, 'verification-link-invalid');
      assert.equal((await suite.api.call('GET', `/v1/verification/${fresh}`)).status, 200);
      assertProblem(await suite.api.call('POST', `/v1/verification-cases/${caseId}/link`, { token: suite.tokens.legalRep }), 403, 'forbidden');
    });
  });

  describe('the review queue', () => {
    it('lists submitted cases by due time, and only to agents and the system', async () => {
      const first = await openSubmittedCase(suite.api, suite.seed.legalRep.id);
      const second = await openSubmittedCase(suite.api, suite.seed.admin.id);
      const res = await suite.api.call('GET', '/v1/verification-cases?status=submitted&assignee=unassigned&limit=200', { token: suite.tokens.agent });
      assert.equal(res.status, 200);
      const ids = res.json.items.map((c: { id: string }) => c.id);
      assert.ok(ids.indexOf(first.caseId) >= 0 && ids.indexOf(first.caseId) < ids.indexOf(second.caseId), 'the older submission comes first');
      const dues = res.json.items.map((c: { dueAt: string }) => Date.parse(c.dueAt));
      assert.deepEqual(
        dues,
        [...dues].sort((a, b) => a - b),
      );
      const item = res.json.items.find((c: { id: string }) => c.id === first.caseId);
      assert.equal(item.documents.length, 3);
      assertProblem(await suite.api.call('GET', '/v1/verification-cases', { token: suite.tokens.legalRep }), 403, 'forbidden');
      assertProblem(await suite.api.call('GET', '/v1/verification-cases?assignee=someone', { token: suite.tokens.agent }), 400, 'validation-failed');
    });

    it('lets exactly one of two agents claiming at once win; the claim can be released', async () => {
      const { caseId } = await openSubmittedCase(suite.api, suite.seed.legalRep.id);
      const [a, b] = await Promise.all([
        suite.api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: suite.tokens.agent }),
        suite.api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: suite.tokens.otherAgent }),
      ]);
      assert.deepEqual([a.status, b.status].sort(), [200, 409]);
      const [winner, loser] = a.status === 200 ? [suite.tokens.agent, suite.tokens.otherAgent] : [suite.tokens.otherAgent, suite.tokens.agent];
      assertProblem(a.status === 409 ? a : b, 409, 'case-already-claimed');

      assertProblem(await suite.api.call('DELETE', `/v1/verification-cases/${caseId}/claim`, { token: loser }), 403, 'not-case-assignee');
      assert.equal((await suite.api.call('DELETE', `/v1/verification-cases/${caseId}/claim`, { token: winner })).json.assigneeId, null);
      assert.equal((await suite.api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: loser })).status, 200);
    });

    it('shows documents only to the assignee while the case is under review; a customer or another agent cannot read or decide', async () => {
      const { caseId, documentIds } = await openSubmittedCase(suite.api, suite.seed.legalRep.id);
      const docPath = `/v1/verification-cases/${caseId}/documents/${documentIds[0]}`;
      assertProblem(await suite.api.call('GET', docPath, { token: suite.tokens.agent }), 403, 'not-case-assignee');
      await suite.api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: suite.tokens.agent });

      const image = await fetch(suite.api.base + docPath, { headers: { authorization: `Bearer ${suite.tokens.agent}` } });
      assert.equal(image.status, 200);
      assert.equal(image.headers.get('content-type'), 'image/png');
      assert.equal(Buffer.from(await image.arrayBuffer()).toString('base64'), await testImage(`${caseId} front`), 'the very bytes the customer sent');
      const stored = await suite.api.db.selectFrom('verification_documents').select('sealed').where('id', '=', documentIds[0]!).executeTakeFirstOrThrow();
      assert.ok(!stored.sealed.includes(Buffer.from(await testImage(`${caseId} front`), 'base64').subarray(40, 80)), 'stored encrypted');

      assertProblem(await suite.api.call('GET', docPath, { token: suite.tokens.otherAgent }), 403, 'not-case-assignee');
      assertProblem(await suite.api.call('GET', docPath, { token: suite.tokens.legalRep }), 403, 'forbidden');
      assertProblem(
        await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
          token: suite.tokens.otherAgent,
          body: { decision: 'approve', reason: 'ok' },
        }),
        403,
        'not-case-assignee',
      );
      assertProblem(
        await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
          token: suite.tokens.legalRep,
          body: { decision: 'approve', reason: 'ok' },
        }),
        403,
        'forbidden',
      );
      assertProblem(
        await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, { token: suite.tokens.agent, body: { decision: 'approve' } }),
        400,
        'validation-failed',
      );

      const decided = await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
        token: suite.tokens.agent,
        body: { decision: 'approve', reason: 'matches' },
      });
      assert.equal(decided.status, 200, decided.text);
      assert.equal(decided.json.status, 'approved');
      assert.deepEqual(decided.json.documents, []);
      assertProblem(await suite.api.call('GET', docPath, { token: suite.tokens.agent }), 403, 'not-case-assignee');
      assertProblem(
        await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, { token: suite.tokens.agent, body: { decision: 'reject', reason: 'again' } }),
        409,
        'verification-closed',
      );

      const views = await suite.api.db
        .selectFrom('audit_log')
        .select(['actor_id', 'decision'])
        .where('subject_id', '=', caseId)
        .where('action', '=', 'verification.document_viewed')
        .execute();
      assert.deepEqual(views.map((v) => v.decision).sort(), ['allowed', 'denied', 'denied', 'denied']);
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && /has been verified/.test(m.subject));
      assert.ok(mail);
    });

    it('records a manual verification opened by an agent', async () => {
      // Not a 2FA or unlock case: those are approved only on reviewed documents (test/api/fourEyes.test.ts).
      const opened = await suite.api.call('POST', '/v1/verification-cases', {
        token: suite.tokens.agent,
        body: { accountId: suite.seed.collaborator.id, reason: 'ticketing_first_payout' },
      });
      assert.equal(opened.status, 201, opened.text);
      assert.equal(opened.json.status, 'awaiting_customer');
      const res = await suite.api.call('POST', `/v1/verification-cases/${opened.json.id}/manual-verification`, {
        token: suite.tokens.agent,
        body: { decision: 'approve', reason: 'ID checked by video call' },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual([res.json.status, res.json.manual, res.json.decidedBy], ['approved', true, `agent:${suite.seed.agent.id}`]);
      // Decided at once, maybe before its link was issued: the process still ends approved, not failed.
      const result = await suite.api.client.workflow.getHandle(verificationWorkflowId(opened.json.id)).result();
      assert.deepEqual(result, { caseId: opened.json.id, outcome: 'approved' });
    });

    it('refuses to open a case for an unknown account or reason', async () => {
      assertProblem(
        await suite.api.call('POST', '/v1/verification-cases', { token: suite.tokens.system, body: { accountId: randomUUID(), reason: 'disable_2fa' } }),
        422,
        'unprocessable',
      );
      assertProblem(
        await suite.api.call('POST', '/v1/verification-cases', { token: suite.tokens.system, body: { accountId: suite.seed.admin.id, reason: 'curiosity' } }),
        400,
        'validation-failed',
      );
      assertProblem(
        await suite.api.call('POST', '/v1/verification-cases', {
          token: suite.tokens.legalRep,
          body: { accountId: suite.seed.admin.id, reason: 'disable_2fa' },
        }),
        403,
        'forbidden',
      );
    });
  });
});
