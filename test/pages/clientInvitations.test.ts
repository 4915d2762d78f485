// The partner client-invitation page (issue 18, P11) in chromium on a phone: the emailed link shows
// what the partner asks; the client's legal representative signs in and grants rights that may
// differ from those asked (issue 17, item 9). A GET accepts nothing. Checked with axe-core.
import { strict as assert } from 'node:assert';
import { issueBearerToken, parseLifetime } from '../../api/services/bearerTokens';
import { hashPassword } from '../../lib/passwords';
import { AUTH_SECRET } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { insertProduct } from '../support/orders';
import { PASSWORD } from '../support/recovery';
import type { Api } from '../support/verification';
import { checkPage, onServer, pagesSuite } from './browser';

describe('partner client-invitation page in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;

  before(() => {
    api = suite.api;
  });

  it('lets the client sign in and grant different rights from those asked; the partnership holds what was granted', async () => {
    const partner = await seedOrganization(api.db);
    await api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const client = await seedOrganization(api.db);
    await api.db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword(PASSWORD) })
      .where('id', '=', client.legalRep.id)
      .execute();
    const [p1, p2, p3] = await Promise.all([1, 2, 3].map(() => insertProduct(api.db, client)));
    const { token } = await issueBearerToken({ db: api.db, authSecret: AUTH_SECRET }, { role: 'customer', sub: partner.legalRep.id }, parseLifetime('1h')!);
    const sent = await api.call('POST', `/v1/partners/${partner.org.id}/client-invitations`, {
      token,
      body: { clientEmail: client.legalRep.login_email, requested: { access: 'restricted', productIds: [p1!.productId, p2!.productId], billing: 'partner' } },
    });
    assert.equal(sent.status, 201, sent.text);
    const mail = await (
      await smtpCapture()
    ).waitFor((m) => m.to.includes(client.legalRep.login_email) && /\/client-invitations\/[A-Za-z0-9_-]{43}/.test(m.text));
    const link = onServer(/(https?:\/\/\S+\/client-invitations\/[A-Za-z0-9_-]{43})/.exec(mail.text)![1]!, api.base);
    const partnership = () =>
      api.db.selectFrom('partnerships').select(['access', 'product_ids', 'billing']).where('client_organization_id', '=', client.org.id).executeTakeFirst();

    assert.equal((await fetch(link)).status, 200, 'a scanner may open it');
    assert.equal(await partnership(), undefined, 'opening the link grants nothing');

    const page = await suite.open();
    await page.goto(link);
    await page.getByText('asks for access to 2 chosen product(s), billed to the partner').waitFor();
    await checkPage(page, 'client-invitation-sign-in-first');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Login').fill(client.legalRep.login_email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Grant these rights' }).waitFor();
    assert.ok(await page.getByLabel(client.org.name).isChecked(), 'the only organization managed is chosen');
    assert.ok(await page.getByLabel(`Hosting ${p2!.productId.slice(0, 6)}`).isChecked(), 'the products asked for are ticked');
    await checkPage(page, 'client-invitation-grant');

    // Restricted access with no product is refused next to the field, and nothing is granted.
    for (const p of [p1, p2]) await page.getByLabel(`Hosting ${p!.productId.slice(0, 6)}`).uncheck();
    await page.getByRole('button', { name: 'Grant these rights' }).click();
    await page.getByRole('alert').getByText('Tick at least one product, or choose full access').waitFor();
    await checkPage(page, 'client-invitation-error');
    assert.equal(await partnership(), undefined);

    // Different rights: p1 and p3 (not asked for), and the client pays.
    await page.getByLabel(`Hosting ${p1!.productId.slice(0, 6)}`).check();
    await page.getByLabel(`Hosting ${p3!.productId.slice(0, 6)}`).check();
    await page.getByLabel('We pay').check();
    await page.getByRole('button', { name: 'Grant these rights' }).click();
    await page.getByRole('heading', { name: 'Partner accepted' }).waitFor();
    await checkPage(page, 'client-invitation-accepted');
    const made = await partnership();
    assert.equal(made?.access, 'restricted');
    assert.deepEqual([...(made?.product_ids ?? [])].sort(), [p1!.productId, p3!.productId].sort());
    assert.equal(made?.billing, 'client');

    await page.goto(link);
    await page.getByRole('heading', { name: 'This invitation no longer works' }).waitFor();
  });
});
