import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS } from '../../lib/rules';
import { addMonths } from '../../workflows/shared/renewal';
import { apiSuite, assertProblem } from '../support/api';
import { smtpCapture } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';
import { DAY, eventually } from '../support/renewal';
import { testPayments } from '../support/worker';

describe('renewal API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  const dueIn = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 60_000) * 60_000);
  const product = (opts: Omit<Parameters<typeof insertRenewableProduct>[2], 'dueAt'> & { dueInMs: number }) =>
    insertRenewableProduct(suite.api.db, suite.seed, { ...opts, dueAt: dueIn(opts.dueInMs) });
  const pay = (productId: string, token: string, body: unknown, key: string | null = randomUUID()) =>
    suite.api.call('POST', `/v1/products/${productId}/payments`, { token, body, headers: key ? { 'idempotency-key': key } : {} });
  /** Charges the provider made for the payment a request with this Idempotency-Key reserved. */
  const chargedFor = async (key: string) => {
    const rows = await suite.api.db.selectFrom('payments').select('id').where('idempotency_key', 'like', `%:${key}`).execute();
    return testPayments.chargesFor((c) => rows.some((r) => c.idempotencyKey === `payment:${r.id}`));
  };
  const deposit = (cents: number) =>
    suite.api.db
      .insertInto('prepaid_ledger_entries')
      .values({ organization_id: suite.seed.org.id, currency: 'CHF', amount_cents: cents, reason: 'deposit', reference: `deposit:${randomUUID()}` })
      .execute();

  it("reads a product's renewal: due date, options, the invoice, and the process's next action and when", async () => {
    const { productId } = await product({ dueInMs: 40 * DAY });
    const before = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.collaborator });
    assert.equal(before.status, 200, before.text);
    assert.equal(before.json.process, null, 'no process until the sweep or a change starts it');
    assert.deepEqual([before.json.autoRenewal, before.json.renewalWarranty, before.json.priceCents, before.json.currency], [false, false, 12_000, 'CHF']);

    const on = await suite.api.call('PUT', `/v1/products/${productId}/auto-renewal`, { token: suite.tokens.admin, body: { enabled: true } });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.json.autoRenewal, true);
    const due = Date.parse(on.json.dueAt);
    // Two months ahead has passed already, so the invoice is issued at once; the next action is the 14-day debit.
    const read = await eventually(async () => {
      const r = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.agent });
      assert.deepEqual(r.json.process?.nextAction, { kind: 'auto-renew-reminder', at: new Date(due - AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS).toISOString() });
      return r.json;
    });
    assert.equal(read.process.state, 'awaiting_payment');
    assert.deepEqual(read.invoice && [read.invoice.status, read.invoice.totalCents, read.invoice.outstandingCents, read.invoice.terms], [
      'open',
      12_000,
      12_000,
      1,
    ]);
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && /Invoice issued/.test(m.subject));
  });

  it('refuses automatic renewal less than 14 days before the due date, with the reason, and without a saved card', async () => {
    const { productId } = await product({ dueInMs: 13 * DAY });
    const late = await suite.api.call('PUT', `/v1/products/${productId}/auto-renewal`, { token: suite.tokens.legalRep, body: { enabled: true } });
    assertProblem(late, 409, 'auto-renewal-too-late');
    assert.match(late.json.detail, /renew it manually first/);
    const { productId: other } = await product({ dueInMs: 60 * DAY });
    await suite.api.db.updateTable('organizations').set({ payment_card_ref: null }).where('id', '=', suite.seed.org.id).execute();
    assertProblem(
      await suite.api.call('PUT', `/v1/products/${other}/auto-renewal`, { token: suite.tokens.legalRep, body: { enabled: true } }),
      409,
      'no-saved-card',
    );
    const off = await suite.api.call('PUT', `/v1/products/${other}/auto-renewal`, { token: suite.tokens.legalRep, body: { enabled: false } });
    assert.equal(off.status, 200, 'switching off is always possible');
    const rows = await suite.api.db.selectFrom('products').select('auto_renew').where('id', 'in', [productId, other]).execute();
    assert.ok(
      rows.every((r) => !r.auto_renew),
      'nothing changed by the refusals',
    );
  });

  it('pays part from the prepaid account and the rest by card; the product renews, and the same Idempotency-Key pays once', async () => {
    const { productId } = await product({ dueInMs: 30 * DAY });
    await deposit(5_000);
    const part = await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 5_000 }, 'prepaid-part-1');
    assert.equal(part.status, 201, part.text);
    assert.deepEqual(
      [part.json.invoice.status, part.json.invoice.paidCents, part.json.invoice.outstandingCents, part.json.prepaidBalanceCents],
      ['open', 5_000, 7_000, 0],
    );
    const again = await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 5_000 }, 'prepaid-part-1');
    assert.equal(again.status, 200, 'a retried request returns the first payment');
    const debits = await suite.api.db
      .selectFrom('prepaid_ledger_entries')
      .select('amount_cents')
      .where('organization_id', '=', suite.seed.org.id)
      .where('amount_cents', '<', 0)
      .execute();
    assert.deepEqual(
      debits.map((d) => d.amount_cents),
      [-5_000],
    );

    const due = Date.parse(part.json.dueAt);
    const rest = await pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_visa_renewal' }, 'card-rest-1');
    assert.equal(rest.status, 201, rest.text);
    assert.equal(rest.json.invoice.status, 'paid');
    assert.deepEqual(
      (await chargedFor('card-rest-1')).map((c) => c.amountCents),
      [7_000],
    );
    const renewed = await eventually(async () => {
      const r = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.admin });
      assert.equal(r.json.dueAt, new Date(addMonths(due, 12)).toISOString());
      return r.json;
    });
    assert.equal(renewed.autoRenewal, true, 'a card that pays a renewal switches automatic renewal on');
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.admin.login_email) && /is renewed until/.test(m.subject));
  });

  it('refuses bad payments with a clear problem and records nothing', async () => {
    const { productId } = await product({ dueInMs: 50 * DAY });
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 100 }, null), 400, 'validation-failed');
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 12_001 }), 422, 'unprocessable');
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 100 }), 409, 'insufficient-prepaid-balance');
    testPayments.declineCard('tok_declined', 1);
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_declined' }), 402, 'payment-declined');
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'iban_transfer', providerReference: 'bank-1' }), 403, 'forbidden');
    assertProblem(await pay(productId, suite.tokens.system, { means: 'iban_transfer' }), 400, 'validation-failed');
    assertProblem(await pay(productId, suite.tokens.collaborator, { means: 'card' }), 403, 'forbidden');
    assertProblem(await pay(productId, suite.tokens.outsider, { means: 'card' }), 404, 'not-found');
    assertProblem(await pay(productId, suite.tokens.admin, { means: 'cash' }), 400, 'validation-failed');
    // Only the declined attempt is kept, as declined: nothing reserved, nothing taken.
    const payments = await suite.api.db
      .selectFrom('payments as p')
      .innerJoin('invoices as i', 'i.id', 'p.invoice_id')
      .select(['p.status', 'p.failure_reason'])
      .where('i.product_id', '=', productId)
      .execute();
    assert.deepEqual(payments, [{ status: 'declined', failure_reason: 'card declined by the issuer' }]);

    const bank = await pay(productId, suite.tokens.system, { means: 'iban_transfer', providerReference: 'bank-statement-42' });
    assert.equal(bank.status, 201, 'the system records a confirmed bank transfer');
    assert.equal(bank.json.invoice.status, 'paid');
  });

  it('renews several terms at once where the product allows it', async () => {
    const { productId } = await product({ dueInMs: 50 * DAY, maxTermsAhead: 3 });
    assertProblem(await pay(productId, suite.tokens.legalRep, { means: 'card', terms: 4 }), 422, 'unprocessable');
    const paid = await pay(productId, suite.tokens.legalRep, { means: 'card', terms: 3 });
    assert.equal(paid.status, 201, paid.text);
    assert.deepEqual([paid.json.invoice.totalCents, paid.json.invoice.terms], [36_000, 3]);
    const due = Date.parse(paid.json.dueAt);
    await eventually(async () => {
      const r = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.legalRep });
      assert.equal(r.json.dueAt, new Date(addMonths(due, 36)).toISOString());
    });
  });

  it('offers Renewal Warranty except for NAS Synology, to administrators and legal representatives', async () => {
    const { productId } = await product({ dueInMs: 50 * DAY });
    const { productId: nas } = await product({ dueInMs: 50 * DAY, productType: 'nas_synology' });
    const on = await suite.api.call('PUT', `/v1/products/${productId}/renewal-warranty`, { token: suite.tokens.legalRep, body: { enabled: true } });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.json.renewalWarranty, true);
    assertProblem(
      await suite.api.call('PUT', `/v1/products/${nas}/renewal-warranty`, { token: suite.tokens.legalRep, body: { enabled: true } }),
      409,
      'warranty-not-available',
    );
    assert.equal((await suite.api.call('GET', `/v1/products/${nas}/renewal`, { token: suite.tokens.legalRep })).json.warrantyAvailable, false);
    assertProblem(
      await suite.api.call('PUT', `/v1/products/${productId}/renewal-warranty`, { token: suite.tokens.collaborator, body: { enabled: false } }),
      403,
      'forbidden',
    );
    assertProblem(
      await suite.api.call('PUT', `/v1/products/${productId}/renewal-warranty`, { token: suite.tokens.agent, body: { enabled: false } }),
      403,
      'forbidden',
    );
    assertProblem(
      await suite.api.call('PUT', `/v1/products/${productId}/renewal-warranty`, { token: suite.tokens.admin, body: { enabled: 'yes' } }),
      400,
      'validation-failed',
    );
    assertProblem(await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.outsider }), 404, 'not-found');
  });

  it('keeps billing-email preferences per organization: defaults, validated changes, administrators only', async () => {
    const path = `/v1/organizations/${suite.seed.org.id}/billing-reminders`;
    const defaults = await suite.api.call('GET', path, { token: suite.tokens.collaborator });
    assert.deepEqual(defaults.json, {
      reminders: { frequency: 'monthly', startMonthsBefore: 2 },
      autoRenewalReminder: true,
      renewalConfirmation: true,
      invoiceIssued: true,
      groupInvoices: false,
    });
    const wanted = {
      reminders: { frequency: 'weekly', startMonthsBefore: 1 },
      autoRenewalReminder: false,
      renewalConfirmation: true,
      invoiceIssued: false,
      groupInvoices: true,
    };
    assertProblem(
      await suite.api.call('PUT', path, { token: suite.tokens.admin, body: { ...wanted, reminders: { frequency: 'weekly', startMonthsBefore: 3 } } }),
      400,
      'validation-failed',
    );
    assertProblem(
      await suite.api.call('PUT', path, { token: suite.tokens.admin, body: { ...wanted, reminders: { frequency: 'daily', startMonthsBefore: 1 } } }),
      400,
      'validation-failed',
    );
    assertProblem(await suite.api.call('PUT', path, { token: suite.tokens.collaborator, body: wanted }), 403, 'forbidden');
    assertProblem(await suite.api.call('PUT', path, { token: suite.tokens.outsider, body: wanted }), 404, 'not-found');
    assert.deepEqual((await suite.api.call('GET', path, { token: suite.tokens.admin })).json, defaults.json, 'refused changes left nothing');
    const saved = await suite.api.call('PUT', path, { token: suite.tokens.admin, body: wanted });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual((await suite.api.call('GET', path, { token: suite.tokens.legalRep })).json, wanted);
  });

  it('puts products due the same day on one invoice when grouping is on, and one payment renews them all', async () => {
    await suite.api.db.insertInto('billing_preferences').values({ organization_id: suite.seed.org.id, group_invoices: true }).execute();
    const dueAt = dueIn(45 * DAY);
    const a = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt, priceCents: 12_000 });
    const b = await insertRenewableProduct(suite.api.db, suite.seed, { dueAt, priceCents: 3_000 });
    // Any change starts a product's process; both issue their term two months ahead, that is at once.
    for (const p of [a, b])
      assert.equal(
        (await suite.api.call('PUT', `/v1/products/${p.productId}/auto-renewal`, { token: suite.tokens.admin, body: { enabled: false } })).status,
        200,
      );
    const lines = await eventually(async () => {
      const rows = await suite.api.db
        .selectFrom('invoice_lines')
        .select(['invoice_id', 'product_id'])
        .where('product_id', 'in', [a.productId, b.productId])
        .execute();
      assert.equal(rows.length, 2);
      return rows;
    });
    assert.equal(lines[0]!.invoice_id, lines[1]!.invoice_id, 'one invoice for both');
    const paid = await pay(b.productId, suite.tokens.admin, { means: 'card', cardToken: 'tok_group' }, 'group-pay-1');
    assert.equal(paid.status, 201, paid.text);
    assert.deepEqual([paid.json.invoice.totalCents, paid.json.invoice.status], [15_000, 'paid']);
    assert.deepEqual(
      (await chargedFor('group-pay-1')).map((c) => c.amountCents),
      [15_000],
    );
    await eventually(async () => {
      const rows = await suite.api.db.selectFrom('products').select('due_at').where('id', 'in', [a.productId, b.productId]).execute();
      assert.deepEqual(
        rows.map((r) => r.due_at?.getTime()),
        [addMonths(dueAt.getTime(), 12), addMonths(dueAt.getTime(), 12)],
      );
    });
  });

  it('a confirmed cancellation ends the renewal: the unpaid term is not owed, its prepaid part comes back, the process stops', async () => {
    const { productId } = await product({ dueInMs: 40 * DAY });
    await deposit(3_000);
    assert.equal((await pay(productId, suite.tokens.admin, { means: 'prepaid', amountCents: 3_000 })).status, 201);
    await suite.api.call('PUT', `/v1/products/${productId}/auto-renewal`, { token: suite.tokens.admin, body: { enabled: false } });
    assert.equal((await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.admin })).status, 202);
    const mail = await (
      await smtpCapture()
    ).waitFor((m) => m.to.includes(suite.seed.admin.login_email) && /\/cancel\/[\w-]{43}/.test(m.text) && m.text.includes(productId.slice(0, 6)));
    const token = /\/cancel\/([\w-]{43})/.exec(mail.text)![1]!;
    assert.equal((await suite.api.call('POST', `/v1/cancellation-requests/${token}/confirm`)).status, 202);
    await eventually(async () => {
      const r = await suite.api.call('GET', `/v1/products/${productId}/renewal`, { token: suite.tokens.admin });
      assert.deepEqual([r.json.productStatus, r.json.invoice, r.json.prepaidBalanceCents], ['terminated', null, 3_000]);
    });
    await eventually(async () => assert.equal((await suite.api.client.workflow.getHandle(`renewal:${productId}`).describe()).status.name, 'COMPLETED'));
  });

  it('pays once for the same Idempotency-Key sent twice at the same moment', async () => {
    const { productId } = await product({ dueInMs: 40 * DAY });
    const both = await Promise.all([1, 2].map(() => pay(productId, suite.tokens.admin, { means: 'card', amountCents: 1_000 }, 'double-click-1')));
    // Both requests attach to the one payment process of the key, and answer its payment.
    assert.ok(
      both.every((r) => r.status === 200 || r.status === 201),
      both.map((r) => r.text).join('\n'),
    );
    assert.equal(both[0]!.json.payment.id, both[1]!.json.payment.id);
    const recorded = await suite.api.db.selectFrom('payments').select('amount_cents').where('idempotency_key', 'like', '%:double-click-1').execute();
    assert.deepEqual(
      recorded.map((r) => r.amount_cents),
      [1_000],
    );
    assert.equal((await chargedFor('double-click-1')).length, 1);
  });
});
