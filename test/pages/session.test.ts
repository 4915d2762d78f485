// The page sign-in (issue 18) in chromium on a phone: a wrong password said next to its field, the
// right one signs in with a cookie the script cannot read, sent only to the signed-in pages, and a
// form posted from another site is refused.
import { strict as assert } from 'node:assert';
import type { Browser } from 'playwright-core';
import { holder, PASSWORD } from '../support/recovery';
import type { Api } from '../support/verification';
import { checkPage, pagesSuite } from './browser';

describe('page sign-in in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;
  let browser: Browser;
  const { faults } = suite;

  before(async function () {
    ({ api, browser } = suite);
  });

  it('signs in with the password, in a cookie kept from scripts and other sites', async () => {
    const h = await holder(api.db);
    const page = await suite.open();
    await page.goto(`${api.base}/sign-in`);
    await checkPage(page, 'sign-in');
    await page.getByLabel('Login email').fill(h.login_email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#password-error').getByText('The login or the password is not right.').waitFor();
    await checkPage(page, 'sign-in-errors');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
    const cookies = (await page.context().cookies()).filter((c) => c.name === 'page_session');
    assert.deepEqual(cookies.map((c) => c.path).sort(), ['/client-invitations', '/handover', '/invitations', '/rfp', '/sign-in']);
    assert.ok(cookies.every((c) => c.httpOnly && c.sameSite === 'Strict'));
    assert.equal(await page.evaluate('document.cookie.includes("page_session")'), false);

    // The same form posted from another site is refused, even with the cookie.
    const cookie = `page_session=${cookies[0]!.value}`;
    const forged = await fetch(`${api.base}/sign-in/out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://attacker.test', cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /was not sent from our pages/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(
      (await page.context().cookies()).filter((c) => c.name === 'page_session'),
      [],
    );
  });
});
