/**
 * The one list of customer pages (issue 18): each flow's pages (api/pages/<flow>.ts) concatenated,
 * mounted once by api/app.ts before the bearer authentication (a page carries its credential in
 * the link, or a page sign-in). Only the page paths enter the pages router, so the API's answers
 * keep their own headers; an unknown page path answers 404 as a page, not 401.
 */
import type { Client } from '@temporalio/client';
import type { RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import type { Keyring } from '../../temporal/codec';
import type { CredentialStore } from '../auth';
import type { LimitStore } from '../limiterStore';
import { rateLimit } from '../rateLimit';
import type { RecoveryLimiter } from '../recoveryLimits';
import { accountSecrets } from '../../lib/accountSecrets';
import { ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT } from '../../lib/rules';
import { networkOf } from '../../lib/network';
import { describeClient } from '../services/loginAlerts';
import { sessionService } from '../services/sessions';
import { cancellationPages, cancellationProblemPages } from './cancellation';
import { clientInvitationPages } from './clientInvitations';
import { invitationPages, invitationProblemPages } from './invitations';
import { recoveryPages, recoveryProblemPages } from './recovery';
import { rfpPages } from './rfps';
import { verificationPages, verificationProblemPages } from './verification';
import { pageNotFound, pagesRouter, type PageRoute, type ProblemPages } from './router';
import { pageSessions, sessionProblemPages, type PageLogin } from './session';

export interface PagesDeps {
  client: Client;
  db: Kysely<Database>;
  clock: { now(): Date };
  keyring: Keyring;
  config: { authSecret: string; taskQueue: string; rateLimitPerMinute: number; publicUrl: string; lockAfterFailedLogins?: number };
  /** The recovery limits the API counts with (per login, number and client address): one count for both. */
  limits: RecoveryLimiter;
  limitStore?: LimitStore;
  /** The bearer sessions' store (api/app.ts): a page sign-in's session ends like any other. */
  credentials: CredentialStore;
}

/** The first path segment of every page; other paths never enter the pages router. */
export const PAGE_PREFIXES = [
  '/pages',
  '/recover',
  '/reset-password',
  '/sign-in',
  '/verify',
  '/cancel',
  '/invitations',
  '/handover',
  '/client-invitations',
  '/rfp',
];

/** The page sign-in's login is the API's (api/services/sessions.ts): failures count, locks, the second factor and alerts the same way. */
function loginAsTheApi(deps: PagesDeps): PageLogin {
  const sessions = sessionService({
    client: deps.client,
    db: deps.db,
    taskQueue: deps.config.taskQueue,
    clock: deps.clock,
    authSecret: deps.config.authSecret,
    secrets: accountSecrets(deps.keyring),
    lockAfterFailedLogins: deps.config.lockAfterFailedLogins ?? ACCOUNT_LOCK_FAILED_LOGINS_DEFAULT,
  });
  return ({ login, password, otp, req }) =>
    sessions.logIn({
      login: login.trim().slice(0, 254),
      password: password.slice(0, 1024),
      ...(otp?.trim() ? { otp: otp.trim() } : {}),
      client: describeClient(req.get('user-agent')),
      network: networkOf(req.ip),
    });
}

export function customerPages(deps: PagesDeps): PageRoute[] {
  const sessions = pageSessions(deps, loginAsTheApi(deps));
  return [
    ...recoveryPages(deps),
    ...verificationPages(deps),
    ...cancellationPages(deps),
    ...invitationPages(deps, sessions),
    ...clientInvitationPages(deps, sessions),
    ...rfpPages(deps, sessions),
    ...sessions.routes,
  ];
}

/** Each flow's refusals as pages; the first flow that knows a problem words it. */
const flowProblemPages: ProblemPages[] = [
  recoveryProblemPages,
  verificationProblemPages,
  cancellationProblemPages,
  invitationProblemPages,
  sessionProblemPages,
];
export const customerProblemPages: ProblemPages = (lang, problem) => flowProblemPages.map((p) => p(lang, problem)).find(Boolean);

const isPagePath = (path: string) => PAGE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/** The pages router behind the page paths; every form's POST counts against the client address like the API's link routes. */
export function customerPagesRouter(deps: PagesDeps): RequestHandler {
  const perAddress = rateLimit({ perMinute: deps.config.rateLimitPerMinute, name: 'pages', store: deps.limitStore });
  const limited = customerPages(deps).map((route): PageRoute =>
    route.method === 'post'
      ? {
          ...route,
          handler: async (ctx) => {
            await perAddress(ctx.req, ctx.res, () => undefined);
            return route.handler(ctx);
          },
        }
      : route,
  );
  const pages = pagesRouter(limited, customerProblemPages);
  return (req, res, next) => {
    if (!isPagePath(req.path)) return next();
    void pages(req, res, (err?: unknown) => (err ? next(err) : pageNotFound(req, res)));
  };
}
