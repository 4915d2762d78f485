/**
 * The codec endpoint the Temporal UI calls (POST /codec/decode, /codec/encode; issue 19, item 5):
 * this file translates HTTP, api/services/codec.ts decides and decodes. The UI runs on another
 * origin, so its origin gets CORS with credentials. A supervisor authenticates with a bearer token,
 * or with the cookie POST /codec/session sets (the desk's button does it): the embedded UI has no
 * login to pass a token from, and sends the cookie once "include cross-origin credentials" is on
 * (a browser setting, which the UI honours only with an endpoint entered there too: docs/operations.md).
 */
import express, { type RequestHandler } from 'express';
import { authenticate, type CredentialStore } from './auth';
import { Problem } from './problems';
import type { codecService } from './services/codec';

const COOKIE = 'codec_session';
const COOKIE_MAX_AGE_MS = 60 * 60 * 1000;

export function codecRouter(opts: {
  authSecret: string;
  credentials: CredentialStore;
  codec: ReturnType<typeof codecService>;
  /** Origins of the Temporal UI allowed to call (CORS); none by default. */
  origins: string[];
}): express.Router {
  const router = express.Router();
  router.use((req, res, next) => {
    const origin = req.get('origin');
    if (origin && opts.origins.includes(origin)) {
      res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' });
      if (req.method === 'OPTIONS') {
        res.set({
          'Access-Control-Allow-Methods': 'POST',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
          'Access-Control-Max-Age': '600',
        });
        return void res.status(204).end();
      }
    }
    next();
  });
  // The cookie stands in for the header when there is none.
  router.use((req, _res, next) => {
    const cookie = /(?:^|;\s*)codec_session=([A-Za-z0-9_.-]+)/.exec(req.get('cookie') ?? '')?.[1];
    if (!req.headers.authorization && cookie) req.headers.authorization = `Bearer ${cookie}`;
    next();
  });
  router.use(authenticate(opts.authSecret, opts.credentials) as RequestHandler);
  router.use(express.json({ limit: '4mb', strict: true }));

  router.post('/session', async (req, res) => {
    await opts.codec.mustRead(req.principal!);
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')![1]!;
    res.cookie(COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/codec', secure: req.secure, maxAge: COOKIE_MAX_AGE_MS });
    res.status(204).end();
  });
  router.delete('/session', (req, res) => {
    res.clearCookie(COOKIE, { httpOnly: true, sameSite: 'strict', path: '/codec', secure: req.secure });
    res.status(204).end();
  });
  router.post('/decode', async (req, res) => {
    res.json(await opts.codec.decode(req.principal!, req.get('x-namespace') ?? 'default', req.body));
  });
  router.post('/encode', async (req, res) => {
    res.json(await opts.codec.encode(req.principal!, req.body));
  });
  router.use(() => {
    throw new Problem('not-found', 'The codec serves POST /codec/decode and /codec/encode');
  });
  return router;
}
