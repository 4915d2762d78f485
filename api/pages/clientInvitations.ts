/**
 * The partner client-invitation page (P11, issue 18), from the emailed link. GET shows what the
 * partner asks and, to a signed-in manager of an organization, the rights to grant: which
 * organization, full or chosen products, billed to whom. The client may grant different rights
 * from those asked [003]. Only the form's POST accepts, through the partners service the API calls.
 */
import type { PartnerRights } from '../../db/tables/partners.table';
import { partnerService } from '../services/partners';
import { Problem } from '../problems';
import { html, type SafeHtml } from './html';
import { format, type Lang, type Messages } from './i18n';
import { errorSummary, messagePanel, renderPage, type FieldErrors } from './layout';
import { definePage, type PageContext, type PageRoute } from './router';
import { requireSameOrigin, signOutForm, type pageSessions } from './session';
import type { PagesDeps } from './index';

type Key =
  | 'title'
  | 'asks'
  | 'full'
  | 'some'
  | 'billedPartner'
  | 'billedClient'
  | 'mayDiffer'
  | 'signInFirst'
  | 'signIn'
  | 'noOrganization'
  | 'organization'
  | 'access'
  | 'accessFull'
  | 'accessSome'
  | 'products'
  | 'productsHint'
  | 'noProducts'
  | 'billing'
  | 'billingPartner'
  | 'billingClient'
  | 'grant'
  | 'chooseOrganization'
  | 'chooseProducts'
  | 'doneTitle'
  | 'doneText';

const t: Messages<Key> = {
  en: {
    title: 'Accept a partner',
    asks: '{partner}, a partner of ours, asks for {rights}.',
    full: 'full access to your account',
    some: 'access to {count} chosen product(s)',
    billedPartner: 'billed to the partner',
    billedClient: 'billed to you',
    mayDiffer: 'You decide: you may grant these rights or different ones. Either side can end the partnership at any time.',
    signInFirst: 'Sign in with the invited address ({email}) to choose the rights you grant.',
    signIn: 'Sign in',
    noOrganization: 'You manage no organization: only a legal representative or an administrator grants a partner rights.',
    organization: 'Organization the partner manages',
    access: 'Access',
    accessFull: 'Full access to the account',
    accessSome: 'Only the products chosen below',
    products: 'Products',
    productsHint: 'For access to chosen products: tick those of the organization chosen above.',
    noProducts: 'No product yet',
    billing: 'Billing',
    billingPartner: 'The partner pays',
    billingClient: 'We pay',
    grant: 'Grant these rights',
    chooseOrganization: 'Choose the organization the partner manages',
    chooseProducts: 'Tick at least one product, or choose full access',
    doneTitle: 'Partner accepted',
    doneText: 'The partner now manages what you granted, and is told which rights you gave. You or the partner can end it at any time.',
  },
  fr: {
    title: 'Accepter un partenaire',
    asks: '{partner}, un de nos partenaires, demande {rights}.',
    full: "l'accès complet à votre compte",
    some: "l'accès à {count} produit(s) choisi(s)",
    billedPartner: 'facturé au partenaire',
    billedClient: 'facturé à vous',
    mayDiffer: "Vous décidez : vous pouvez accorder ces droits ou d'autres. Chacun peut mettre fin au partenariat à tout moment.",
    signInFirst: "Connectez-vous avec l'adresse invitée ({email}) pour choisir les droits que vous accordez.",
    signIn: 'Se connecter',
    noOrganization: 'Vous ne gérez aucune organisation : seuls un représentant légal ou un administrateur accordent des droits à un partenaire.',
    organization: 'Organisation gérée par le partenaire',
    access: 'Accès',
    accessFull: 'Accès complet au compte',
    accessSome: 'Seulement les produits choisis ci-dessous',
    products: 'Produits',
    productsHint: "Pour l'accès à des produits choisis : cochez ceux de l'organisation choisie ci-dessus.",
    noProducts: 'Aucun produit pour le moment',
    billing: 'Facturation',
    billingPartner: 'Le partenaire paie',
    billingClient: 'Nous payons',
    grant: 'Accorder ces droits',
    chooseOrganization: "Choisissez l'organisation gérée par le partenaire",
    chooseProducts: "Cochez au moins un produit, ou choisissez l'accès complet",
    doneTitle: 'Partenaire accepté',
    doneText:
      'Le partenaire gère désormais ce que vous avez accordé, et il est informé des droits donnés. Vous ou le partenaire pouvez y mettre fin à tout moment.',
  },
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const describe = (lang: Lang, r: PartnerRights) => {
  const m = t[lang];
  return `${r.access === 'full' ? m.full : format(m.some, { count: r.productIds?.length ?? 0 })}, ${r.billing === 'partner' ? m.billedPartner : m.billedClient}`;
};

interface Choice {
  organizationId?: string;
  access: 'full' | 'restricted';
  productIds: string[];
  billing: 'partner' | 'client';
}

export function clientInvitationPages(deps: PagesDeps, sessions: ReturnType<typeof pageSessions>): PageRoute[] {
  const partners = partnerService({ client: deps.client, db: deps.db, taskQueue: deps.config.taskQueue, clock: deps.clock });
  const tokenOf = (ctx: PageContext) => {
    if (!TOKEN.test(ctx.params.token ?? '')) throw new Problem('invitation-link-invalid');
    return ctx.params.token!;
  };

  async function render(ctx: PageContext, token: string, choice?: Choice, errors: FieldErrors = {}, status = 200) {
    const m = t[ctx.lang];
    const offer = await partners.viewClientInvitationLink(token);
    const intro = html`<p>${format(m.asks, { partner: offer.partnerName, rights: describe(ctx.lang, offer.requested) })}</p>
      <p>${m.mayDiffer}</p>`;
    const who = await sessions.signedIn(ctx);
    if (!who) {
      const main = html`${intro}
        <p>${format(m.signInFirst, { email: offer.invitedEmail })}</p>
        <p><a class="button" href="${sessions.signInHref(ctx.path)}">${m.signIn}</a></p>`;
      return { status, html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
    }
    const orgs = await partners.grantableOrganizations(who.sub);
    if (!orgs.length) {
      const main = html`${intro}${messagePanel('info', m.noOrganization)}${signOutForm(ctx.lang)}`;
      return { status, html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
    }
    const c: Choice = choice ?? {
      ...(orgs.length === 1 ? { organizationId: orgs[0]!.id } : {}),
      access: offer.requested.access,
      productIds: offer.requested.productIds ?? [],
      billing: offer.requested.billing,
    };
    const radio = (name: string, value: string, label: string, checked: boolean) =>
      html`<div class="choice">
        <input type="radio" id="${name}-${value}" name="${name}" value="${value}" ${checked ? html` checked` : ''} /><label for="${name}-${value}"
          >${label}</label
        >
      </div>`;
    const error = (id: string): SafeHtml => (errors[id] ? html`<p class="error" id="${id}-error">${errors[id]}</p>` : html``);
    const products = orgs.flatMap((o) => o.products.map((p) => ({ ...p, organization: o.name })));
    const form = html`<form method="post" action="/client-invitations/${token}" novalidate>
      <fieldset
        class="field${errors.organization ? ' has-error' : ''}"
        id="organization"
        ${errors.organization ? html` aria-describedby="organization-error"` : ''}
      >
        <legend>${m.organization}</legend>
        ${error('organization')} ${orgs.map((o) => radio('organization', o.id, o.name, c.organizationId === o.id))}
      </fieldset>
      <fieldset class="field">
        <legend>${m.access}</legend>
        ${radio('access', 'full', m.accessFull, c.access === 'full')} ${radio('access', 'restricted', m.accessSome, c.access === 'restricted')}
      </fieldset>
      <fieldset class="field${errors.products ? ' has-error' : ''}" id="products" aria-describedby="products-hint${errors.products ? ' products-error' : ''}">
        <legend>${m.products}</legend>
        <p class="hint" id="products-hint">${m.productsHint}</p>
        ${error('products')}
        ${
          products.length
            ? products.map(
                (p) =>
                  html`<div class="choice">
                    <input type="checkbox" id="product-${p.id}" name="product-${p.id}" value="on" ${c.productIds.includes(p.id) ? html` checked` : ''} /><label
                      for="product-${p.id}"
                      >${orgs.length > 1 ? `${p.organization}: ${p.name}` : p.name}</label
                    >
                  </div>`,
              )
            : html`<p>${m.noProducts}</p>`
        }
      </fieldset>
      <fieldset class="field">
        <legend>${m.billing}</legend>
        ${radio('billing', 'partner', m.billingPartner, c.billing === 'partner')} ${radio('billing', 'client', m.billingClient, c.billing === 'client')}
      </fieldset>
      <button type="submit">${m.grant}</button>
    </form>`;
    const main = html`${errorSummary(ctx.lang, errors)}${intro}${form}${signOutForm(ctx.lang)}`;
    return { status, html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
  }

  return [
    definePage({
      method: 'get',
      path: '/client-invitations/accepted',
      handler: async ({ lang, path }) => ({ html: renderPage({ lang, path, title: t[lang].doneTitle, main: messagePanel('success', t[lang].doneText) }) }),
    }),
    definePage({ method: 'get', path: '/client-invitations/:token', handler: (ctx) => render(ctx, tokenOf(ctx)) }),
    definePage({
      method: 'post',
      path: '/client-invitations/:token',
      handler: async (ctx) => {
        requireSameOrigin(ctx, deps.config.publicUrl);
        const token = tokenOf(ctx);
        const principal = await sessions.signedIn(ctx);
        if (!principal) return { redirect: sessions.signInHref(`/client-invitations/${token}`) };
        const m = t[ctx.lang];
        const choice: Choice = {
          ...(ctx.form.organization ? { organizationId: ctx.form.organization } : {}),
          access: ctx.form.access === 'full' ? 'full' : 'restricted',
          productIds: Object.keys(ctx.form)
            .filter((k) => k.startsWith('product-') && ctx.form[k] === 'on')
            .map((k) => k.slice('product-'.length)),
          billing: ctx.form.billing === 'partner' ? 'partner' : 'client',
        };
        const errors: FieldErrors = {};
        if (!choice.organizationId) errors.organization = m.chooseOrganization;
        if (choice.access === 'restricted' && choice.productIds.length === 0) errors.products = m.chooseProducts;
        if (Object.keys(errors).length) return render(ctx, token, choice, errors, 422);
        const granted: PartnerRights =
          choice.access === 'full'
            ? { access: 'full', billing: choice.billing }
            : { access: 'restricted', productIds: choice.productIds, billing: choice.billing };
        await partners.acceptClientInvitation(principal.sub, token, { organizationId: choice.organizationId!, granted });
        return { redirect: '/client-invitations/accepted' };
      },
    }),
  ];
}
