import { strict as assert } from 'node:assert';
import { apiSuite, assertProblem } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';

describe('requests for proposal API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const CANCEL = /\/rfp\/cancel\/([A-Za-z0-9_-]{43})/;

  it('sends the excerpt to partners who opted in; they open the full request only while it is open; the emailed link cancels it at once', async () => {
    const partner = suite.seed;
    await suite.api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    assert.equal(
      (await suite.api.call('PUT', `/v1/partners/${partner.org.id}/rfp-subscription`, { token: suite.tokens.admin, body: { enabled: true } })).status,
      200,
    );
    const quiet = await seedOrganization(suite.api.db);
    await suite.api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', quiet.org.id).execute();
    const customer = await seedOrganization(suite.api.db);
    const customerToken = await suite.api.token('customer', customer.admin.id);

    assertProblem(
      await suite.api.call('POST', '/v1/requests-for-proposal', {
        token: await suite.api.token('customer', customer.collaborator.id),
        body: { organizationId: customer.org.id, title: 'Shop migration', summary: 'Move our shop to a new host', details: 'Details here, at length.' },
      }),
      403,
      'forbidden',
    );
    const published = await suite.api.call('POST', '/v1/requests-for-proposal', {
      token: customerToken,
      body: {
        organizationId: customer.org.id,
        title: 'Shop migration',
        summary: 'Move a WooCommerce shop with 2,000 products',
        details: 'Budget 5k, deadline March, contact me for access.',
      },
    });
    assert.equal(published.status, 201, published.text);
    const smtp = await smtpCapture();
    const excerpt = await smtp.waitFor((m) => m.to.includes(partner.admin.login_email) && /Request for proposal: Shop migration/.test(m.subject));
    assert.match(excerpt.text, /WooCommerce/);
    assert.ok(!excerpt.text.includes(customer.admin.login_email), 'the excerpt does not carry the contact');
    assert.ok(!excerpt.text.includes('Budget 5k'), 'nor the details');
    const path = `/v1/requests-for-proposal/${published.json.id}`;
    const full = await suite.api.call('GET', path, { token: suite.tokens.admin });
    assert.equal(full.status, 200, full.text);
    assert.equal(full.json.contact.email, customer.admin.login_email);
    assertProblem(await suite.api.call('GET', path, { token: await suite.api.token('customer', quiet.admin.id) }), 404, 'not-found');
    assertProblem(await suite.api.call('GET', path, { token: suite.tokens.collaborator }), 404, 'not-found');
    assertProblem(await suite.api.call('GET', path, { token: suite.tokens.outsider }), 404, 'not-found');
    assert.ok(
      !smtp.messages().some((m) => m.to.includes(quiet.admin.login_email) && /Request for proposal/.test(m.subject)),
      'partners who did not opt in get nothing',
    );

    const mail = await smtp.waitFor((m) => m.to.includes(customer.admin.login_email) && CANCEL.test(m.text));
    const token = CANCEL.exec(mail.text)![1]!;
    // The emailed link opens a page (issue 18): its GET, as a mail scanner makes, cancels nothing.
    const page = await fetch(`${suite.api.base}/rfp/cancel/${token}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Cancel the request/);
    assert.equal((await suite.api.call('GET', path, { token: suite.tokens.admin })).status, 200, 'still open after the GET');
    assert.equal((await suite.api.call('POST', `/v1/requests-for-proposal/cancel/${token}`)).status, 200);
    const used = await fetch(`${suite.api.base}/rfp/cancel/${token}`);
    assert.equal(used.status, 404);
    assert.match(await used.text(), /This link no longer works/);
    assertProblem(await suite.api.call('POST', `/v1/requests-for-proposal/cancel/${token}`), 404, 'cancellation-link-invalid');
    assertProblem(await suite.api.call('GET', path, { token: suite.tokens.admin }), 404, 'not-found');
    assert.equal((await suite.api.call('GET', path, { token: customerToken })).json.status, 'cancelled');
  });
});
