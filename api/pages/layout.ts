/**
 * The frame of every customer page: the language switch, a skip link, one <main>, and the form
 * pieces that keep pages accessible the same way everywhere (a label for every field, the error
 * next to its field and tied to it with aria-describedby, a summary of errors that takes focus).
 */
import { html, type SafeHtml } from './html';
import type { Lang } from './i18n';

const frame = {
  en: { skip: 'Skip to the content', site: 'Customer Manager', other: 'Français', otherLang: 'fr', errorsTitle: 'Please correct the following' },
  fr: { skip: 'Aller au contenu', site: 'Manager client', other: 'English', otherLang: 'en', errorsTitle: 'Veuillez corriger ce qui suit' },
} as const;

export interface PageOptions {
  lang: Lang;
  title: string;
  /** The request's path, for the language switch (query dropped: it may carry nothing we need). */
  path: string;
  main: SafeHtml;
  /** Scripts of this page, served from /pages/assets (progressive enhancement only). */
  scripts?: string[];
}

export function renderPage({ lang, title, path, main, scripts = [] }: PageOptions): string {
  const t = frame[lang];
  scripts = ['pages.js', ...scripts];
  return `<!doctype html>${html`<html lang="${lang}">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>${title} · ${t.site}</title>
      <link rel="stylesheet" href="/pages/assets/pages.css" />
      ${scripts.map((s) => html`<script src="/pages/assets/${s}" defer></script>`)}
    </head>
    <body>
      <a class="skip" href="#main">${t.skip}</a>
      <header class="site">
        <span class="brand">${t.site}</span>
        <a class="lang" href="${path}?lang=${t.otherLang}" hreflang="${t.otherLang}" lang="${t.otherLang}">${t.other}</a>
      </header>
      <main id="main" tabindex="-1">
        <h1>${title}</h1>
        ${main}
      </main>
    </body>
  </html>`}`;
}

export type FieldErrors = Partial<Record<string, string>>;

/** Errors at the top of a form: focused first (pages.js), each linking to its field. */
export function errorSummary(lang: Lang, errors: FieldErrors): SafeHtml {
  const entries = Object.entries(errors).filter((e): e is [string, string] => Boolean(e[1]));
  if (entries.length === 0) return html``;
  return html`<div class="error-summary" role="alert" tabindex="-1" data-autofocus>
    <h2>${frame[lang].errorsTitle}</h2>
    <ul>
      ${entries.map(([id, message]) => html`<li><a href="#${id}">${message}</a></li>`)}
    </ul>
  </div>`;
}

export interface FieldOptions {
  id: string;
  label: string;
  name?: string;
  type?: string;
  value?: string;
  hint?: string;
  error?: string;
  autocomplete?: string;
  inputmode?: string;
  required?: boolean;
  /** Extra attributes we write ourselves (pattern, accept, capture, minlength). */
  attrs?: Record<string, string | true>;
}

/** A labelled input with its hint and its error next to it. */
export function field(f: FieldOptions): SafeHtml {
  const described = [f.hint ? `${f.id}-hint` : '', f.error ? `${f.id}-error` : ''].filter(Boolean).join(' ');
  const attrs = Object.entries(f.attrs ?? {}).map(([k, v]) => (v === true ? html` ${k}` : html` ${k}="${v}"`));
  return html`<div class="field${f.error ? ' has-error' : ''}">
    <label for="${f.id}">${f.label}</label>
    ${f.hint ? html`<p class="hint" id="${f.id}-hint">${f.hint}</p>` : ''} ${f.error ? html`<p class="error" id="${f.id}-error">${f.error}</p>` : ''}
    <input
      id="${f.id}"
      name="${f.name ?? f.id}"
      type="${f.type ?? 'text'}"
      ${f.value !== undefined ? html` value="${f.value}"` : ''}${f.autocomplete ? html` autocomplete="${f.autocomplete}"` : ''}${f.inputmode ? html` inputmode="${f.inputmode}"` : ''}${f.required ? html` required` : ''}${described ? html` aria-describedby="${described}"` : ''}${f.error ? html` aria-invalid="true"` : ''}${attrs}
    />
  </div>`;
}

/** Where the person is in a flow of steps: a list the screen reader announces as "step n of m". */
export function progress(steps: string[], current: number, label: string): SafeHtml {
  return html`<nav class="progress" aria-label="${label}">
    <ol>
      ${steps.map((s, i) => html`<li${i === current ? html` aria-current="step" class="current"` : i < current ? html` class="done"` : ''}>${s}</li>`)}
    </ol>
  </nav>`;
}

/** A page that says what went wrong and what to do next (a link to ask again, where). */
export function messagePanel(kind: 'error' | 'success' | 'info', text: SafeHtml | string, next?: SafeHtml): SafeHtml {
  return html`<div class="panel ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">
    <p>${text}</p>
    ${next ?? ''}
  </div>`;
}
