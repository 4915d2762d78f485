// Recovery pages (issue 18; P3, P4) in chromium on a phone: a password reset from the emailed link,
// the used link's page, the login-email recovery to its channel, one page in French; every page
// passes axe-core. The request page is the same for a known and an unknown login, as the API's.
import { strict as assert } from 'node:assert';
import type { Browser } from 'playwright-core';
import { codeIn, holder, login, mailTo, smsTo } from '../support/recovery';
import type { Api } from '../support/verification';
import { checkPage, pagesSuite, onServer } from './browser';

describe('recovery pages in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;
  let browser: Browser;
  const { faults } = suite;

  before(async function () {
    ({ api, browser } = suite);
  });
  const open = suite.open;

  it('resets a password from the emailed link, then the password logs in; the used link says to ask again', async () => {
    const h = await holder(api.db);
    const page = await open();
    await page.goto(`${api.base}/recover/password`);
    await checkPage(page, 'recover-password');
    await page.getByLabel('Login').fill(h.login_email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Check your messages' }).waitFor();
    await checkPage(page, 'recover-password-sent');

    const mail = await mailTo(h.recovery_email!, /Reset your password/);
    const link = /(https?:\/\/\S+\/reset-password\/[A-Za-z0-9_-]{43})\b/.exec(mail.text)![1]!;
    if (mail.html !== null) assert.ok(mail.html.includes(link), 'an HTML part links to the page too');
    await page.goto(onServer(link, api.base));
    assert.ok(await page.getByText('At least 10 characters').isVisible(), 'the rules are shown');
    await checkPage(page, 'reset-password');

    const newPassword = 'a brand new passphrase';
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill('not the same passphrase');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.locator('.error-summary').getByText('The two passwords are not the same.').waitFor();
    await checkPage(page, 'reset-password-errors');

    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill(newPassword);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Your password is set' }).waitFor();
    assert.match(await page.locator('main').innerText(), /Every session of your account was ended/);
    await checkPage(page, 'reset-password-done');
    assert.equal((await login(api, h.login_email, newPassword)).status, 201, 'the new password logs in');

    // The link worked once: opening it again shows the form, and using it says to ask for a new one.
    await page.goto(onServer(link, api.base));
    await page.getByLabel('New password', { exact: true }).fill('yet another passphrase');
    await page.getByLabel('Repeat the new password').fill('yet another passphrase');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Set the new password' }).click(),
    ]);
    assert.equal(answer.status(), 404);
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href'), '/recover/password');
    await checkPage(page, 'reset-password-link-used');
    assert.equal((await login(api, h.login_email, 'yet another passphrase')).status, 401);
  });

  it('answers the same page for a known login and an unknown one', async () => {
    const h = await holder(api.db);
    const answer = async (who: string) => {
      const posted = await fetch(`${api.base}/recover/password`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login: who, channel: 'sms' }),
      });
      assert.equal(posted.status, 303);
      const location = posted.headers.get('location')!;
      const id = /^\/recover\/password\/([0-9a-f-]{36})\?via=sms$/.exec(location)![1]!;
      const page = await fetch(api.base + location);
      return { status: page.status, body: (await page.text()).split(id).join('<id>') };
    };
    const known = await answer(h.login_email);
    assert.deepEqual(await answer(`nobody-${Date.now()}@customer.test`), known);
    assert.match(known.body, /If this login exists and has a mobile phone/);
  });

  it('recovers a forgotten login email: number, SMS code, channel', async () => {
    const h = await holder(api.db);
    const page = await open();
    await page.goto(`${api.base}/recover/login-email`);
    await checkPage(page, 'recover-login-email');
    await page.getByLabel('Mobile number').fill('not a number');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('.error-summary').waitFor();
    await checkPage(page, 'recover-login-email-errors');
    await page.getByLabel('Mobile number').fill(h.mobile_phone);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Code from the SMS').waitFor();
    await checkPage(page, 'recover-login-email-code');

    await page.getByLabel('Code from the SMS').fill('000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page
      .getByText(/Tries left: \d/)
      .first()
      .waitFor();

    const code = codeIn((await smsTo(h.mobile_phone, /recover your login/)).body);
    await page.getByLabel('Code from the SMS').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Where should we send your login?' }).waitFor();
    await checkPage(page, 'recover-login-email-channel');
    await page.getByLabel(/By email to r•••/).check();
    await page.getByRole('button', { name: 'Send my login' }).click();
    await page.getByRole('heading', { name: 'Your login is on its way' }).waitFor();
    await checkPage(page, 'recover-login-email-sent');
    assert.match((await mailTo(h.recovery_email!, /Your login/)).text, new RegExp(h.login_email.replace(/[.]/g, '\\.')));
  });

  it('speaks French from Accept-Language, and the switch goes back to English', async () => {
    const page = await open({ locale: 'fr-CH' });
    await page.goto(`${api.base}/recover/password`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    await page.getByRole('heading', { name: 'Mot de passe oublié' }).waitFor();
    await page.getByRole('button', { name: 'Continuer' }).click();
    await page.locator('.error-summary').getByText('Indiquez votre identifiant (3 à 254 caractères).').waitFor();
    await checkPage(page, 'recover-password-fr');
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Forgotten password' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  });
});
