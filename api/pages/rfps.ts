/**
 * The pages of a request for proposal (P11, issue 18). The author's cancel page, from the emailed
 * link: GET shows the request and changes nothing; the button's POST cancels it through the same
 * service as the API. The partners' page, from the excerpt they are emailed: the full request and
 * the author's contact, to a signed-in member of a partner that takes requests, while it is open.
 */
import { Problem } from '../problems';
import { rfpService } from '../services/rfps';
import { html } from './html';
import { format, type Messages } from './i18n';
import { messagePanel, renderPage } from './layout';
import { definePage, type PageContext, type PageRoute } from './router';
import { signOutForm, type pageSessions } from './session';
import type { PagesDeps } from './index';

const t: Messages<
  | 'title'
  | 'intro'
  | 'open'
  | 'cancel'
  | 'keep'
  | 'doneTitle'
  | 'doneText'
  | 'invalidTitle'
  | 'invalidText'
  | 'readTitle'
  | 'signInFirst'
  | 'signIn'
  | 'contact'
  | 'closedTitle'
  | 'closedText'
> = {
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
    readTitle: 'Request for proposal',
    signInFirst: 'Sign in as a member of your partner organization to read the whole request and its contact.',
    signIn: 'Sign in',
    contact: 'Contact: {name}',
    closedTitle: 'This request is no longer open',
    closedText: 'Its author cancelled it, or it closed. Partners no longer see it.',
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
    readTitle: "Demande d'offre",
    signInFirst: 'Connectez-vous en tant que membre de votre organisation partenaire pour lire toute la demande et ses coordonnées.',
    signIn: 'Se connecter',
    contact: 'Contact : {name}',
    closedTitle: "Cette demande n'est plus ouverte",
    closedText: "Son auteur l'a annulée, ou elle est close. Les partenaires ne la voient plus.",
  },
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function rfpPages(deps: PagesDeps, sessions: ReturnType<typeof pageSessions>): PageRoute[] {
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
    definePage({
      method: 'get',
      path: '/rfp/:id',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const closed = () => ({
          status: 404,
          html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.closedTitle, main: messagePanel('error', m.closedText) }),
        });
        if (!UUID.test(ctx.params.id ?? '')) return closed();
        const who = await sessions.signedIn(ctx);
        if (!who) {
          const main = html`<p>${m.signInFirst}</p>
            <p><a class="button" href="${sessions.signInHref(ctx.path)}">${m.signIn}</a></p>`;
          return { html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.readTitle, main }) };
        }
        let r;
        try {
          r = await service.read(ctx.params.id!, who.sub);
        } catch (err) {
          if (err instanceof Problem && err.slug === 'not-found') return closed();
          throw err;
        }
        const date = new Date(r.closesAt).toLocaleDateString(ctx.lang === 'fr' ? 'fr-CH' : 'en-GB', {
          day: 'numeric',
          month: 'long',
          year: 'numeric',
          timeZone: 'UTC',
        });
        const main = html`<h2>${r.title}</h2>
          <p>${r.summary}</p>
          <p class="details">${r.details}</p>
          <p>${format(m.contact, { name: r.contact.name })} · <a href="mailto:${r.contact.email}">${r.contact.email}</a></p>
          <p class="hint">${format(m.open, { date })}</p>
          ${signOutForm(ctx.lang)}`;
        return { html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.readTitle, main }) };
      },
    }),
  ];
}
