/**
 * The pages speak French and English, as the provider's do. The language comes from, in order: a
 * `lang` query parameter (the switch on every page, remembered in a cookie), the cookie, then the
 * browser's Accept-Language; English otherwise.
 */
import type { Request, Response } from 'express';

export const LANGS = ['en', 'fr'] as const;
export type Lang = (typeof LANGS)[number];

export const LANG_COOKIE = 'lang';

const isLang = (v: unknown): v is Lang => typeof v === 'string' && (LANGS as readonly string[]).includes(v);

/** The best of our languages in an Accept-Language header (q-values honoured, region ignored). */
export function fromAcceptLanguage(header: string | undefined): Lang | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { base: tag!.trim().toLowerCase().split('-')[0]!, q: q ? Number(q.slice(2)) || 0 : 1, index };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((r) => r.base).find(isLang);
}

function cookie(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = pair.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** The page's language; a `?lang=` choice is remembered for the next pages (a year, this site only). */
export function negotiateLang(req: Request, res: Response): Lang {
  const chosen = req.query.lang;
  if (isLang(chosen)) {
    res.cookie(LANG_COOKIE, chosen, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 365 * 24 * 3600 * 1000 });
    return chosen;
  }
  const remembered = cookie(req, LANG_COOKIE);
  if (isLang(remembered)) return remembered;
  return fromAcceptLanguage(req.headers['accept-language']) ?? 'en';
}

/** A page's messages in both languages, the same keys in each (the compiler checks it). */
export type Messages<K extends string> = Record<Lang, Record<K, string>>;

/** Replaces `{name}` in a message with the given values (already plain text; escaping is the template's). */
export function format(message: string, values: Record<string, string | number>): string {
  return message.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
