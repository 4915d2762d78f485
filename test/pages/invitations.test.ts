// The member invitation page (issue 18, P9) in chromium on a phone: the emailed link shows the offer
// and asks the invited person to sign in; after the page sign-in it comes back, and the button makes
// them a member. A GET alone accepts nothing. Checked with axe-core.
import { strict as assert } from 'node:assert';
import type { Browser } from 'playwright-core';
import { issueBearerToken, parseLifetime } from '../../api/services/bearerTokens';
import { AUTH_SECRET } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { holder, PASSWORD } from '../support/recovery';
import type { Api } from '../support/verification';
import { checkPage, pagesSuite, onServer } from './browser';

describe('member invitation page in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;
  let browser: Browser;
  const { faults } = suite;

  before(async function () {
    ({ api, browser } = suite);
  });

  it('accepts an invitation through the sign-in step', async () => {
    const seed = await seedOrganization(api.db);
    const invitee = await holder(api.db);
    const { token } = await issueBearerToken({ db: api.db, authSecret: AUTH_SECRET }, { role: 'customer', sub: seed.legalRep.id }, parseLifetime('1h')!);
    const sent = await api.call('POST', `/v1/organizations/${seed.org.id}/invitations`, { token, body: { email: invitee.login_email, role: 'collaborator' } });
    assert.equal(sent.status, 201, sent.text);
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && /\/invitations\/[A-Za-z0-9_-]{43}/.test(m.text));
    const link = onServer(/(https?:\/\/\S+\/invitations\/[A-Za-z0-9_-]{43})/.exec(mail.text)![1]!, api.base);
    const member = () =>
      api.db.selectFrom('memberships').select('role').where('organization_id', '=', seed.org.id).where('account_id', '=', invitee.id).executeTakeFirst();

    assert.equal((await fetch(link)).status, 200, 'a scanner may open it');
    assert.equal(await member(), undefined, 'opening the link accepts nothing');

    const page = await suite.open();
    await page.goto(link);
    await page.getByText(`invites you to join it as a collaborator`).waitFor();
    await checkPage(page, 'invitation-sign-in-first');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Login').fill(invitee.login_email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Accept the invitation' }).waitFor();
    await checkPage(page, 'invitation-accept');
    await page.getByRole('button', { name: 'Accept the invitation' }).click();
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await checkPage(page, 'invitation-joined');
    assert.deepEqual(await member(), { role: 'collaborator' });

    await page.goto(link);
    await page.getByRole('heading', { name: 'This invitation no longer works' }).waitFor();
  });

  it('accepts a legal-representative handover through the sign-in step', async () => {
    const seed = await seedOrganization(api.db);
    const invitee = await holder(api.db);
    const { token } = await issueBearerToken({ db: api.db, authSecret: AUTH_SECRET }, { role: 'customer', sub: seed.legalRep.id }, parseLifetime('1h')!);
    const started = await api.call('POST', `/v1/organizations/${seed.org.id}/legal-representative-handovers`, {
      token,
      body: { from: seed.legalRep.id, to: { email: invitee.login_email } },
    });
    assert.equal(started.status, 202, started.text);
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && /\/handover\/[A-Za-z0-9_-]{43}/.test(m.text));
    const link = onServer(/(https?:\/\/\S+\/handover\/[A-Za-z0-9_-]{43})/.exec(mail.text)![1]!, api.base);

    const page = await suite.open({ locale: 'fr-CH', extraHTTPHeaders: { 'accept-language': 'fr' } });
    await page.goto(link);
    await page.getByRole('heading', { name: 'Devenir représentant légal' }).waitFor();
    await checkPage(page, 'handover-sign-in-first-fr');
    await page.getByRole('link', { name: 'Se connecter' }).click();
    await page.locator('#login').fill(invitee.login_email);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.getByRole('button', { name: 'Accepter le rôle' }).click();
    await page.getByRole('heading', { name: 'Reprise acceptée' }).waitFor();
    await checkPage(page, 'handover-accepted-fr');
    for (let i = 0; i < 100; i++) {
      const m = await api.db
        .selectFrom('memberships')
        .select('role')
        .where('organization_id', '=', seed.org.id)
        .where('account_id', '=', invitee.id)
        .executeTakeFirst();
      if (m?.role === 'legal_representative') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('the invitee did not become legal representative');
  });
});
