import { strict as assert } from 'node:assert';
import { smtpCapture } from '../support/fixtures';
import { apiSuite, assertProblem } from '../support/api';
import { insertProduct } from '../support/orders';

describe('product cancellation API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const CONFIRM = /\/cancel\/([A-Za-z0-9_-]{43})/;

  it('asks, confirms once from the emailed link, and terminates the product', async () => {
    const { productId } = await insertProduct(suite.api.db, suite.seed);
    const asked = await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.admin });
    assert.equal(asked.status, 202, asked.text);
    assert.ok(asked.json.pendingCancellation);
    assertProblem(
      await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.legalRep }),
      409,
      'cancellation-pending',
    );

    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.admin.login_email) && CONFIRM.test(m.text));
    assert.match(mail.text, /Nothing is deleted until you confirm/);
    const token = CONFIRM.exec(mail.text)![1]!;
    assert.equal(
      (await suite.api.call('GET', `/v1/products/${productId}`, { token: suite.tokens.admin })).json.status,
      'active',
      'nothing happens before confirmation',
    );

    const confirmed = await suite.api.call('POST', `/v1/cancellation-requests/${token}/confirm`);
    assert.equal(confirmed.status, 202, confirmed.text);
    assertProblem(await suite.api.call('POST', `/v1/cancellation-requests/${token}/confirm`), 404, 'cancellation-link-invalid');
    await (await smtpCapture()).waitFor((m) => m.to.includes(suite.seed.legalRep.login_email) && /has been cancelled/.test(m.subject));
    const product = await suite.api.call('GET', `/v1/products/${productId}`, { token: suite.tokens.admin });
    assert.deepEqual([product.json.status, product.json.pendingCancellation], ['terminated', null]);
    assertProblem(await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.admin }), 409, 'conflict');
  });

  it('refuses collaborators, outsiders, a kSuite product and a forged link', async () => {
    const { productId } = await insertProduct(suite.api.db, suite.seed);
    assertProblem(await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.collaborator }), 403, 'forbidden');
    assertProblem(await suite.api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: suite.tokens.outsider }), 404, 'not-found');
    const { productId: bundled } = await insertProduct(suite.api.db, suite.seed, { bundledIn: 'ksuite' });
    assertProblem(await suite.api.call('POST', `/v1/products/${bundled}/cancellation-requests`, { token: suite.tokens.legalRep }), 409, 'product-bundled');
    assertProblem(await suite.api.call('POST', `/v1/cancellation-requests/${'x'.repeat(43)}/confirm`), 404, 'cancellation-link-invalid');
    assertProblem(await suite.api.call('POST', '/v1/cancellation-requests/short/confirm'), 400, 'validation-failed');
  });
});
