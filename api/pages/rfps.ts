/**
 * The cancel page of a request for proposal (P11, issue 18), from the emailed link: GET shows the
 * request and changes nothing; the button's POST cancels it through the same service as the API.
 */
import { Problem } from '../problems';
import { rfpService } from '../services/rfps';
import { html } from './html';
import { format, type Messages } from './i18n';
import { messagePanel, renderPage } from './layout';
import { definePage, type PageContext, type PageRoute } from './router';
import type { PagesDeps } from './index';

const t: Messages<'title' | 'intro' | 'open' | 'cancel' | 'keep' | 'doneTitle' | 'doneText' | 'invalidTitle' | 'invalidText'> = {
  en: {
    title: 'Cancel your request for proposal',
    intro: 'Partners see this request and your contact while it is open. Cancel it if you found a solution.',
    open: 'Open until {date}.',
    cancel: 'Cancel the request',
    keep: 'To keep it open, simply close this page.',
    doneTitle: 'Request cancelled',
    doneText: 'Partners no longer see your request or your contact.',
    invalidTitle: 'This link no longer works',
    invalidText: 'The request was already cancelled or has closed. Partners no longer see it.',
  },
  fr: {
    title: "Annuler votre demande d'offre",
    intro: "Les partenaires voient cette demande et vos coordonnées tant qu'elle est ouverte. Annulez-la si vous avez trouvé une solution.",
    open: "Ouverte jusqu'au {date}.",
    cancel: 'Annuler la demande',
    keep: 'Pour la garder ouverte, fermez simplement cette page.',
    doneTitle: 'Demande annulée',
    doneText: 'Les partenaires ne voient plus votre demande ni vos coordonnées.',
    invalidTitle: 'Ce lien ne fonctionne plus',
    invalidText: 'La demande a déjà été annulée ou est close. Les partenaires ne la voient plus.',
  },
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function rfpPages(deps: PagesDeps): PageRoute[] {
  const service = rfpService({ db: deps.db, client: deps.client, taskQueue: deps.config.taskQueue, clock: deps.clock });
  const tokenOf = (ctx: PageContext) => {
    if (!TOKEN.test(ctx.params.token ?? '')) throw new Problem('cancellation-link-invalid');
    return ctx.params.token!;
  };
  // A used or closed link is worded for a request, not for a product (the API's problem is shared).
  const worded =
    (handler: PageRoute['handler']): PageRoute['handler'] =>
    async (ctx) => {
      try {
        return await handler(ctx);
      } catch (err) {
        if (!(err instanceof Problem) || err.slug !== 'cancellation-link-invalid') throw err;
        const m = t[ctx.lang];
        return { status: 404, html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.invalidTitle, main: messagePanel('error', m.invalidText) }) };
      }
    };
  return [
    definePage({
      method: 'get',
      path: '/rfp/cancelled',
      handler: async ({ lang, path }) => ({ html: renderPage({ lang, path, title: t[lang].doneTitle, main: messagePanel('success', t[lang].doneText) }) }),
    }),
    definePage({
      method: 'get',
      path: '/rfp/cancel/:token',
      handler: worded(async (ctx) => {
        const m = t[ctx.lang];
        const token = tokenOf(ctx);
        const r = await service.viewCancelLink(token);
        const date = r.closesAt.toLocaleDateString(ctx.lang === 'fr' ? 'fr-CH' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
        const main = html`<p>${m.intro}</p>
          <h2>${r.title}</h2>
          <p>${r.summary}</p>
          <p class="hint">${format(m.open, { date })}</p>
          <form method="post" action="/rfp/cancel/${token}"><button type="submit">${m.cancel}</button></form>
          <p>${m.keep}</p>`;
        return { html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
      }),
    }),
    definePage({
      method: 'post',
      path: '/rfp/cancel/:token',
      handler: worded(async (ctx) => {
        await service.cancelByLink(tokenOf(ctx));
        return { redirect: '/rfp/cancelled' };
      }),
    }),
  ];
}
