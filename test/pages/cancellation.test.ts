// The cancellation confirmation page (issue 18, P12) in chromium on a phone: a mail scanner's GET of
// the emailed link confirms nothing; the page shows what ends and what stays due, and only its button
// confirms; the used link then says what to do. Checked with axe-core, in English and French.
import { strict as assert } from 'node:assert';
import type { Browser } from 'playwright-core';
import { issueBearerToken, parseLifetime } from '../../api/services/bearerTokens';
import { cancellationWorkflowId } from '../../workflows/shared/cancellation';
import { AUTH_SECRET } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { insertProduct } from '../support/orders';
import type { Api } from '../support/verification';
import { checkPage, pagesSuite, onServer } from './browser';

describe('cancellation page in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;
  let browser: Browser;
  const { faults } = suite;

  before(async function () {
    ({ api, browser } = suite);
  });

  async function askToCancel() {
    const seed = await seedOrganization(api.db);
    const { productId } = await insertProduct(api.db, seed);
    const { token } = await issueBearerToken({ db: api.db, authSecret: AUTH_SECRET }, { role: 'customer', sub: seed.legalRep.id }, parseLifetime('1h')!);
    assert.equal((await api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token })).status, 202);
    const mail = await (
      await smtpCapture()
    ).waitFor((m) => m.to.includes(seed.legalRep.login_email) && /\/cancel\/[A-Za-z0-9_-]{43}/.test(m.text) && m.text.includes(productId.slice(0, 6)));
    const link = /(https?:\/\/\S+\/cancel\/[A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
    if (mail.html) assert.ok(mail.html.includes(link), 'the HTML part links to the page too');
    return { productId, link: onServer(link, api.base) };
  }
  const productStatus = async (id: string) => (await api.db.selectFrom('products').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  it('confirms nothing on a scanner GET, confirms with the button, then the used link says what to do', async () => {
    const { productId, link } = await askToCancel();
    // A mail scanner follows the link, twice: nothing is confirmed, the process still waits.
    for (let i = 0; i < 2; i++) assert.equal((await fetch(link)).status, 200);
    assert.equal(await productStatus(productId), 'active');
    const pending = await api.db.selectFrom('cancellation_requests').select('status').where('product_id', '=', productId).executeTakeFirstOrThrow();
    assert.equal(pending.status, 'pending');
    assert.equal((await api.client.workflow.getHandle(cancellationWorkflowId(productId)).describe()).status.name, 'RUNNING');

    const page = await suite.open();
    await page.goto(link);
    await page.getByText('The product and its 2 backups are deleted.').waitFor();
    await page.getByText('Extra storage (out of plan): 4.50 CHF').waitFor();
    await checkPage(page, 'cancel-confirm');
    await page.getByRole('button', { name: 'Confirm the cancellation' }).click();
    await page.getByRole('heading', { name: 'Cancellation confirmed' }).waitFor();
    await checkPage(page, 'cancel-confirmed');
    await (async () => {
      for (let i = 0; i < 100 && (await productStatus(productId)) !== 'terminated'; i++) await new Promise((r) => setTimeout(r, 100));
    })();
    assert.equal(await productStatus(productId), 'terminated');

    await page.goto(link);
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
    await checkPage(page, 'cancel-link-used');
  });

  it('speaks French from the browser', async () => {
    const { link } = await askToCancel();
    const page = await suite.open({ locale: 'fr-CH', extraHTTPHeaders: { 'accept-language': 'fr-CH,fr;q=0.9' } });
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirmer la résiliation' }).waitFor();
    await checkPage(page, 'cancel-confirm-fr');
  });
});
