/**
 * The page sign-in (issue 18): the acceptance pages need the invited person signed in, as the API
 * routes need a bearer session. The form logs in through the sessions service (the same login as
 * POST /v1/sessions: the same failure counts, lock, second factor and alerts) and keeps the session's
 * token in a cookie: HttpOnly, SameSite=Strict, Secure over https, sent only to the pages that act
 * signed in. The session is an ordinary one, so ending every session (a password reset) ends it too.
 *
 * CSRF: every POST that uses the cookie must come from our own pages: its Origin is ours, or (a
 * browser that sends `Origin: null` under our no-referrer policy) Sec-Fetch-Site says same-origin.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { verifyToken, type Principal } from '../auth';
import { Problem } from '../problems';
import { html, type SafeHtml } from './html';
import { type Lang, type Messages } from './i18n';
import { errorSummary, field, renderPage, type FieldErrors } from './layout';
import { definePage, type PageContext, type PageRoute, type ProblemPages } from './router';
import type { PagesDeps } from './index';

export const SESSION_COOKIE = 'page_session';
/** The pages that act signed in; the cookie goes to these paths only (one cookie per path). */
export const SIGNED_IN_PATHS = ['/sign-in', '/invitations', '/handover', '/client-invitations', '/rfp'] as const;

const t: Messages<
  | 'title'
  | 'intro'
  | 'login'
  | 'password'
  | 'otp'
  | 'otpHint'
  | 'submit'
  | 'loginError'
  | 'passwordError'
  | 'otpError'
  | 'invalid'
  | 'secondFactor'
  | 'wrongSecondFactor'
  | 'locked'
  | 'signedInTitle'
  | 'signedIn'
  | 'signOut'
  | 'signedOut'
  | 'forgot'
  | 'crossSite'
  | 'restricted'
> = {
  en: {
    title: 'Sign in',
    intro: 'Sign in with your account to continue.',
    login: 'Login email',
    password: 'Password',
    otp: 'Code of your authenticator app or a backup code',
    otpHint: 'Only if two-factor authentication is on for your account.',
    submit: 'Sign in',
    loginError: 'Enter your login email.',
    passwordError: 'Enter your password.',
    otpError: 'Enter the 6 digits of your authenticator app, or a backup code.',
    invalid: 'The login or the password is not right.',
    secondFactor: 'Your account has two-factor authentication: enter your password again with the code of your authenticator app or a backup code.',
    wrongSecondFactor: 'The code is not right. Enter your password again with a new code.',
    locked: 'Your account is locked. Ask an administrator of your organization, or ask for an identity check in the Manager.',
    signedInTitle: 'You are signed in',
    signedIn: 'You are signed in as {login}.',
    signOut: 'Sign out',
    signedOut: 'You are signed out.',
    forgot: 'Forgotten password?',
    crossSite: 'This form was not sent from our pages. Open the page again and retry.',
    restricted: 'This login cannot be used here yet: finish choosing your new login address in the Manager first.',
  },
  fr: {
    title: 'Connexion',
    intro: 'Connectez-vous à votre compte pour continuer.',
    login: 'E-mail de connexion',
    password: 'Mot de passe',
    otp: "Code de votre application d'authentification ou code de secours",
    otpHint: "Seulement si l'authentification à deux facteurs est activée sur votre compte.",
    submit: 'Se connecter',
    loginError: 'Indiquez votre e-mail de connexion.',
    passwordError: 'Indiquez votre mot de passe.',
    otpError: "Saisissez les 6 chiffres de votre application d'authentification, ou un code de secours.",
    invalid: "L'identifiant ou le mot de passe n'est pas correct.",
    secondFactor:
      "Votre compte a l'authentification à deux facteurs : saisissez à nouveau votre mot de passe avec le code de votre application ou un code de secours.",
    wrongSecondFactor: "Le code n'est pas correct. Saisissez à nouveau votre mot de passe avec un nouveau code.",
    locked: "Votre compte est verrouillé. Demandez à un administrateur de votre organisation, ou demandez une vérification d'identité dans le Manager.",
    signedInTitle: 'Vous êtes connecté',
    signedIn: 'Vous êtes connecté en tant que {login}.',
    signOut: 'Se déconnecter',
    signedOut: 'Vous êtes déconnecté.',
    forgot: 'Mot de passe oublié ?',
    crossSite: "Ce formulaire n'a pas été envoyé depuis nos pages. Rouvrez la page et réessayez.",
    restricted: "Cette connexion ne peut pas encore servir ici : choisissez d'abord votre nouvelle adresse de connexion dans le Manager.",
  },
};

function cookieOf(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = pair.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** A POST from our own pages only (CSRF), whatever else the cookie's SameSite already refuses. */
export function requireSameOrigin(ctx: PageContext, publicUrl: string): void {
  const origin = ctx.req.get('origin');
  const ours = (o: string) => {
    try {
      const u = new URL(o);
      return u.host === ctx.req.get('host') || u.origin === new URL(publicUrl).origin;
    } catch {
      return false;
    }
  };
  const sameOrigin = origin && origin !== 'null' ? ours(origin) : ctx.req.get('sec-fetch-site') === 'same-origin';
  if (!sameOrigin) throw new Problem('forbidden', 'cross-site form');
}

/** Where a sign-in returns: a signed-in page of ours, never another site. */
function returnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return undefined;
  return SIGNED_IN_PATHS.some((p) => value === p || value.startsWith(`${p}/`)) ? value : undefined;
}

function setSessionCookie(req: Request, res: Response, token: string | null, maxAgeSeconds: number): void {
  for (const path of SIGNED_IN_PATHS) {
    if (token === null) res.clearCookie(SESSION_COOKIE, { path, httpOnly: true, sameSite: 'strict', secure: req.secure });
    else res.cookie(SESSION_COOKIE, token, { path, httpOnly: true, sameSite: 'strict', secure: req.secure, maxAge: maxAgeSeconds * 1000 });
  }
}

export interface SignedIn {
  principal: Principal;
}

/** The login function the page uses: the sessions service's, the same as POST /v1/sessions. */
export type PageLogin = (input: {
  login: string;
  password: string;
  otp?: string;
  req: Request;
}) => Promise<{ token: string; expiresIn: number; scope: string }>;

export function pageSessions(deps: PagesDeps, login: PageLogin) {
  /** The signed-in customer of the cookie, while its session is open and full; otherwise nobody. */
  async function signedIn(ctx: PageContext): Promise<Principal | undefined> {
    const token = cookieOf(ctx.req, SESSION_COOKIE);
    if (!token) return undefined;
    let principal: Principal;
    try {
      principal = await verifyToken(deps.config.authSecret, token);
    } catch {
      return undefined;
    }
    if (principal.role !== 'customer' || !principal.sid || principal.scope !== 'full') return undefined;
    const session = await deps.credentials.session(principal.sid, principal.sub);
    return session?.scope === 'full' ? principal : undefined;
  }

  /** The sign-in link of a page: back to it once signed in. */
  const signInHref = (path: string) => `/sign-in?next=${encodeURIComponent(path)}`;

  function form(ctx: PageContext, next: string | undefined, values: { login?: string } = {}, errors: FieldErrors = {}, status = 200) {
    const m = t[ctx.lang];
    const action = next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in';
    return {
      status,
      html: renderPage({
        lang: ctx.lang,
        title: m.title,
        path: ctx.path,
        main: html`${errorSummary(ctx.lang, errors)}
          <p>${m.intro}</p>
          <form method="post" action="${action}" novalidate>
            ${field({ id: 'login', label: m.login, type: 'email', value: values.login, error: errors.login, autocomplete: 'username', required: true, attrs: { autocapitalize: 'none', spellcheck: 'false' } })}
            ${field({ id: 'password', label: m.password, type: 'password', error: errors.password, autocomplete: 'current-password', required: true })}
            ${field({ id: 'otp', label: m.otp, hint: m.otpHint, error: errors.otp, autocomplete: 'one-time-code', inputmode: 'numeric' })}
            <div class="actions"><button type="submit">${m.submit}</button></div>
          </form>
          <p><a href="/recover/password">${m.forgot}</a></p>`,
      }),
    };
  }

  const OTP = /^(\d{6}|\d{5}-?\d{5})$/;

  const routes: PageRoute[] = [
    definePage({ method: 'get', path: '/sign-in', handler: async (ctx) => form(ctx, returnPath(ctx.req.query.next)) }),
    definePage({
      method: 'post',
      path: '/sign-in',
      handler: async (ctx) => {
        requireSameOrigin(ctx, deps.config.publicUrl);
        const m = t[ctx.lang];
        const next = returnPath(ctx.req.query.next);
        const loginValue = (ctx.form.login ?? '').trim();
        const password = ctx.form.password ?? '';
        const otp = (ctx.form.otp ?? '').trim();
        const errors: FieldErrors = {};
        if (!z.string().min(3).max(254).safeParse(loginValue).success) errors.login = m.loginError;
        if (!password || password.length > 1024) errors.password = m.passwordError;
        if (otp && !OTP.test(otp)) errors.otp = m.otpError;
        if (Object.keys(errors).length) return form(ctx, next, { login: loginValue }, errors, 400);
        let session;
        try {
          session = await login({ login: loginValue, password, ...(otp ? { otp } : {}), req: ctx.req });
        } catch (err) {
          if (!(err instanceof Problem)) throw err;
          const refusal = {
            'invalid-credentials': { password: m.invalid },
            'second-factor-required': { otp: m.secondFactor },
            'invalid-second-factor': { otp: m.wrongSecondFactor },
            'account-locked': { login: m.locked },
          }[err.slug as string];
          if (!refusal) throw err;
          return form(ctx, next, { login: loginValue }, refusal, err.status);
        }
        if (session.scope !== 'full') return form(ctx, next, { login: loginValue }, { login: m.restricted }, 403);
        setSessionCookie(ctx.req, ctx.res, session.token, session.expiresIn);
        return { redirect: next ?? '/sign-in/done' };
      },
    }),
    definePage({
      method: 'get',
      path: '/sign-in/done',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const who = await signedIn(ctx);
        if (!who) return { redirect: '/sign-in' };
        return { html: renderPage({ lang: ctx.lang, title: m.signedInTitle, path: ctx.path, main: html`${signOutForm(ctx.lang)}` }) };
      },
    }),
    definePage({
      method: 'post',
      path: '/sign-in/out',
      handler: async (ctx) => {
        requireSameOrigin(ctx, deps.config.publicUrl);
        setSessionCookie(ctx.req, ctx.res, null, 0);
        return { redirect: '/sign-in' };
      },
    }),
  ];

  return { routes, signedIn, signInHref };
}

/** A small sign-out form for the signed-in pages (the cookie only; the session lives until it expires or is ended). */
export function signOutForm(lang: Lang): SafeHtml {
  return html`<form method="post" action="/sign-in/out">
    <div class="actions"><button type="submit" class="secondary">${t[lang].signOut}</button></div>
  </form>`;
}

/** A cross-site form is refused as a page that says to retry from ours. */
export const sessionProblemPages: ProblemPages = (lang, problem) =>
  problem.slug === 'forbidden' && problem.detail === 'cross-site form' ? { title: t[lang].title, text: t[lang].crossSite } : undefined;
