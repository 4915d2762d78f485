import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { balanceOf, writeLedgerEntry } from '../../db/repositories/prepaid';
import { BLOCKED_ORDER_AUTO_CANCEL_MS } from '../../lib/rules';
import { smtpCapture } from '../support/fixtures';
import { apiSuite, assertProblem } from '../support/api';
import { orderBlockWorkflowId } from '../../workflows/shared/orders';
import { linkTokenFor, passPhoneAndPosition, sendDocuments, testImage } from '../support/verification';

describe('orders API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  const orderBody = (payment: Record<string, unknown> = { means: 'card' }) => ({
    organizationId: suite.seed.org.id,
    accountId: suite.seed.legalRep.id,
    currency: 'CHF',
    lines: [{ productType: 'web_hosting', description: 'Web hosting', quantity: 2, unitPriceCents: 4_990 }],
    payment,
  });
  /** The shop's checkout: a key of its own per order unless one is given. */
  const postOrder = (body: unknown, token = suite.tokens.system, key = `checkout-${randomUUID()}`) =>
    suite.api.call('POST', '/v1/orders', { token, body, headers: { 'idempotency-key': key } });
  const createAndBlock = async () => {
    const created = await postOrder(orderBody(), suite.tokens.system);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.totalCents, 9_980);
    const blocked = await suite.api.call('POST', `/v1/orders/${created.json.id}/block`, { token: suite.tokens.system, body: { reason: 'suspected phishing' } });
    assert.equal(blocked.status, 202, blocked.text);
    const token = await linkTokenFor(suite.seed.legalRep.login_email);
    return { orderId: created.json.id as string, token, blocked: blocked.json };
  };

  it('validates orders: the total, the payment state, the customer', async () => {
    assertProblem(await postOrder(orderBody({ means: 'card', status: 'in_progress' }), suite.tokens.system), 422, 'unprocessable');
    assertProblem(await postOrder({ ...orderBody(), lines: [] }, suite.tokens.system), 400, 'validation-failed');
    assertProblem(await postOrder({ ...orderBody(), accountId: suite.seed.outsider.id }, suite.tokens.system), 422, 'unprocessable');
    assertProblem(await postOrder(orderBody(), suite.tokens.legalRep), 403, 'forbidden');
  });

  it('records an order once per Idempotency-Key: sent again, even at once, it is the same order; the key with another order is refused', async () => {
    const key = `checkout-${randomUUID()}`;
    const [a, b] = await Promise.all([postOrder(orderBody(), undefined, key), postOrder(orderBody(), undefined, key)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201], `${a.text} ${b.text}`);
    assert.equal(a.json.id, b.json.id);
    const later = await postOrder(orderBody(), undefined, key);
    assert.equal(later.status, 200, later.text);
    assert.equal(later.json.id, a.json.id);
    assert.equal(later.headers.get('location'), `/v1/orders/${a.json.id}`);
    const orders = await suite.api.db.selectFrom('orders').select('id').where('organization_id', '=', suite.seed.org.id).execute();
    assert.deepEqual(orders, [{ id: a.json.id }], 'one order');
    const payments = await suite.api.db.selectFrom('payments').select('id').where('order_id', '=', a.json.id).execute();
    assert.equal(payments.length, 1, 'one payment');
    const other = await postOrder(
      { ...orderBody(), lines: [{ productType: 'domain', description: 'other.example', quantity: 1, unitPriceCents: 1_500 }] },
      undefined,
      key,
    );
    assertProblem(other, 409, 'conflict');
    const missing = await suite.api.call('POST', '/v1/orders', { token: suite.tokens.system, body: orderBody() });
    assertProblem(missing, 400, 'validation-failed');
    assert.match(missing.json.detail, /Idempotency-Key/);
  });

  it('debits the prepaid account once for an order sent twice with its key', async () => {
    const org = suite.seed.org.id;
    await writeLedgerEntry(suite.api.db, {
      organizationId: org,
      currency: 'CHF',
      amountCents: 20_000,
      reason: 'bank transfer',
      reference: `test:${randomUUID()}`,
    });
    const key = `checkout-${randomUUID()}`;
    const [a, b] = await Promise.all([postOrder(orderBody({ means: 'prepaid' }), undefined, key), postOrder(orderBody({ means: 'prepaid' }), undefined, key)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201], `${a.text} ${b.text}`);
    assert.equal(await balanceOf(suite.api.db, org, 'CHF'), 20_000 - 9_980);
  });

  it('records each line’s term (yearly unless said, null for a one-off) and the paying card’s token (issue 17, item 1)', async () => {
    const body = {
      ...orderBody({ means: 'card', cardRef: 'card_tok_checkout' }),
      lines: [
        { productType: 'web_hosting', description: 'Web hosting', quantity: 1, unitPriceCents: 4_990 },
        { productType: 'domain', description: 'shop.example', quantity: 1, unitPriceCents: 1_500, termMonths: 24 },
        { productType: 'setup', description: 'Migration service', quantity: 1, unitPriceCents: 9_000, termMonths: null },
      ],
    };
    const created = await postOrder(body);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.lines.map((l: { description: string; termMonths: number | null }) => [l.description, l.termMonths]).sort(), [
      ['Migration service', null],
      ['Web hosting', 12],
      ['shop.example', 24],
    ]);
    const payment = await suite.api.db.selectFrom('payments').select('card_ref').where('order_id', '=', created.json.id).executeTakeFirstOrThrow();
    assert.equal(payment.card_ref, 'card_tok_checkout');
    assertProblem(await postOrder({ ...body, payment: { means: 'iban_transfer', cardRef: 'card_x' } }, suite.tokens.system), 422, 'unprocessable');
    assertProblem(await postOrder({ ...body, lines: [{ ...body.lines[0], termMonths: 0 }] }, suite.tokens.system), 400, 'validation-failed');
  });

  it('blocks once, shows the reason, the deadline and the re-send allowance; a second block is 409', async () => {
    const { orderId, blocked } = await createAndBlock();
    assert.equal(blocked.status, 'blocked');
    assert.equal(Date.parse(blocked.block.deadline) - Date.parse(blocked.block.blockedAt), BLOCKED_ORDER_AUTO_CANCEL_MS);
    assertProblem(await suite.api.call('POST', `/v1/orders/${orderId}/block`, { token: suite.tokens.system, body: { reason: 'again' } }), 409, 'conflict');

    const mine = await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.legalRep });
    assert.deepEqual([mine.json.block.reason, mine.json.block.resendAllowed, mine.json.block.resendsLeftToday], ['suspected phishing', true, 3]);
    assert.equal(mine.json.block.verificationCaseId, undefined, 'customers do not see the case id');
    // Agents see the case id once the case exists, so the id they see always answers.
    let caseId: string | null = null;
    for (let i = 0; i < 100 && !caseId; i++) {
      caseId = (await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.agent })).json.block.verificationCaseId;
      if (!caseId) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(caseId, 'the agent sees the case id');
    assert.equal((await suite.api.call('GET', `/v1/verification-cases/${caseId}`, { token: suite.tokens.agent })).status, 200);
    assertProblem(await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.outsider }), 404, 'not-found');
  });

  it('emails the procedure with the QR code of its link inside: text, HTML and the inline image GET …/qr.png draws (issue 17, item 10)', async () => {
    const { token } = await createAndBlock();
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && m.text.includes(token));
    assert.equal(mail.contentType, 'multipart/alternative');
    const link = `/verify/${token}`;
    assert.match(mail.text, /to unblock your order/);
    assert.ok(mail.html?.includes(`${link}</a><br><img src="cid:qr@backoffice"`), mail.html ?? 'no HTML part');
    assert.deepEqual(
      mail.inlineImages.map((i) => [i.cid, i.contentType]),
      [['qr@backoffice', 'image/png']],
    );
    const qr = await fetch(`${suite.api.base}/v1/verification/${token}/qr.png`);
    assert.equal(qr.status, 200);
    assert.equal(mail.inlineImages[0]!.base64, Buffer.from(await qr.arrayBuffer()).toString('base64'), 'the same QR code as the link’s qr.png');
  });

  it('re-sends the procedure with a fresh link, only for the order’s own people, at most 3 times a day', async () => {
    const { orderId, token } = await createAndBlock();
    assertProblem(await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.outsider }), 404, 'not-found');
    assertProblem(await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.collaborator }), 404, 'not-found');

    const first = await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.legalRep });
    assert.equal(first.status, 202, first.text);
    const fresh = await linkTokenFor(suite.seed.legalRep.login_email, [token]);
    assert.equal((await suite.api.call('GET', `/v1/verification/${token}`)).status, 404, 'the old link stops working');
    assert.equal((await suite.api.call('GET', `/v1/verification/${fresh}`)).status, 200);

    assert.equal((await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.admin })).status, 202);
    assert.equal((await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.legalRep })).status, 202);
    const fourth = await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.legalRep });
    assertProblem(fourth, 429, 'rate-limited');
    assert.equal((await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.legalRep })).json.block.resendAllowed, false);
  });

  it('unblocks and fulfils the order when an agent approves the customer’s identity check', async () => {
    const { orderId, token } = await createAndBlock();
    await passPhoneAndPosition(suite.api, token);
    await sendDocuments(suite.api, token, orderId);
    assertProblem(await suite.api.call('POST', `/v1/orders/${orderId}/block/resend`, { token: suite.tokens.legalRep }), 409, 'conflict');

    const caseId = (await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.agent })).json.block.verificationCaseId;
    // What the agent compares the documents with (issue 18, item 2): the holder, the login masked, the blocked order's lines and amount.
    const { context } = (await suite.api.call('GET', `/v1/verification-cases/${caseId}`, { token: suite.tokens.agent })).json;
    assert.equal(context.holder.name, suite.seed.legalRep.display_name);
    assert.notEqual(context.holder.loginEmail, suite.seed.legalRep.login_email);
    assert.deepEqual(context.order.lines, [{ description: 'Web hosting', quantity: 2, unitPriceCents: 4_990 }]);
    assert.equal(context.order.totalCents, 9_980);
    assert.ok(Array.isArray(context.earlierCases));
    assert.equal(context.documentsRequired, false);
    assert.equal((await suite.api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: suite.tokens.agent })).status, 200);
    const decided = await suite.api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
      token: suite.tokens.agent,
      body: { decision: 'approve', reason: 'matches' },
    });
    assert.equal(decided.status, 200, decided.text);

    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && m.subject === 'Your order is unblocked');
    const order = await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.legalRep });
    assert.equal(order.json.status, 'fulfilled');
    assert.ok(order.json.lines.every((l: { productId: string | null }) => l.productId));
  });

  it('lets an agent unblock after a manual verification (customer without a phone)', async () => {
    const { orderId } = await createAndBlock();
    const caseId = (await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.agent })).json.block.verificationCaseId;
    const res = await suite.api.call('POST', `/v1/verification-cases/${caseId}/manual-verification`, {
      token: suite.tokens.agent,
      body: { decision: 'approve', reason: 'passport shown at the counter' },
    });
    assert.equal(res.status, 200, res.text);
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && m.subject === 'Your order is unblocked');
    assert.equal((await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.legalRep })).json.status, 'fulfilled');
  });

  // ParentClosePolicy is enforced by the real server (the dev server here), not the time-skipping one.
  it('has the case cancelled and its evidence erased even when the blocking process is terminated', async () => {
    const { orderId, token } = await createAndBlock();
    await passPhoneAndPosition(suite.api, token);
    const doc = await suite.api.call('POST', `/v1/verification/${token}/document`, {
      body: { type: 'id_card', images: [await testImage('t front'), await testImage('t back')] },
    });
    assert.equal(doc.status, 200, doc.text);
    const caseId = (await suite.api.call('GET', `/v1/orders/${orderId}`, { token: suite.tokens.agent })).json.block.verificationCaseId;
    const evidence = async () => (await suite.api.db.selectFrom('verification_evidence').select('id').where('case_id', '=', caseId).execute()).length;
    const documents = async () => (await suite.api.db.selectFrom('verification_documents').select('id').where('case_id', '=', caseId).execute()).length;
    assert.equal(await evidence(), 2, 'the sealed phone number and position'); // what must go
    assert.ok((await documents()) > 0);
    await suite.api.client.workflow.getHandle(orderBlockWorkflowId(orderId)).terminate('operator stopped it');
    const deadline = Date.now() + 30_000;
    let status: string | undefined;
    while (Date.now() < deadline) {
      ({ status } = await suite.api.db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow());
      if (status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 'cancelled');
    assert.equal(await evidence(), 0);
    assert.equal(await documents(), 0);
  });
});
