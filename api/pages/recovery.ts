/**
 * Recovery pages (P3, P4) for people who cannot log in: the forgotten password (a reset link by
 * email or an SMS code), the emailed reset link's page, and the forgotten login email (mobile
 * number, SMS code, then the channel the login is sent to). They call api/services/recovery.ts, as
 * the API routes do, and keep its contract: every page before the right code is the same whether or
 * not an account matches (the request's page is drawn from the request id and the chosen channel
 * only, never from a lookup), so a page is no more an oracle than the API.
 */
import { z } from 'zod';
import { accountSecrets } from '../../lib/accountSecrets';
import { PASSWORD_RESET_LINK_VALIDITY_MS, RECOVERY_CODE_VALIDITY_MS } from '../../lib/rules';
import { Problem } from '../problems';
import { NEW_PASSWORD, phoneNumber } from '../schemas';
import { recoveryService } from '../services/recovery';
import { html, type SafeHtml } from './html';
import { format, type Lang, type Messages } from './i18n';
import { errorSummary, field, messagePanel, renderPage, type FieldErrors } from './layout';
import { definePage, type PageContext, type PageRoute, type ProblemPages } from './router';
import type { PagesDeps } from './index';

const t: Messages<
  | 'passwordTitle'
  | 'passwordIntro'
  | 'login'
  | 'loginHint'
  | 'loginError'
  | 'channel'
  | 'byEmail'
  | 'bySms'
  | 'send'
  | 'sentTitle'
  | 'sentEmail'
  | 'sentSms'
  | 'code'
  | 'codeHint'
  | 'codeError'
  | 'codeRejected'
  | 'noTriesLeft'
  | 'confirm'
  | 'noAccess'
  | 'noAccessHint'
  | 'askCheck'
  | 'checkTitle'
  | 'checkText'
  | 'resetTitle'
  | 'newPassword'
  | 'repeat'
  | 'rules'
  | 'tooShort'
  | 'tooLong'
  | 'mismatch'
  | 'setPassword'
  | 'resetLinkHint'
  | 'doneTitle'
  | 'doneText'
  | 'signIn'
  | 'loginEmailTitle'
  | 'loginEmailIntro'
  | 'phone'
  | 'phoneHint'
  | 'phoneError'
  | 'recoveryEmail'
  | 'recoveryEmailHint'
  | 'recoveryEmailError'
  | 'loginSentSms'
  | 'chooseTitle'
  | 'chooseIntro'
  | 'viaSms'
  | 'viaEmail'
  | 'deliver'
  | 'deliveredTitle'
  | 'deliveredText'
  | 'invalidLinkTitle'
  | 'invalidLinkText'
  | 'askNewLink'
  | 'closedTitle'
  | 'closedText'
  | 'startPassword'
  | 'startLoginEmail'
  | 'tooManyTitle'
  | 'tooManyText'
  | 'forgotLogin'
> = {
  en: {
    passwordTitle: 'Forgotten password',
    passwordIntro: 'Give the login of your account. If it exists, we send a reset link to its recovery email, or an SMS code to its mobile phone.',
    login: 'Login',
    loginHint: 'Your login email address or recovery username.',
    loginError: 'Enter your login (3 to 254 characters).',
    channel: 'How should we reach you?',
    byEmail: 'A link by email, to my recovery address',
    bySms: 'A code by SMS, to my mobile phone',
    send: 'Continue',
    sentTitle: 'Check your messages',
    sentEmail: 'If this login exists and has a recovery email, a link to choose a new password is on its way. It works once, within {validity}.',
    sentSms: 'If this login exists and has a mobile phone, an SMS code is on its way. Enter it below within {validity}.',
    code: 'Code from the SMS',
    codeHint: '6 digits.',
    codeError: 'Enter the 6 digits of the SMS.',
    codeRejected: 'This code is not right, expired or already used. Tries left: {left}.',
    noTriesLeft: 'This code is not right, expired or already used, and no tries are left. Start a new request.',
    confirm: 'Confirm',
    noAccess: 'No access to your email or phone any more?',
    noAccessHint: 'Ask for an identity check: an agent checks your identity document, then you can choose a new password.',
    askCheck: 'Ask for an identity check',
    checkTitle: 'Identity check asked',
    checkText: 'If the request matches an account, its holder receives a link to the identity check on the contact details we have.',
    resetTitle: 'Choose a new password',
    newPassword: 'New password',
    repeat: 'Repeat the new password',
    rules: 'At least {min} characters (at most {max}). A long phrase of several words is strong and easy to remember.',
    tooShort: 'The password needs at least {min} characters.',
    tooLong: 'The password may have at most {max} characters.',
    mismatch: 'The two passwords are not the same.',
    setPassword: 'Set the new password',
    resetLinkHint: 'Every session of your account ends when the password is set.',
    doneTitle: 'Your password is set',
    doneText: 'Your new password is set. Every session of your account was ended: sign in again with the new password, on each device.',
    signIn: 'Sign in',
    loginEmailTitle: 'Forgotten login email',
    loginEmailIntro: 'Give the mobile number of your account. If it belongs to one account, we send an SMS code to it.',
    phone: 'Mobile number',
    phoneHint: 'In international format, for example +41791234567.',
    phoneError: 'Enter the number in international format, for example +41791234567.',
    recoveryEmail: 'Recovery email (optional)',
    recoveryEmailHint: 'Only if several accounts share this number: the recovery email address of yours.',
    recoveryEmailError: 'Enter a valid email address, or leave the field empty.',
    loginSentSms:
      'If this number belongs to one account, an SMS code is on its way. Enter it below within {validity}. If several accounts share the number, start again with your recovery email.',
    chooseTitle: 'Where should we send your login?',
    chooseIntro: 'The code is right. Choose where your login is sent.',
    viaSms: 'By SMS to {to}',
    viaEmail: 'By email to {to}',
    deliver: 'Send my login',
    deliveredTitle: 'Your login is on its way',
    deliveredText: 'Your login is on its way to the channel you chose.',
    invalidLinkTitle: 'This link no longer works',
    invalidLinkText: 'This password reset link is not valid, was already used or has expired. Ask for a new one.',
    askNewLink: 'Ask for a new link',
    closedTitle: 'This request is closed',
    closedText: 'This recovery request is closed or not at this step. Start a new one.',
    startPassword: 'Forgotten password',
    startLoginEmail: 'Forgotten login email',
    tooManyTitle: 'Too many attempts',
    tooManyText: 'Too many requests came from here or for this account. Try again in {minutes} minutes.',
    forgotLogin: 'Forgotten your login email instead?',
  },
  fr: {
    passwordTitle: 'Mot de passe oublié',
    passwordIntro:
      "Indiquez l'identifiant de votre compte. S'il existe, nous envoyons un lien de réinitialisation à son e-mail de secours, ou un code par SMS à son téléphone mobile.",
    login: 'Identifiant',
    loginHint: 'Votre adresse e-mail de connexion ou votre nom d’utilisateur de secours.',
    loginError: 'Indiquez votre identifiant (3 à 254 caractères).',
    channel: 'Comment vous joindre ?',
    byEmail: 'Un lien par e-mail, à mon adresse de secours',
    bySms: 'Un code par SMS, sur mon téléphone mobile',
    send: 'Continuer',
    sentTitle: 'Consultez vos messages',
    sentEmail:
      'Si cet identifiant existe et a un e-mail de secours, un lien pour choisir un nouveau mot de passe est en route. Il fonctionne une fois, pendant {validity}.',
    sentSms: 'Si cet identifiant existe et a un téléphone mobile, un code par SMS est en route. Saisissez-le ci-dessous dans les {validity}.',
    code: 'Code reçu par SMS',
    codeHint: '6 chiffres.',
    codeError: 'Saisissez les 6 chiffres du SMS.',
    codeRejected: "Ce code n'est pas le bon, a expiré ou a déjà servi. Essais restants : {left}.",
    noTriesLeft: "Ce code n'est pas le bon, a expiré ou a déjà servi, et il ne reste aucun essai. Faites une nouvelle demande.",
    confirm: 'Confirmer',
    noAccess: "Vous n'avez plus accès à votre e-mail ni à votre téléphone ?",
    noAccessHint: "Demandez une vérification d'identité : un agent contrôle votre pièce d'identité, puis vous choisissez un nouveau mot de passe.",
    askCheck: "Demander une vérification d'identité",
    checkTitle: "Vérification d'identité demandée",
    checkText: "Si la demande correspond à un compte, son titulaire reçoit un lien vers la vérification d'identité sur les coordonnées que nous avons.",
    resetTitle: 'Choisissez un nouveau mot de passe',
    newPassword: 'Nouveau mot de passe',
    repeat: 'Répétez le nouveau mot de passe',
    rules: 'Au moins {min} caractères (au plus {max}). Une longue phrase de plusieurs mots est solide et facile à retenir.',
    tooShort: 'Le mot de passe doit compter au moins {min} caractères.',
    tooLong: 'Le mot de passe peut compter au plus {max} caractères.',
    mismatch: 'Les deux mots de passe ne sont pas identiques.',
    setPassword: 'Enregistrer le nouveau mot de passe',
    resetLinkHint: 'Toutes les sessions de votre compte se terminent quand le mot de passe est enregistré.',
    doneTitle: 'Votre mot de passe est enregistré',
    doneText:
      'Votre nouveau mot de passe est enregistré. Toutes les sessions de votre compte ont été fermées : reconnectez-vous avec le nouveau mot de passe sur chaque appareil.',
    signIn: 'Se connecter',
    loginEmailTitle: 'E-mail de connexion oublié',
    loginEmailIntro: "Indiquez le numéro de mobile de votre compte. S'il appartient à un seul compte, nous y envoyons un code par SMS.",
    phone: 'Numéro de mobile',
    phoneHint: 'Au format international, par exemple +41791234567.',
    phoneError: 'Indiquez le numéro au format international, par exemple +41791234567.',
    recoveryEmail: 'E-mail de secours (facultatif)',
    recoveryEmailHint: "Seulement si plusieurs comptes partagent ce numéro : l'adresse e-mail de secours du vôtre.",
    recoveryEmailError: 'Indiquez une adresse e-mail valide, ou laissez le champ vide.',
    loginSentSms:
      'Si ce numéro appartient à un seul compte, un code par SMS est en route. Saisissez-le ci-dessous dans les {validity}. Si plusieurs comptes partagent ce numéro, recommencez avec votre e-mail de secours.',
    chooseTitle: 'Où envoyer votre identifiant ?',
    chooseIntro: 'Le code est bon. Choisissez où envoyer votre identifiant.',
    viaSms: 'Par SMS au {to}',
    viaEmail: 'Par e-mail à {to}',
    deliver: 'Envoyer mon identifiant',
    deliveredTitle: 'Votre identifiant est en route',
    deliveredText: 'Votre identifiant est en route vers le canal choisi.',
    invalidLinkTitle: 'Ce lien ne fonctionne plus',
    invalidLinkText: "Ce lien de réinitialisation n'est pas valide, a déjà servi ou a expiré. Demandez-en un nouveau.",
    askNewLink: 'Demander un nouveau lien',
    closedTitle: 'Cette demande est close',
    closedText: "Cette demande de récupération est close ou n'en est pas à cette étape. Faites-en une nouvelle.",
    startPassword: 'Mot de passe oublié',
    startLoginEmail: 'E-mail de connexion oublié',
    tooManyTitle: 'Trop de tentatives',
    tooManyText: 'Trop de demandes sont venues d’ici ou pour ce compte. Réessayez dans {minutes} minutes.',
    forgotLogin: 'Vous avez plutôt oublié votre e-mail de connexion ?',
  },
};

/** A duration of the rules in the page's language (whole hours or minutes, as the rules are written). */
function duration(lang: Lang, ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const [n, unit] = minutes % 60 === 0 ? [minutes / 60, lang === 'fr' ? 'heure' : 'hour'] : [minutes, 'minute'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

// The password rules shown are read from the API's own schema, so a changed rule changes the page.
const PASSWORD_MIN = NEW_PASSWORD.minLength ?? 1;
const PASSWORD_MAX = NEW_PASSWORD.maxLength ?? 1024;
const LOGIN = z.string().trim().min(3).max(254);
const CODE = /^\d{6}$/;
const RESET_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const REQUEST_ID = z.uuid();

const form = (action: string, body: SafeHtml, button: string, secondary = false) =>
  html`<form method="post" action="${action}" novalidate>
    ${body}
    <div class="actions"><button type="submit" ${secondary ? html` class="secondary"` : ''}>${button}</button></div>
  </form>`;

function channelChoice(lang: Lang, chosen: string): SafeHtml {
  const m = t[lang];
  const option = (value: string, label: string) =>
    html`<div class="choice">
      <input type="radio" id="channel-${value}" name="channel" value="${value}" ${chosen === value ? html` checked` : ''} /><label for="channel-${value}"
        >${label}</label
      >
    </div>`;
  return html`<fieldset class="field">
    <legend>${m.channel}</legend>
    ${option('email', m.byEmail)}${option('sms', m.bySms)}
  </fieldset>`;
}

export function recoveryPages(deps: PagesDeps): PageRoute[] {
  const svc = recoveryService({
    client: deps.client,
    db: deps.db,
    taskQueue: deps.config.taskQueue,
    clock: deps.clock,
    secrets: accountSecrets(deps.keyring),
    limits: deps.limits,
  });
  // Every recovery step counts against the client address, as the API's recovery routes do.
  const countAddress = (ctx: PageContext) => deps.limits.hit('address', ctx.req.ip ?? 'unknown');
  const page = (ctx: PageContext, title: string, main: SafeHtml, status = 200) => ({
    status,
    html: renderPage({ lang: ctx.lang, title, path: ctx.path, main }),
  });
  const requestId = (ctx: PageContext) => {
    const parsed = REQUEST_ID.safeParse(ctx.params.requestId);
    if (!parsed.success) throw new Problem('not-found', 'No such recovery request');
    return parsed.data;
  };

  function passwordForm(ctx: PageContext, values: { login?: string; channel?: string } = {}, errors: FieldErrors = {}) {
    const m = t[ctx.lang];
    return page(
      ctx,
      m.passwordTitle,
      html`${errorSummary(ctx.lang, errors)}
        <p>${m.passwordIntro}</p>
        ${form(ctx.path, html`${field({ id: 'login', label: m.login, hint: m.loginHint, value: values.login, error: errors.login, autocomplete: 'username', required: true, attrs: { autocapitalize: 'none', spellcheck: 'false' } })}${channelChoice(ctx.lang, values.channel ?? 'email')}`, m.send)}
        <p><a href="/recover/login-email">${m.forgotLogin}</a></p>`,
      Object.keys(errors).length ? 400 : 200,
    );
  }

  /** The answer to a request, the same for every login or number: what may be on its way, the code form, the identity-check way out. */
  function requestPage(ctx: PageContext, kind: 'password' | 'login-email', via: 'sms' | 'email', error?: string) {
    const m = t[ctx.lang];
    const base = `/recover/${kind}/${ctx.params.requestId}`;
    const text = kind === 'login-email' ? m.loginSentSms : via === 'sms' ? m.sentSms : m.sentEmail;
    const validity = duration(ctx.lang, via === 'email' ? PASSWORD_RESET_LINK_VALIDITY_MS : RECOVERY_CODE_VALIDITY_MS);
    const codeForm =
      via === 'sms'
        ? form(
            `${base}/code`,
            field({
              id: 'code',
              label: m.code,
              hint: m.codeHint,
              error,
              autocomplete: 'one-time-code',
              inputmode: 'numeric',
              required: true,
              attrs: { pattern: '[0-9]{6}', maxlength: '6' },
            }),
            m.confirm,
          )
        : html``;
    return page(
      ctx,
      m.sentTitle,
      html`${errorSummary(ctx.lang, { code: error })}${messagePanel('info', format(text, { validity }))}${codeForm}
        <section aria-labelledby="no-access">
          <h2 id="no-access">${m.noAccess}</h2>
          <p>${m.noAccessHint}</p>
          ${form(`${base}/verification`, html``, m.askCheck, true)}
        </section>`,
      error ? 422 : 200,
    );
  }

  /** A wrong code is said next to the field, with the tries left (the same for a request without an account). */
  const codeRefusal = (lang: Lang, err: unknown): string => {
    if (!(err instanceof Problem) || err.slug !== 'code-rejected') throw err;
    const left = Number(err.extensions.attemptsLeft ?? 0);
    return left > 0 ? format(t[lang].codeRejected, { left }) : t[lang].noTriesLeft;
  };

  function resetForm(ctx: PageContext, errors: FieldErrors = {}) {
    const m = t[ctx.lang];
    const rules = format(m.rules, { min: PASSWORD_MIN, max: PASSWORD_MAX });
    const attrs = { minlength: String(PASSWORD_MIN), maxlength: String(PASSWORD_MAX) };
    return page(
      ctx,
      m.resetTitle,
      html`${errorSummary(ctx.lang, errors)}
      ${form(
        ctx.path,
        html`${field({ id: 'newPassword', label: m.newPassword, type: 'password', hint: rules, error: errors.newPassword, autocomplete: 'new-password', required: true, attrs })}${field({ id: 'repeatPassword', label: m.repeat, type: 'password', error: errors.repeatPassword, autocomplete: 'new-password', required: true, attrs })}
          <p class="hint">${m.resetLinkHint}</p>`,
        m.setPassword,
      )}`,
      Object.keys(errors).length ? 400 : 200,
    );
  }

  const resetToken = (ctx: PageContext) => {
    if (!RESET_TOKEN.test(ctx.params.token ?? '')) throw new Problem('recovery-link-invalid');
    return ctx.params.token!;
  };

  function loginEmailForm(ctx: PageContext, values: { phone?: string; recoveryEmail?: string } = {}, errors: FieldErrors = {}) {
    const m = t[ctx.lang];
    return page(
      ctx,
      m.loginEmailTitle,
      html`${errorSummary(ctx.lang, errors)}
        <p>${m.loginEmailIntro}</p>
        ${form(
          ctx.path,
          html`${field({ id: 'phone', label: m.phone, type: 'tel', hint: m.phoneHint, value: values.phone, error: errors.phone, autocomplete: 'tel', inputmode: 'tel', required: true })}${field({ id: 'recoveryEmail', label: m.recoveryEmail, type: 'email', hint: m.recoveryEmailHint, value: values.recoveryEmail, error: errors.recoveryEmail, autocomplete: 'email' })}`,
          m.send,
        )}`,
      Object.keys(errors).length ? 400 : 200,
    );
  }

  const via = (ctx: PageContext): 'sms' | 'email' => (ctx.req.query.via === 'sms' ? 'sms' : 'email');

  return [
    // P4: the request, then the same answer for every login.
    definePage({ method: 'get', path: '/recover/password', handler: async (ctx) => passwordForm(ctx) }),
    definePage({
      method: 'post',
      path: '/recover/password',
      handler: async (ctx) => {
        const login = LOGIN.safeParse(ctx.form.login ?? '');
        const channel = ctx.form.channel === 'sms' ? 'sms' : 'email';
        if (!login.success) return passwordForm(ctx, { login: ctx.form.login, channel }, { login: t[ctx.lang].loginError });
        await countAddress(ctx);
        const { requestId } = await svc.requestPasswordReset(login.data, channel);
        return { redirect: `/recover/password/${requestId}?via=${channel}` };
      },
    }),
    definePage({ method: 'get', path: '/recover/password/:requestId', handler: async (ctx) => (requestId(ctx), requestPage(ctx, 'password', via(ctx))) }),
    definePage({
      method: 'post',
      path: '/recover/password/:requestId/code',
      handler: async (ctx) => {
        const id = requestId(ctx);
        const code = (ctx.form.code ?? '').trim();
        if (!CODE.test(code)) return requestPage(ctx, 'password', 'sms', t[ctx.lang].codeError);
        await countAddress(ctx);
        try {
          const { resetToken } = await svc.confirmPasswordCode(id, code);
          return { redirect: `/reset-password/${resetToken}` };
        } catch (err) {
          return requestPage(ctx, 'password', 'sms', codeRefusal(ctx.lang, err));
        }
      },
    }),
    // P4: the emailed link. GET only shows the form; the link is spent by the POST that sets the password.
    definePage({
      method: 'get',
      path: '/reset-password/done',
      handler: async (ctx) =>
        page(
          ctx,
          t[ctx.lang].doneTitle,
          messagePanel('success', t[ctx.lang].doneText, html`<p><a class="button" href="/sign-in">${t[ctx.lang].signIn}</a></p>`),
        ),
    }),
    definePage({ method: 'get', path: '/reset-password/:token', handler: async (ctx) => (resetToken(ctx), resetForm(ctx)) }),
    definePage({
      method: 'post',
      path: '/reset-password/:token',
      handler: async (ctx) => {
        const token = resetToken(ctx);
        const m = t[ctx.lang];
        const password = ctx.form.newPassword ?? '';
        const errors: FieldErrors = {};
        const parsed = NEW_PASSWORD.safeParse(password);
        if (!parsed.success) errors.newPassword = format(password.length < PASSWORD_MIN ? m.tooShort : m.tooLong, { min: PASSWORD_MIN, max: PASSWORD_MAX });
        else if (password !== (ctx.form.repeatPassword ?? '')) errors.repeatPassword = m.mismatch;
        if (Object.keys(errors).length) return resetForm(ctx, errors);
        await countAddress(ctx);
        await svc.resetPassword(token, parsed.data!);
        return { redirect: '/reset-password/done' };
      },
    }),
    // P3: the number, the code, then the channel.
    definePage({ method: 'get', path: '/recover/login-email', handler: async (ctx) => loginEmailForm(ctx) }),
    definePage({
      method: 'post',
      path: '/recover/login-email',
      handler: async (ctx) => {
        const m = t[ctx.lang];
        const phone = phoneNumber.safeParse((ctx.form.phone ?? '').replace(/[\s.-]/g, ''));
        const given = (ctx.form.recoveryEmail ?? '').trim();
        const recoveryEmail = given ? z.email().max(254).safeParse(given) : undefined;
        const errors: FieldErrors = {
          phone: phone.success ? undefined : m.phoneError,
          recoveryEmail: recoveryEmail && !recoveryEmail.success ? m.recoveryEmailError : undefined,
        };
        if (!phone.success || (recoveryEmail && !recoveryEmail.success)) return loginEmailForm(ctx, { phone: ctx.form.phone, recoveryEmail: given }, errors);
        await countAddress(ctx);
        const { requestId } = await svc.requestLoginEmail(phone.data, recoveryEmail?.data);
        return { redirect: `/recover/login-email/${requestId}` };
      },
    }),
    definePage({ method: 'get', path: '/recover/login-email/:requestId', handler: async (ctx) => (requestId(ctx), requestPage(ctx, 'login-email', 'sms')) }),
    definePage({
      method: 'post',
      path: '/recover/login-email/:requestId/code',
      handler: async (ctx) => {
        const id = requestId(ctx);
        const m = t[ctx.lang];
        const code = (ctx.form.code ?? '').trim();
        if (!CODE.test(code)) return requestPage(ctx, 'login-email', 'sms', m.codeError);
        await countAddress(ctx);
        let channels;
        try {
          channels = await svc.confirmLoginEmail(id, code);
        } catch (err) {
          return requestPage(ctx, 'login-email', 'sms', codeRefusal(ctx.lang, err));
        }
        // The masked channels come only with the confirmation, so this answer shows them rather than a
        // redirect to a page that could not know them; choosing is the next POST.
        const options = channels.map(
          (c, i) =>
            html`<div class="choice">
              <input type="radio" id="channel-${c.channel}" name="channel" value="${c.channel}" ${i === 0 ? html` checked` : ''} /><label
                for="channel-${c.channel}"
                >${format(c.channel === 'sms' ? m.viaSms : m.viaEmail, { to: c.to })}</label
              >
            </div>`,
        );
        return page(
          ctx,
          m.chooseTitle,
          html`<p>${m.chooseIntro}</p>
            ${form(
              `/recover/login-email/${id}/deliver`,
              html`<fieldset class="field">
                <legend>${m.chooseTitle}</legend>
                ${options}
              </fieldset>`,
              m.deliver,
            )}`,
        );
      },
    }),
    definePage({
      method: 'post',
      path: '/recover/login-email/:requestId/deliver',
      handler: async (ctx) => {
        const id = requestId(ctx);
        await svc.deliverLogin(id, ctx.form.channel === 'email' ? 'email' : 'sms');
        return { redirect: `/recover/login-email/${id}/sent` };
      },
    }),
    definePage({
      method: 'get',
      path: '/recover/login-email/:requestId/sent',
      handler: async (ctx) => page(ctx, t[ctx.lang].deliveredTitle, messagePanel('success', t[ctx.lang].deliveredText)),
    }),
    // P3, P4: an identity check instead, the same answer whether or not an account matched.
    ...(['password', 'login-email'] as const).flatMap((kind) => [
      definePage({
        method: 'post',
        path: `/recover/${kind}/:requestId/verification`,
        handler: async (ctx) => {
          const id = requestId(ctx);
          await countAddress(ctx);
          await svc.requestVerification(kind === 'password' ? 'password' : 'login_email', id);
          return { redirect: `/recover/${kind}/${id}/verification` };
        },
      }),
      definePage({
        method: 'get',
        path: `/recover/${kind}/:requestId/verification`,
        handler: async (ctx) => page(ctx, t[ctx.lang].checkTitle, messagePanel('info', t[ctx.lang].checkText)),
      }),
    ]),
  ];
}

/** Recovery's refusals: a spent or expired link, a closed request, too many attempts; each says what to do next. */
export const recoveryProblemPages: ProblemPages = (lang, problem) => {
  const m = t[lang];
  const starts = html`<p><a href="/recover/password">${m.startPassword}</a> · <a href="/recover/login-email">${m.startLoginEmail}</a></p>`;
  switch (problem.slug) {
    case 'recovery-link-invalid':
      return { title: m.invalidLinkTitle, text: m.invalidLinkText, next: html`<p><a class="button" href="/recover/password">${m.askNewLink}</a></p>` };
    case 'recovery-step-out-of-order':
      return { title: m.closedTitle, text: m.closedText, next: starts };
    case 'rate-limited':
      return {
        title: m.tooManyTitle,
        text: format(m.tooManyText, { minutes: Math.max(1, Math.ceil(Number(problem.extensions.retryAfterSeconds ?? 60) / 60)) }),
      };
    default:
      return undefined;
  }
};
