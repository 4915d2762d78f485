// The verification steps as pages (issue 18) in chromium on a phone: the whole case from the emailed
// link (number, SMS code, position from granted geolocation, identity card and selfie from camera
// files), resumed on reload; a refused position says what to do; a used link says where to go. Every
// page passes axe-core. The agent's side of the same case is the desk's test.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { seedOrganization, tempDir } from '../support/fixtures';
import { openCase, smsCodeFor, testImage, uniquePhone, type Api } from '../support/verification';
import { checkPage, pagesSuite } from './browser';

describe('verification pages in chromium (issue 18)', function () {
  this.timeout(180_000);
  const suite = pagesSuite();
  let api: Api;
  let browser: Browser;
  const { faults } = suite;
  let photos: { front: string; back: string; selfie: string };

  before(async function () {
    ({ api, browser } = suite);
    // Camera pictures as the file chooser hands them over: PNG files on disk.
    const dir = tempDir('photos');
    const file = async (name: string) => {
      const p = path.join(dir, `${name}.png`);
      writeFileSync(p, Buffer.from(await testImage(name), 'base64'));
      return p;
    };
    photos = { front: await file('front'), back: await file('back'), selfie: await file('selfie') };
  });
  const open = suite.open;

  it('walks a whole case from the emailed link to the review, resumes the current step on reload, and the desk decides it showing the holder', async () => {
    const seed = await seedOrganization(api.db);
    const { caseId, token } = await openCase(api, seed.legalRep.id);
    const page = await open({ permissions: ['geolocation'], geolocation: { latitude: 46.52, longitude: 6.63, accuracy: 25 } });
    await page.goto(`${api.base}/verify/${token}`);
    await checkPage(page, 'verify-phone');

    const phone = uniquePhone();
    await page.getByLabel('Your mobile number').fill(phone);
    await page.getByRole('button', { name: 'Send the code' }).click();
    await page.getByLabel('Code from the SMS').waitFor();
    await checkPage(page, 'verify-code');
    await page.getByLabel('Code from the SMS').fill('000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#code-error').waitFor();
    await page.getByLabel('Code from the SMS').fill(await smsCodeFor(phone));
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.getByRole('button', { name: 'Share my position' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Share my position' }).waitFor();
    await checkPage(page, 'verify-position');
    await page.getByRole('button', { name: 'Share my position' }).click();

    await page.getByLabel('Front side').waitFor();
    await checkPage(page, 'verify-document');
    await page.getByLabel('Front side').setInputFiles(photos.front);
    await page.getByLabel('Back side').setInputFiles(photos.back);
    await page.getByRole('button', { name: 'Send' }).click();

    await page.getByLabel('Selfie with the document').waitFor();
    await checkPage(page, 'verify-selfie');
    await page.getByLabel('Selfie with the document').setInputFiles(photos.selfie);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('heading', { name: 'Thank you, we have everything' }).waitFor();
    await checkPage(page, 'verify-submitted');

    const c = await api.db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow();
    assert.equal(c.status, 'submitted');
    const docs = await api.db.selectFrom('verification_documents').select('kind').where('case_id', '=', caseId).orderBy('kind').execute();
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['id_card_back', 'id_card_front', 'selfie'],
    );
    // The link has done its work: opened again, it says where to go.
    await page.goto(`${api.base}/verify/${token}`);
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
    await checkPage(page, 'verify-link-used');

    // The agent decides it on the desk, which shows whose identity this is.
    const desk = await open({ viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 });
    await desk.goto(`${api.base}/desk/`);
    await desk.getByLabel('Agent token').fill(await api.token('agent', seed.agent.id));
    await desk.getByRole('button', { name: 'Sign in' }).click();
    const row = desk.locator(`#queue-rows tr[data-case-id="${caseId}"]`);
    await row.getByRole('button', { name: 'Claim' }).click();
    await desk.locator('#case-facts').getByText(seed.legalRep.display_name, { exact: true }).waitFor();
    await desk.locator('#documents img').nth(2).waitFor();
    await desk.getByLabel('Approve').check();
    await desk.getByLabel('Reason', { exact: true }).fill('The card and the selfie match the holder.');
    await desk.getByRole('button', { name: 'Record decision' }).click();
    await desk.getByRole('status').filter({ hasText: 'Case approved.' }).waitFor();
    const decided = await api.db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow();
    assert.equal(decided.status, 'approved');
  });

  it('says what to do when the position is refused, in French from the browser', async () => {
    const seed = await seedOrganization(api.db);
    const { token } = await openCase(api, seed.legalRep.id);
    const phone = uniquePhone();
    assert.equal((await api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } })).status, 200);
    assert.equal((await api.call('POST', `/v1/verification/${token}/phone/confirm`, { body: { code: await smsCodeFor(phone) } })).status, 200);
    // No geolocation permission: the browser refuses the position.
    const page = await open({ locale: 'fr-CH', extraHTTPHeaders: { 'accept-language': 'fr-CH,fr;q=0.9' } });
    await page.goto(`${api.base}/verify/${token}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    await page.getByRole('button', { name: 'Partager ma position' }).click();
    await page.getByText('La position a été refusée').waitFor();
    await checkPage(page, 'verify-position-refused-fr');
  });
});
