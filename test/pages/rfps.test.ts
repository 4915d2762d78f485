// The pages of a request for proposal (issue 18, P11) in chromium on a phone: a partner opens the
// emailed excerpt's link, signs in and reads the whole request with its contact; the author cancels
// it from the link of their email (a GET alone cancels nothing); the partner's page then says it is
// no longer open. Checked with axe-core.
import { strict as assert } from 'node:assert';
import { hashPassword } from '../../lib/passwords';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { PASSWORD } from '../support/recovery';
import type { Api } from '../support/verification';
import { checkPage, onServer, pagesSuite } from './browser';

describe('request-for-proposal pages in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;

  before(() => {
    api = suite.api;
  });

  it('lets a partner read the whole request from the excerpt while it is open, and its author cancel it from the email', async () => {
    const partner = await seedOrganization(api.db);
    await api.db.updateTable('organizations').set({ program: 'partner', rfp_opt_in: true }).where('id', '=', partner.org.id).execute();
    await api.db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword(PASSWORD) })
      .where('id', '=', partner.admin.id)
      .execute();
    const customer = await seedOrganization(api.db);
    const title = `Shop migration ${customer.org.id.slice(0, 6)}`;
    const published = await api.call('POST', '/v1/requests-for-proposal', {
      token: await api.token('customer', customer.admin.id),
      body: { organizationId: customer.org.id, title, summary: 'Move a WooCommerce shop', details: 'Budget 5k, deadline March.' },
    });
    assert.equal(published.status, 201, published.text);
    const smtp = await smtpCapture();
    const excerpt = await smtp.waitFor((m) => m.to.includes(partner.admin.login_email) && m.subject === `Request for proposal: ${title}`);
    const readLink = onServer(/(https?:\/\/\S+\/rfp\/[0-9a-f-]{36})/.exec(excerpt.text)![1]!, api.base);

    const page = await suite.open();
    await page.goto(readLink);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Login').fill(partner.admin.login_email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Budget 5k, deadline March.').waitFor();
    await page.getByRole('link', { name: customer.admin.login_email }).waitFor();
    await checkPage(page, 'rfp-read');

    const authorMail = await smtp.waitFor((m) => m.to.includes(customer.admin.login_email) && /\/rfp\/cancel\/[A-Za-z0-9_-]{43}/.test(m.text));
    const cancelLink = onServer(/(https?:\/\/\S+\/rfp\/cancel\/[A-Za-z0-9_-]{43})/.exec(authorMail.text)![1]!, api.base);
    assert.equal((await fetch(cancelLink)).status, 200, 'a scanner may open it');
    const status = async () =>
      (await api.db.selectFrom('requests_for_proposal').select('status').where('id', '=', published.json.id).executeTakeFirstOrThrow()).status;
    assert.equal(await status(), 'open', 'opening the link cancels nothing');

    const author = await suite.open();
    await author.goto(cancelLink);
    await checkPage(author, 'rfp-cancel');
    await author.getByRole('button', { name: 'Cancel the request' }).click();
    await author.getByRole('heading', { name: 'Request cancelled' }).waitFor();
    assert.equal(await status(), 'cancelled');

    await page.goto(readLink);
    await page.getByRole('heading', { name: 'This request is no longer open' }).waitFor();
  });
});
