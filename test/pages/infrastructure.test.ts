// The customer pages' frame (issue 18): escaping by construction, the language from the switch,
// the cookie or Accept-Language, and a page refused as a page, never as JSON.
import assert from 'node:assert/strict';
import express from 'express';
import { Problem } from '../../api/problems';
import { html } from '../../api/pages/html';
import { fromAcceptLanguage } from '../../api/pages/i18n';
import { definePage, pageNotFound, pagesRouter } from '../../api/pages/router';
import { renderPage } from '../../api/pages/layout';

describe('customer pages: the frame', () => {
  it('escapes every interpolated value unless it is markup we built', () => {
    const name = '<img src=x onerror=alert(1)>"';
    assert.equal(
      html`<p title="${name}">${name}${html`<b>ok</b>`}</p>`.toString(),
      '<p title="&lt;img src=x onerror=alert(1)&gt;&quot;">&lt;img src=x onerror=alert(1)&gt;&quot;<b>ok</b></p>',
    );
  });

  it('picks French or English from Accept-Language by q-value, English otherwise', () => {
    assert.equal(fromAcceptLanguage('fr-CH,fr;q=0.9,en;q=0.8'), 'fr');
    assert.equal(fromAcceptLanguage('de-CH,de;q=0.9,en;q=0.5,fr;q=0.4'), 'en');
    assert.equal(fromAcceptLanguage('en;q=0.2, fr-FR'), 'fr');
    assert.equal(fromAcceptLanguage('de'), undefined);
  });

  it('renders in the chosen language, remembers the switch, answers refusals and unknown paths as pages', async () => {
    const app = express();
    app.use(
      pagesRouter(
        [
          definePage({
            method: 'get',
            path: '/p/hello',
            handler: async ({ lang, path }) => ({ html: renderPage({ lang, path, title: lang === 'fr' ? 'Bonjour' : 'Hello', main: html`<p>${lang}</p>` }) }),
          }),
          definePage({
            method: 'get',
            path: '/p/used',
            handler: async () => {
              throw new Problem('recovery-link-invalid');
            },
          }),
        ],
        (lang, p) => (p.slug === 'recovery-link-invalid' ? { title: lang === 'fr' ? 'Lien expiré' : 'Link expired', text: 'Ask for a new link' } : undefined),
      ),
    );
    app.use('/p', pageNotFound);
    const server = app.listen(0);
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const fr = await fetch(`${base}/p/hello`, { headers: { 'accept-language': 'fr-CH,fr;q=0.9' } });
      const body = await fr.text();
      assert.match(body, /<html lang="fr">/);
      assert.match(body, /href="\/p\/hello\?lang=en"/);
      assert.match(fr.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);

      const switched = await fetch(`${base}/p/hello?lang=en`, { headers: { 'accept-language': 'fr' } });
      assert.match(await switched.text(), /<html lang="en">/);
      const cookie = switched.headers.get('set-cookie')!.split(';')[0]!;
      assert.match(await (await fetch(`${base}/p/hello`, { headers: { 'accept-language': 'fr', cookie } })).text(), /<h1>Hello<\/h1>/);

      const used = await fetch(`${base}/p/used`, { headers: { 'accept-language': 'fr' } });
      assert.equal(used.status, 404);
      assert.match(used.headers.get('content-type')!, /text\/html/);
      assert.match(await used.text(), /Lien expiré/);

      const unknown = await fetch(`${base}/p/nothing-here`);
      assert.equal(unknown.status, 404);
      assert.match(await unknown.text(), /Page not found/);

      const css = await fetch(`${base}/pages/assets/pages.css`);
      assert.equal(css.status, 200);
      assert.equal((await fetch(`${base}/pages/assets/router.ts`)).status, 404);
    } finally {
      server.close();
    }
  });
});
