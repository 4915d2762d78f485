import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { prepaidBalance } from '../../db/repositories/renewal';
import { orderCashbackWorkflowId } from '../../workflows/shared/orders';
import { apiSuite } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';
import { DAY, eventually } from '../support/renewal';

/** Issue 17, item 3 [001, 003]: who pays a partner's client's products, at what price, and the partner's cashback. */
describe('partner billing API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  /** The suite's organization becomes a partner managing a new client with full access, billed as `billing` says. */
  async function partnerWithClient(billing: 'client' | 'partner') {
    const partner = suite.seed;
    await suite.api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const client = await seedOrganization(suite.api.db);
    await suite.api.db
      .insertInto('partnerships')
      .values({
        id: randomUUID(),
        partner_organization_id: partner.org.id,
        client_organization_id: client.org.id,
        invitation_id: null,
        access: 'full',
        billing,
        started_at: new Date(),
      })
      .execute();
    return { partner, client };
  }
  const order = (organizationId: string, accountId: string) =>
    suite.api.call('POST', '/v1/orders', {
      token: suite.tokens.system,
      headers: { 'idempotency-key': `checkout-${randomUUID()}` },
      body: {
        organizationId,
        accountId,
        currency: 'CHF',
        lines: [
          { productType: 'web_hosting', description: 'Web hosting', quantity: 1, unitPriceCents: 10_000 },
          { productType: 'domain', description: 'client.example', quantity: 1, unitPriceCents: 2_000 },
        ],
        payment: { means: 'card', status: 'captured', reference: `pay_${randomUUID().slice(0, 8)}` },
      },
    });
  const cashbackOf = (orderId: string) =>
    suite.api.db.selectFrom('prepaid_ledger_entries').select(['amount_cents']).where('reference', 'like', `cashback:order:${orderId}:%`).execute();

  it("credits the partner's cashback once when its client orders at the public price; a retried credit adds nothing", async () => {
    const { partner, client } = await partnerWithClient('client');
    const placed = await order(client.org.id, client.legalRep.id);
    assert.equal(placed.status, 201, placed.text);
    assert.deepEqual([placed.json.totalCents, placed.json.billedOrganizationId], [12_000, null], 'the client pays the public price');

    await eventually(async () => assert.equal(await prepaidBalance(suite.api.db, partner.org.id, 'CHF'), 2_400, '20 % of 120.00 CHF'));
    const first = await suite.api.client.workflow.getHandle(orderCashbackWorkflowId(placed.json.id)).result();
    assert.deepEqual(first, { orderId: placed.json.id, creditedCents: 2_400 });

    // The same credit again, as an activity retry or a second start of the process would run it.
    const again = await suite.api.client.workflow.execute('orderCashback', {
      workflowId: `${orderCashbackWorkflowId(placed.json.id)}:retry`,
      taskQueue: suite.api.taskQueue,
      args: [{ orderId: placed.json.id }],
    });
    assert.deepEqual(again, { orderId: placed.json.id, creditedCents: 0 });
    assert.equal(await prepaidBalance(suite.api.db, partner.org.id, 'CHF'), 2_400, 'credited once');
    assert.deepEqual((await cashbackOf(placed.json.id)).map((e) => e.amount_cents).sort(), [2_000, 400], 'one credit per order line');
    assert.equal(await prepaidBalance(suite.api.db, client.org.id, 'CHF'), 0, 'nothing for the client');
  });

  it('prices an order of a client billed to its partner at the partner price, billed to the partner, with no cashback on top', async () => {
    const { partner, client } = await partnerWithClient('partner');
    const placed = await order(client.org.id, client.legalRep.id);
    assert.equal(placed.status, 201, placed.text);
    assert.deepEqual([placed.json.totalCents, placed.json.billedOrganizationId], [9_600, partner.org.id], '120.00 less the 20 % partner discount');
    assert.deepEqual(
      placed.json.lines.map((l: { unitPriceCents: number }) => l.unitPriceCents).sort(),
      [10_000, 2_000].sort(),
      'the lines keep the public price',
    );
    const queued = await suite.api.db.selectFrom('workflow_commands').select('id').where('workflow_id', '=', orderCashbackWorkflowId(placed.json.id)).execute();
    assert.equal(queued.length, 0);
    assert.equal((await cashbackOf(placed.json.id)).length, 0);
    assert.equal(await prepaidBalance(suite.api.db, partner.org.id, 'CHF'), 0);
  });

  it("invoices the renewal of a product billed to the partner to the partner, discount before the degressive rate, and emails the partner's billing contacts", async () => {
    const { partner, client } = await partnerWithClient('partner');
    // 34 hostings of the partner's own and the client's makes 35: the 25 % degressive rate [003].
    await suite.api.db
      .insertInto('products')
      .values(
        Array.from({ length: 34 }, (_, i) => ({
          id: randomUUID(),
          organization_id: partner.org.id,
          order_line_id: null,
          product_type: 'web_hosting',
          name: `Partner hosting ${i}`,
        })),
      )
      .execute();
    const { productId } = await insertRenewableProduct(suite.api.db, client, { dueAt: new Date(Date.now() + 40 * DAY), priceCents: 34_720 });
    const product = await suite.api.db.selectFrom('products').select('name').where('id', '=', productId).executeTakeFirstOrThrow();

    // Any change starts the product's renewal process; 40 days ahead, it issues the invoice at once.
    const nudged = await suite.api.call('PUT', `/v1/products/${productId}/auto-renewal`, {
      token: await suite.api.token('customer', client.admin.id),
      body: { enabled: false },
    });
    assert.equal(nudged.status, 200, nudged.text);
    const invoice = await eventually(() =>
      suite.api.db
        .selectFrom('invoice_lines as l')
        .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
        .select(['i.organization_id', 'i.total_cents', 'l.amount_cents'])
        .where('l.product_id', '=', productId)
        .executeTakeFirstOrThrow(),
    );
    assert.deepEqual(invoice, { organization_id: partner.org.id, total_cents: 20_832, amount_cents: 20_832 }, '347.20 → 277.76 → 208.32 CHF');

    const smtp = await smtpCapture();
    const mail = await smtp.waitFor((m) => m.to.includes(partner.legalRep.login_email) && m.subject === `Invoice issued: renewal of ${product.name}`);
    assert.match(mail.text, /208\.32 CHF/);
    await smtp.waitFor((m) => m.to.includes(partner.admin.login_email) && m.subject === mail.subject);
    const toClient = smtp.messages().filter((m) => m.subject === mail.subject && [client.legalRep, client.admin].some((p) => m.to.includes(p.login_email)));
    assert.equal(toClient.length, 0, 'the client is not billed');

    // The partner's legal representative pays it with the partner's card; no cashback on top of its price.
    await suite.api.db
      .updateTable('organizations')
      .set({ payment_card_ref: `card_${partner.org.id}` })
      .where('id', '=', partner.org.id)
      .execute();
    assert.equal(
      (
        await suite.api.call('POST', `/v1/products/${productId}/payments`, {
          token: suite.tokens.collaborator,
          body: { means: 'card' },
          headers: { 'idempotency-key': randomUUID() },
        })
      ).status,
      404,
      "a collaborator of the partner does not pay its clients' invoices",
    );
    // The client's own managers do not pay an invoice addressed to the partner: it would take the
    // partner's prepaid money or put the client's card on the partner's books.
    for (const means of ['prepaid', 'card']) {
      const byClient = await suite.api.call('POST', `/v1/products/${productId}/payments`, {
        token: await suite.api.token('customer', client.legalRep.id),
        body: { means },
        headers: { 'idempotency-key': randomUUID() },
      });
      assert.equal(byClient.status, 403, byClient.text);
      assert.match(byClient.json.detail, /invoiced to your partner/);
    }
    const paid = await suite.api.call('POST', `/v1/products/${productId}/payments`, {
      token: suite.tokens.legalRep,
      body: { means: 'card' },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(paid.status, 201, paid.text);
    assert.deepEqual([paid.json.payment.amountCents, paid.json.invoice.status], [20_832, 'paid'], paid.text);
    await eventually(async () => {
      const renewed = await suite.api.db.selectFrom('products').select('due_at').where('id', '=', productId).executeTakeFirstOrThrow();
      assert.ok(renewed.due_at!.getTime() > Date.now() + 300 * DAY, 'renewed for a year');
    });
    assert.equal(await prepaidBalance(suite.api.db, partner.org.id, 'CHF'), 0, 'the discount was given: no cashback');
  });
});
