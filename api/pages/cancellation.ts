/**
 * The cancellation confirmation page (P12, issue 18), from the emailed link. GET shows what will end
 * and what stays due and changes nothing (mail scanners open links); only the button's POST
 * confirms, through the cancellation service the API route calls, so the page and the Manager confirm the same way.
 */
import { cancellationService } from '../services/cancellation';
import { html } from './html';
import { format, type Lang, type Messages } from './i18n';
import { messagePanel, renderPage } from './layout';
import { definePage, type PageContext, type PageRoute, type ProblemPages } from './router';
import type { PagesDeps } from './index';
import { Problem } from '../problems';

const t: Messages<
  | 'title'
  | 'intro'
  | 'product'
  | 'ends'
  | 'backups'
  | 'due'
  | 'fee'
  | 'invoice'
  | 'nothingDue'
  | 'until'
  | 'confirm'
  | 'keep'
  | 'doneTitle'
  | 'doneText'
  | 'invalidTitle'
  | 'invalidText'
> = {
  en: {
    title: 'Confirm the cancellation',
    intro: 'You asked to cancel this product. Nothing happens until you confirm below.',
    product: 'Product',
    ends: 'What ends',
    backups: 'The product and its {count} backups are deleted.',
    due: 'What stays due',
    fee: '{description}: {amount}',
    invoice: 'Invoice {reference}: {amount} still open',
    nothingDue: 'Nothing stays due.',
    until: 'This link works once, until {date}.',
    confirm: 'Confirm the cancellation',
    keep: 'To keep the product, simply close this page.',
    doneTitle: 'Cancellation confirmed',
    doneText: 'The product is being terminated. You receive the final invoice by email if anything stays due.',
    invalidTitle: 'This link no longer works',
    invalidText: 'It was already used, or it lapsed, or the cancellation was withdrawn. To cancel the product, ask again from the product in the Manager.',
  },
  fr: {
    title: 'Confirmer la résiliation',
    intro: 'Vous avez demandé la résiliation de ce produit. Rien ne se passe tant que vous ne confirmez pas ci-dessous.',
    product: 'Produit',
    ends: 'Ce qui prend fin',
    backups: 'Le produit et ses {count} sauvegardes sont supprimés.',
    due: 'Ce qui reste dû',
    fee: '{description} : {amount}',
    invoice: 'Facture {reference} : {amount} encore ouverts',
    nothingDue: 'Rien ne reste dû.',
    until: "Ce lien fonctionne une fois, jusqu'au {date}.",
    confirm: 'Confirmer la résiliation',
    keep: 'Pour garder le produit, fermez simplement cette page.',
    doneTitle: 'Résiliation confirmée',
    doneText: "Le produit est en cours de suppression. Vous recevez la facture finale par e-mail s'il reste un montant dû.",
    invalidTitle: 'Ce lien ne fonctionne plus',
    invalidText:
      'Il a déjà été utilisé, a expiré, ou la résiliation a été retirée. Pour résilier le produit, refaites la demande depuis le produit dans le Manager.',
  },
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const money = (lang: Lang, cents: number, currency: string) =>
  `${(cents / 100).toLocaleString(lang === 'fr' ? 'fr-CH' : 'en-GB', { minimumFractionDigits: 2 })} ${currency}`;
const day = (lang: Lang, at: Date) =>
  at.toLocaleDateString(lang === 'fr' ? 'fr-CH' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

export function cancellationPages(deps: PagesDeps): PageRoute[] {
  const service = cancellationService({ client: deps.client, db: deps.db, taskQueue: deps.config.taskQueue, clock: deps.clock });
  const tokenOf = (ctx: PageContext) => {
    if (!TOKEN.test(ctx.params.token ?? '')) throw new Problem('cancellation-link-invalid');
    return ctx.params.token!;
  };

  return [
    definePage({
      method: 'get',
      path: '/cancel/confirmed',
      handler: async ({ lang, path }) => ({ html: renderPage({ lang, path, title: t[lang].doneTitle, main: messagePanel('success', t[lang].doneText) }) }),
    }),
    definePage({
      method: 'get',
      path: '/cancel/:token',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const token = tokenOf(ctx);
        const v = await service.viewConfirmationLink(token);
        const due = [
          ...v.fees.map((f) => format(m.fee, { description: f.description, amount: money(ctx.lang, f.amountCents, f.currency) })),
          ...v.invoices.map((i) => format(m.invoice, { reference: i.reference, amount: money(ctx.lang, i.dueCents, i.currency) })),
        ];
        const main = html`<p>${m.intro}</p>
          <dl class="summary">
            <dt>${m.product}</dt>
            <dd>${v.productName}</dd>
          </dl>
          <h2>${m.ends}</h2>
          <p>${format(m.backups, { count: v.backups })}</p>
          <h2>${m.due}</h2>
          ${
            due.length
              ? html`<ul>
                  ${due.map((d) => html`<li>${d}</li>`)}
                </ul>`
              : html`<p>${m.nothingDue}</p>`
          }
          <p class="hint">${format(m.until, { date: day(ctx.lang, v.expiresAt) })}</p>
          <form method="post" action="/cancel/${token}"><button type="submit">${m.confirm}</button></form>
          <p>${m.keep}</p>`;
        return { html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
      },
    }),
    definePage({
      method: 'post',
      path: '/cancel/:token',
      handler: async (ctx) => {
        await service.confirmByLink(tokenOf(ctx));
        return { redirect: '/cancel/confirmed' };
      },
    }),
  ];
}

export const cancellationProblemPages: ProblemPages = (lang, problem) =>
  problem.slug === 'cancellation-link-invalid' ? { title: t[lang].invalidTitle, text: t[lang].invalidText } : undefined;
