/**
 * The customer pages (issue 18): server-rendered HTML a person finishes in a browser, reached from
 * the links of our emails. Like the API routes they only translate HTTP: read the form, call the
 * process's service (the same one the API calls), render. A GET never acts (mail scanners open
 * links); only a form's POST does, and answers with a redirect to a page that shows the outcome.
 */
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { Problem } from '../problems';
import { html } from './html';
import { negotiateLang, type Lang } from './i18n';
import { messagePanel, renderPage } from './layout';

// Same-origin script and style; images from the page itself or the camera (blob:); forms post only
// here; never framed (a framed confirmation button is a clickjacking target).
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export interface PageContext {
  req: Request;
  res: Response;
  lang: Lang;
  /** The request's path without its query: for the language switch and the forms' action. */
  path: string;
  params: Record<string, string>;
  /** The form fields of a POST (urlencoded), as strings. */
  form: Record<string, string>;
}

export type PageResult = { status?: number; html: string } | { redirect: string };

export interface PageRoute {
  method: 'get' | 'post';
  path: string;
  handler: (ctx: PageContext) => Promise<PageResult>;
}

export const definePage = (route: PageRoute) => route;

/** What a person is told when a link or a step is refused, and what to do next. */
export type ProblemPages = (lang: Lang, problem: Problem) => { title: string; text: string; next?: ReturnType<typeof html> } | undefined;

const generic = {
  en: {
    notFound: ['Page not found', 'This page does not exist. Check the link in your email.'],
    failed: ['Something went wrong', 'Your request could not be completed. Try again in a moment.'],
    busy: ['Please try again', 'We are busy with an earlier request. Try again in a few seconds.'],
  },
  fr: {
    notFound: ['Page introuvable', "Cette page n'existe pas. Vérifiez le lien de votre e-mail."],
    failed: ["Une erreur s'est produite", "Votre demande n'a pas pu aboutir. Réessayez dans un instant."],
    busy: ['Veuillez réessayer', 'Une demande précédente est en cours. Réessayez dans quelques secondes.'],
  },
} as const;

export function pagesRouter(routes: PageRoute[], problemPages: ProblemPages = () => undefined): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    next();
  });
  router.use(
    '/pages/assets',
    express.static(path.join(__dirname, 'assets'), { index: false, setHeaders: (res) => res.set('Cache-Control', 'public, max-age=300') }),
  );
  const form = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });

  for (const route of routes) {
    const handlers = route.method === 'post' ? [form] : [];
    router[route.method](route.path, ...handlers, async (req: Request, res: Response) => {
      const lang = negotiateLang(req, res);
      const ctx: PageContext = { req, res, lang, path: req.baseUrl + req.path, params: req.params as Record<string, string>, form: stringsOf(req.body) };
      try {
        const result = await route.handler(ctx);
        if ('redirect' in result) return res.redirect(303, result.redirect);
        res
          .status(result.status ?? 200)
          .type('html')
          .send(result.html);
      } catch (err) {
        const problem = err instanceof Problem ? err : undefined;
        const page = problem ? problemPages(lang, problem) : undefined;
        const [title, text] = page ? [page.title, page.text] : problem?.status === 409 ? generic[lang].busy : generic[lang].failed;
        if (!problem) res.locals.pageError = err;
        res
          .status(problem?.status ?? 500)
          .type('html')
          .send(renderPage({ lang, title, path: ctx.path, main: messagePanel('error', text, page?.next) }));
        if (!problem) throw err;
      }
    });
  }
  return router;
}

/** The last router of the page paths: an unknown page answers 404 as a page, not 401. */
export function pageNotFound(req: Request, res: Response): void {
  const lang = negotiateLang(req, res);
  const [title, text] = generic[lang].notFound;
  res
    .status(404)
    .type('html')
    .send(renderPage({ lang, title, path: req.path, main: messagePanel('error', text) }));
}

function stringsOf(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}
