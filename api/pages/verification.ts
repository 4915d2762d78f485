/**
 * The identity verification steps (P1, P2) as pages, from the emailed link: the mobile number, the
 * SMS code, the position from the browser, the identity document and the selfie from the camera,
 * with the progress shown and the current step resumed on reload (the page asks the case where it
 * stands; the link is the credential). Each step is the API's own route handler (api/routes/
 * verification.ts), so a page and the API speak to the same workflow the same way; the document and
 * selfie go from the page's script to the same JSON routes, since images need the browser to read them.
 */
import type { ZodType } from 'zod';
import { describeDuration, VERIFICATION_ANSWER_TARGET_BUSINESS_HOURS, VERIFICATION_CODE_VALIDITY_MS } from '../../lib/rules';
import { Problem } from '../problems';
import { verificationRoutes } from '../routes/verification';
import type { AnyRoute } from '../routing';
import { html, type SafeHtml } from './html';
import { format, type Lang, type Messages } from './i18n';
import { errorSummary, field, messagePanel, progress, renderPage, type FieldErrors } from './layout';
import { definePage, type PageContext, type PageRoute, type ProblemPages } from './router';
import type { PagesDeps } from './index';

type Step = 'phone' | 'phone_confirm' | 'geolocation' | 'document' | 'selfie' | 'review' | 'closed';
interface Progress {
  reason: string;
  step: Step;
  round: number;
  resubmissionReason: string | null;
  codeAttemptsLeft: number | null;
  smsSendsLeft: number;
}

const t: Messages<
  | 'title'
  | 'steps'
  | 'sPhone'
  | 'sCode'
  | 'sPosition'
  | 'sDocument'
  | 'sSelfie'
  | 'intro'
  | 'resubmit'
  | 'phone'
  | 'phoneHint'
  | 'phoneError'
  | 'sendCode'
  | 'code'
  | 'codeHint'
  | 'codeError'
  | 'codeRejected'
  | 'confirm'
  | 'smsLeft'
  | 'positionIntro'
  | 'sharePosition'
  | 'positionRefused'
  | 'positionUnsupported'
  | 'positionNoScript'
  | 'docIntro'
  | 'docType'
  | 'idCard'
  | 'passport'
  | 'front'
  | 'back'
  | 'photoPage'
  | 'imageHint'
  | 'send'
  | 'sending'
  | 'imageError'
  | 'noScript'
  | 'selfieIntro'
  | 'selfie'
  | 'reviewTitle'
  | 'reviewText'
  | 'closedTitle'
  | 'closedText'
  | 'invalidTitle'
  | 'invalidText'
  | 'busy'
  | 'outOfOrder'
  | 'smsLimit'
  | 'undeliverable'
> = {
  en: {
    title: 'Verify your identity',
    steps: 'Verification steps',
    sPhone: 'Mobile number',
    sCode: 'SMS code',
    sPosition: 'Position',
    sDocument: 'Identity document',
    sSelfie: 'Selfie',
    intro: 'Five short steps on your mobile phone. Have your identity card or passport at hand.',
    resubmit: 'Our agent asked you to send your documents again: {reason}',
    phone: 'Your mobile number',
    phoneHint: 'In international format, for example +41791234567. We send a 6-digit code to it.',
    phoneError: 'Enter the number in international format, starting with + and the country code.',
    sendCode: 'Send the code',
    code: 'Code from the SMS',
    codeHint: '6 digits, valid {validity}.',
    codeError: 'Enter the 6 digits of the SMS.',
    codeRejected: 'This code is not right or has expired.',
    confirm: 'Confirm',
    smsLeft: 'Codes you can still ask for this hour: {left}.',
    positionIntro: 'We compare the position of your phone with the country of your account. Your browser asks for permission.',
    sharePosition: 'Share my position',
    positionRefused: 'The position was refused. Allow this page to use your location in the browser settings, then try again.',
    positionUnsupported: 'This browser cannot give a position. Open the link on your mobile phone.',
    positionNoScript: 'This step needs JavaScript to read the position of your phone.',
    docIntro: 'Take photos of your identity document: both sides of an identity card, or the photo page of a passport.',
    docType: 'Document',
    idCard: 'Identity card',
    passport: 'Passport',
    front: 'Front side',
    back: 'Back side',
    photoPage: 'Photo page',
    imageHint: 'A JPEG or PNG photo of at most 10 MB; on a phone, the camera opens.',
    send: 'Send',
    sending: 'Sending…',
    imageError: 'Choose a JPEG or PNG photo of at most 10 MB.',
    noScript: 'This step needs JavaScript to send the photos.',
    selfieIntro: 'Last step: a photo of your face, holding the document next to it.',
    selfie: 'Selfie with the document',
    reviewTitle: 'Thank you, we have everything',
    reviewText: 'An agent reviews your documents, on average within {hours} business hours. We tell you the outcome by email. You can close this page.',
    closedTitle: 'This verification is closed',
    closedText: 'There is nothing left to do with this link. If you were asked for a new verification, use the link of the latest email.',
    invalidTitle: 'This link no longer works',
    invalidText:
      'It was replaced by a newer one, used up, or its verification has ended. Use the link of the latest email, or ask for a new one from your order in the Manager.',
    busy: 'Your previous step is still being processed. Wait a few seconds and reload the page.',
    outOfOrder: 'This step is already done. The page now shows where you are.',
    smsLimit: 'Too many codes were sent in the last hour. Try again later.',
    undeliverable: 'This number cannot receive SMS. Check it, or use another one.',
  },
  fr: {
    title: 'Vérifiez votre identité',
    steps: 'Étapes de la vérification',
    sPhone: 'Numéro mobile',
    sCode: 'Code SMS',
    sPosition: 'Position',
    sDocument: "Pièce d'identité",
    sSelfie: 'Selfie',
    intro: "Cinq courtes étapes sur votre téléphone mobile. Gardez votre carte d'identité ou votre passeport à portée de main.",
    resubmit: 'Notre agent vous demande de renvoyer vos documents : {reason}',
    phone: 'Votre numéro mobile',
    phoneHint: 'Au format international, par exemple +41791234567. Nous y envoyons un code à 6 chiffres.',
    phoneError: "Saisissez le numéro au format international, avec + et l'indicatif du pays.",
    sendCode: 'Envoyer le code',
    code: 'Code reçu par SMS',
    codeHint: '6 chiffres, valable {validity}.',
    codeError: 'Saisissez les 6 chiffres du SMS.',
    codeRejected: "Ce code n'est pas correct ou a expiré.",
    confirm: 'Confirmer',
    smsLeft: 'Codes encore disponibles cette heure-ci : {left}.',
    positionIntro: 'Nous comparons la position de votre téléphone avec le pays de votre compte. Votre navigateur demande votre accord.',
    sharePosition: 'Partager ma position',
    positionRefused: 'La position a été refusée. Autorisez cette page à utiliser votre position dans les réglages du navigateur, puis réessayez.',
    positionUnsupported: 'Ce navigateur ne peut pas donner de position. Ouvrez le lien sur votre téléphone mobile.',
    positionNoScript: 'Cette étape a besoin de JavaScript pour lire la position de votre téléphone.',
    docIntro: "Photographiez votre pièce d'identité : les deux faces d'une carte d'identité, ou la page photo d'un passeport.",
    docType: 'Document',
    idCard: "Carte d'identité",
    passport: 'Passeport',
    front: 'Recto',
    back: 'Verso',
    photoPage: 'Page photo',
    imageHint: "Une photo JPEG ou PNG de 10 Mo au plus ; sur un téléphone, l'appareil photo s'ouvre.",
    send: 'Envoyer',
    sending: 'Envoi…',
    imageError: 'Choisissez une photo JPEG ou PNG de 10 Mo au plus.',
    noScript: 'Cette étape a besoin de JavaScript pour envoyer les photos.',
    selfieIntro: 'Dernière étape : une photo de votre visage, le document tenu à côté.',
    selfie: 'Selfie avec le document',
    reviewTitle: 'Merci, nous avons tout reçu',
    reviewText:
      'Un agent examine vos documents, en moyenne dans les {hours} heures ouvrées. Nous vous communiquons le résultat par e-mail. Vous pouvez fermer cette page.',
    closedTitle: 'Cette vérification est terminée',
    closedText: "Il n'y a plus rien à faire avec ce lien. Si une nouvelle vérification vous a été demandée, utilisez le lien du dernier e-mail.",
    invalidTitle: 'Ce lien ne fonctionne plus',
    invalidText:
      'Il a été remplacé par un plus récent, déjà utilisé, ou sa vérification est terminée. Utilisez le lien du dernier e-mail, ou demandez-en un nouveau depuis votre commande dans le Manager.',
    busy: 'Votre étape précédente est encore en traitement. Attendez quelques secondes et rechargez la page.',
    outOfOrder: 'Cette étape est déjà faite. La page montre maintenant où vous en êtes.',
    smsLimit: "Trop de codes ont été envoyés dans l'heure. Réessayez plus tard.",
    undeliverable: 'Ce numéro ne peut pas recevoir de SMS. Vérifiez-le, ou utilisez-en un autre.',
  },
};

const STEP_INDEX: Record<Step, number> = { phone: 0, phone_confirm: 1, geolocation: 2, document: 3, selfie: 4, review: 5, closed: 5 };
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Each step's own API route, called as the API calls it (same schema, same handler). */
function apiSteps(deps: PagesDeps) {
  const routes = verificationRoutes({
    client: deps.client,
    db: deps.db,
    taskQueue: deps.config.taskQueue,
    clock: deps.clock,
    keyring: deps.keyring,
    publicUrl: deps.config.publicUrl,
  });
  const route = (method: AnyRoute['method'], path: string) => routes.find((r) => r.method === method && r.path === path)!;
  const call = async (r: AnyRoute, ctx: PageContext, body?: unknown) => {
    const parsed = body === undefined ? undefined : (r.body as ZodType).safeParse(body);
    if (parsed && !parsed.success) return { invalid: true as const };
    const reply = await r.handler({ params: { token: ctx.params.token! }, query: {}, body: parsed?.data, principal: undefined as never, req: ctx.req });
    return { view: reply.body as Progress };
  };
  return {
    progress: route('get', '/v1/verification/:token'),
    phone: route('post', '/v1/verification/:token/phone'),
    code: route('post', '/v1/verification/:token/phone/confirm'),
    position: route('post', '/v1/verification/:token/geolocation'),
    call,
  };
}

function stepPage(lang: Lang, path: string, token: string, p: Progress, errors: FieldErrors = {}, notice?: string): string {
  const m = t[lang];
  const steps = [m.sPhone, m.sCode, m.sPosition, m.sDocument, m.sSelfie];
  const base = `/verify/${token}`;
  let body: SafeHtml;
  let scripts: string[] = [];
  switch (p.step) {
    case 'phone':
      body = html`<p>${m.intro}</p>
        <form method="post" action="${base}/phone" novalidate>
          ${field({ id: 'phone', label: m.phone, type: 'tel', hint: m.phoneHint, error: errors.phone, autocomplete: 'tel', inputmode: 'tel', required: true })}
          <button type="submit">${m.sendCode}</button>
        </form>`;
      break;
    case 'phone_confirm':
      body = html`<form method="post" action="${base}/code" novalidate>
          ${field({ id: 'code', label: m.code, hint: format(m.codeHint, { validity: describeDuration(VERIFICATION_CODE_VALIDITY_MS) }), error: errors.code, autocomplete: 'one-time-code', inputmode: 'numeric', required: true, attrs: { pattern: '[0-9]{6}', maxlength: '6' } })}
          <button type="submit">${m.confirm}</button>
        </form>
        <p class="hint">${format(m.smsLeft, { left: p.smsSendsLeft })}</p>`;
      break;
    case 'geolocation':
      scripts = ['verification.js'];
      body = html`<p>${m.positionIntro}</p>
        <form method="post" action="${base}/position" id="position-form" data-refused="${m.positionRefused}" data-unsupported="${m.positionUnsupported}">
          <input type="hidden" name="latitude" /><input type="hidden" name="longitude" /><input type="hidden" name="accuracyMeters" />
          <p class="error" id="position-error" role="alert" hidden></p>
          <button type="submit">${m.sharePosition}</button>
        </form>
        <noscript><p class="error">${m.positionNoScript}</p></noscript>`;
      break;
    case 'document':
      scripts = ['verification.js'];
      body = html`<p>${m.docIntro}</p>
        <form
          id="images-form"
          data-endpoint="/v1/verification/${token}/document"
          data-kind="document"
          data-sending="${m.sending}"
          data-error="${m.imageError}"
          novalidate
        >
          <fieldset class="field">
            <legend>${m.docType}</legend>
            <div class="choice"><input type="radio" id="type-id_card" name="type" value="id_card" checked /><label for="type-id_card">${m.idCard}</label></div>
            <div class="choice"><input type="radio" id="type-passport" name="type" value="passport" /><label for="type-passport">${m.passport}</label></div>
          </fieldset>
          <div data-for="id_card">
            ${field({ id: 'front', label: m.front, type: 'file', hint: m.imageHint, attrs: { accept: 'image/jpeg,image/png', capture: 'environment' } })}
            ${field({ id: 'back', label: m.back, type: 'file', attrs: { accept: 'image/jpeg,image/png', capture: 'environment' } })}
          </div>
          <div data-for="passport" hidden>
            ${field({ id: 'photo-page', label: m.photoPage, type: 'file', hint: m.imageHint, attrs: { accept: 'image/jpeg,image/png', capture: 'environment' } })}
          </div>
          <p class="error" id="images-error" role="alert" hidden></p>
          <button type="submit">${m.send}</button>
        </form>
        <noscript><p class="error">${m.noScript}</p></noscript>`;
      break;
    case 'selfie':
      scripts = ['verification.js'];
      body = html`<p>${m.selfieIntro}</p>
        <form
          id="images-form"
          data-endpoint="/v1/verification/${token}/selfie"
          data-kind="selfie"
          data-done="/verify/submitted"
          data-sending="${m.sending}"
          data-error="${m.imageError}"
          novalidate
        >
          ${field({ id: 'selfie', label: m.selfie, type: 'file', hint: m.imageHint, attrs: { accept: 'image/jpeg,image/png', capture: 'user' } })}
          <p class="error" id="images-error" role="alert" hidden></p>
          <button type="submit">${m.send}</button>
        </form>
        <noscript><p class="error">${m.noScript}</p></noscript>`;
      break;
    case 'review':
      return renderPage({
        lang,
        path,
        title: m.reviewTitle,
        main: html`${progress(steps, 5, m.steps)}${messagePanel('success', format(m.reviewText, { hours: VERIFICATION_ANSWER_TARGET_BUSINESS_HOURS }))}`,
      });
    default:
      return renderPage({ lang, path, title: m.closedTitle, main: messagePanel('info', m.closedText) });
  }
  const resubmit = p.resubmissionReason && p.round > 1 ? messagePanel('info', format(m.resubmit, { reason: p.resubmissionReason })) : '';
  return renderPage({
    lang,
    path,
    title: m.title,
    scripts,
    main: html`${progress(steps, STEP_INDEX[p.step], m.steps)}${notice ? messagePanel('info', notice) : ''}${resubmit}${errorSummary(lang, errors)}${body}`,
  });
}

export function verificationPages(deps: PagesDeps): PageRoute[] {
  const api = apiSteps(deps);
  const tokenOf = (ctx: PageContext) => {
    if (!TOKEN.test(ctx.params.token ?? '')) throw new Problem('verification-link-invalid');
    return ctx.params.token!;
  };
  const current = async (ctx: PageContext) => (await api.call(api.progress, ctx)).view!;
  const show = async (ctx: PageContext, errors?: FieldErrors, status = 200) => ({
    status,
    html: stepPage(ctx.lang, `/verify/${tokenOf(ctx)}`, tokenOf(ctx), await current(ctx), errors),
  });

  /** A step's POST: accepted → back to the step page (which shows the next step); refused → the form again, the error at its field. */
  const step =
    (route: AnyRoute, fieldId: string, body: (form: Record<string, string>) => unknown, invalid: keyof (typeof t)['en']) => async (ctx: PageContext) => {
      const token = tokenOf(ctx);
      const m = t[ctx.lang];
      try {
        const out = await api.call(route, ctx, body(ctx.form));
        if ('invalid' in out) return show(ctx, { [fieldId]: m[invalid] }, 400);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        const inline: Partial<Record<string, string>> = {
          'verification-code-rejected': m.codeRejected,
          'sms-limit-reached': m.smsLimit,
          'phone-undeliverable': m.undeliverable,
        };
        if (inline[err.slug]) return show(ctx, { [fieldId]: inline[err.slug] }, err.status);
        // A repeated or late form (a second tab, the back button): the page shows where the case is now.
        if (err.slug !== 'verification-step-out-of-order') throw err;
      }
      return { redirect: `/verify/${token}` };
    };

  return [
    // The selfie submits the case and spends the link: the script comes here, where no link is needed.
    definePage({
      method: 'get',
      path: '/verify/submitted',
      handler: async ({ lang, path }) => ({ html: stepPage(lang, path, '', { step: 'review' } as Progress) }),
    }),
    definePage({ method: 'get', path: '/verify/:token', handler: (ctx) => show(ctx) }),
    definePage({
      method: 'post',
      path: '/verify/:token/phone',
      handler: step(api.phone, 'phone', (f) => ({ phone: (f.phone ?? '').replace(/[\s.-]/g, '') }), 'phoneError'),
    }),
    definePage({ method: 'post', path: '/verify/:token/code', handler: step(api.code, 'code', (f) => ({ code: (f.code ?? '').trim() }), 'codeError') }),
    definePage({
      method: 'post',
      path: '/verify/:token/position',
      handler: step(
        api.position,
        'position',
        (f) => ({ latitude: Number(f.latitude), longitude: Number(f.longitude), accuracyMeters: Number(f.accuracyMeters) }),
        'positionRefused',
      ),
    }),
  ];
}

export const verificationProblemPages: ProblemPages = (lang, problem) => {
  const m = t[lang];
  switch (problem.slug) {
    case 'verification-link-invalid':
      return { title: m.invalidTitle, text: m.invalidText };
    case 'verification-closed':
      return { title: m.closedTitle, text: m.closedText };
    case 'verification-busy':
      return { title: m.title, text: m.busy };
    default:
      return undefined;
  }
};
