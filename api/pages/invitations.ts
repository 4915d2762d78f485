/**
 * The member invitation (P9) and legal-representative handover (P10) pages, from the emailed links. GET shows what the invitation
 * offers and changes nothing; accepting needs the invited person signed in (the page sign-in) and
 * the button's POST, which calls the service the API route calls (api/services/invitations.ts,
 * api/services/handover.ts) with that person as the one accepting.
 */
import { handoverService } from '../services/handover';
import { invitationService } from '../services/invitations';
import { Problem } from '../problems';
import { html } from './html';
import { format, type Messages } from './i18n';
import { messagePanel, renderPage } from './layout';
import { definePage, type PageContext, type PageRoute, type ProblemPages } from './router';
import { requireSameOrigin, signOutForm, type pageSessions } from './session';
import type { PagesDeps } from './index';

const t: Messages<
  | 'title'
  | 'offer'
  | 'administrator'
  | 'collaborator'
  | 'someProducts'
  | 'allProducts'
  | 'signInFirst'
  | 'signIn'
  | 'accept'
  | 'doneTitle'
  | 'doneText'
  | 'invalidTitle'
  | 'invalidText'
  | 'notForYouTitle'
  | 'notForYouText'
  | 'handoverTitle'
  | 'handoverOffer'
  | 'handoverAccept'
  | 'handoverDoneTitle'
  | 'handoverDoneText'
> = {
  en: {
    title: 'Join the organization',
    offer: '{organization} invites you to join it as {role}.',
    administrator: 'an administrator',
    collaborator: 'a collaborator',
    someProducts: 'You will have access to {count} of its products.',
    allProducts: 'You will have access to all of its products.',
    signInFirst:
      'Sign in with the invited address ({email}) to accept. No account yet? Create one in the Manager with this address, then come back to this link.',
    signIn: 'Sign in',
    accept: 'Accept the invitation',
    doneTitle: 'Welcome',
    doneText: 'You joined the organization. It now appears in your Manager.',
    invalidTitle: 'This invitation no longer works',
    invalidText: 'It was already accepted, cancelled, replaced by a newer one or it expired. Ask the person who invited you to send it again.',
    notForYouTitle: 'This invitation is for another address',
    notForYouText: 'You are signed in with another login than the invited address. Sign out, then sign in with the invited address.',
    handoverTitle: 'Become the legal representative',
    handoverOffer: '{from} asks you to take over as legal representative of {organization}. You get the role before they leave it.',
    handoverAccept: 'Accept the role',
    handoverDoneTitle: 'Handover accepted',
    handoverDoneText: 'The legal representation is being handed over to you. You receive an email once it is done.',
  },
  fr: {
    title: "Rejoindre l'organisation",
    offer: '{organization} vous invite à la rejoindre en tant que {role}.',
    administrator: 'administrateur',
    collaborator: 'collaborateur',
    someProducts: 'Vous aurez accès à {count} de ses produits.',
    allProducts: 'Vous aurez accès à tous ses produits.',
    signInFirst:
      "Connectez-vous avec l'adresse invitée ({email}) pour accepter. Pas encore de compte ? Créez-le dans le Manager avec cette adresse, puis revenez à ce lien.",
    signIn: 'Se connecter',
    accept: "Accepter l'invitation",
    doneTitle: 'Bienvenue',
    doneText: "Vous avez rejoint l'organisation. Elle apparaît maintenant dans votre Manager.",
    invalidTitle: 'Cette invitation ne fonctionne plus',
    invalidText: 'Elle a déjà été acceptée, annulée, remplacée par une plus récente ou elle a expiré. Demandez à la personne qui vous a invité de la renvoyer.',
    notForYouTitle: 'Cette invitation est destinée à une autre adresse',
    notForYouText: "Vous êtes connecté avec un autre identifiant que l'adresse invitée. Déconnectez-vous, puis connectez-vous avec l'adresse invitée.",
    handoverTitle: 'Devenir représentant légal',
    handoverOffer: "{from} vous demande de reprendre la représentation légale de {organization}. Vous recevez le rôle avant qu'il ne le quitte.",
    handoverAccept: 'Accepter le rôle',
    handoverDoneTitle: 'Reprise acceptée',
    handoverDoneText: 'La représentation légale vous est transmise. Vous recevez un e-mail une fois la reprise terminée.',
  },
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function invitationPages(deps: PagesDeps, sessions: ReturnType<typeof pageSessions>): PageRoute[] {
  const service = invitationService({ client: deps.client, db: deps.db, taskQueue: deps.config.taskQueue, clock: deps.clock });
  const tokenOf = (ctx: PageContext) => {
    if (!TOKEN.test(ctx.params.token ?? '')) throw new Problem('invitation-link-invalid');
    return ctx.params.token!;
  };

  const handovers = handoverService({ client: deps.client, db: deps.db, taskQueue: deps.config.taskQueue, clock: deps.clock });

  return [
    definePage({
      method: 'get',
      path: '/handover/accepted',
      handler: async ({ lang, path }) => ({
        html: renderPage({ lang, path, title: t[lang].handoverDoneTitle, main: messagePanel('success', t[lang].handoverDoneText) }),
      }),
    }),
    definePage({
      method: 'get',
      path: '/handover/:token',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const token = tokenOf(ctx);
        const v = await handovers.viewHandoverLink(token);
        const who = await sessions.signedIn(ctx);
        const act = who
          ? html`<form method="post" action="/handover/${token}"><button type="submit">${m.handoverAccept}</button></form>
              ${signOutForm(ctx.lang)}`
          : html`<p>${format(m.signInFirst, { email: v.invitedEmail })}</p>
              <p><a class="button" href="${sessions.signInHref(ctx.path)}">${m.signIn}</a></p>`;
        return {
          html: renderPage({
            lang: ctx.lang,
            path: ctx.path,
            title: m.handoverTitle,
            main: html`<p>${format(m.handoverOffer, { from: v.fromName, organization: v.organizationName })}</p>
              ${act}`,
          }),
        };
      },
    }),
    definePage({
      method: 'post',
      path: '/handover/:token',
      handler: async (ctx) => {
        requireSameOrigin(ctx, deps.config.publicUrl);
        const token = tokenOf(ctx);
        const principal = await sessions.signedIn(ctx);
        if (!principal) return { redirect: sessions.signInHref(`/handover/${token}`) };
        await handovers.accept(principal.sub, token);
        return { redirect: '/handover/accepted' };
      },
    }),
    definePage({
      method: 'get',
      path: '/invitations/joined',
      handler: async ({ lang, path }) => ({ html: renderPage({ lang, path, title: t[lang].doneTitle, main: messagePanel('success', t[lang].doneText) }) }),
    }),
    definePage({
      method: 'get',
      path: '/invitations/:token',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const token = tokenOf(ctx);
        const v = await service.viewInvitationLink(token);
        const who = await sessions.signedIn(ctx);
        const act = who
          ? html`<form method="post" action="/invitations/${token}"><button type="submit">${m.accept}</button></form>
              ${signOutForm(ctx.lang)}`
          : html`<p>${format(m.signInFirst, { email: v.invitedEmail })}</p>
              <p><a class="button" href="${sessions.signInHref(ctx.path)}">${m.signIn}</a></p>`;
        const main = html`<p>${format(m.offer, { organization: v.organizationName, role: m[v.role] })}</p>
          <p>${v.productCount ? format(m.someProducts, { count: v.productCount }) : m.allProducts}</p>
          ${act}`;
        return { html: renderPage({ lang: ctx.lang, path: ctx.path, title: m.title, main }) };
      },
    }),
    definePage({
      method: 'post',
      path: '/invitations/:token',
      handler: async (ctx) => {
        requireSameOrigin(ctx, deps.config.publicUrl);
        const token = tokenOf(ctx);
        const principal = await sessions.signedIn(ctx);
        if (!principal) return { redirect: sessions.signInHref(`/invitations/${token}`) };
        await service.accept(principal.sub, token);
        return { redirect: '/invitations/joined' };
      },
    }),
  ];
}

export const invitationProblemPages: ProblemPages = (lang, problem) => {
  const m = t[lang];
  if (problem.slug === 'invitation-link-invalid') return { title: m.invalidTitle, text: m.invalidText };
  if (problem.slug === 'invitation-not-for-you') return { title: m.notForYouTitle, text: m.notForYouText, next: signOutForm(lang) };
  return undefined;
};
