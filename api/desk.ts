/**
 * The agents' review desk at /desk: a static page that calls the /v1 verification API with the
 * agent's own bearer token. Nothing here authenticates; the page holds no data until the API
 * answers it.
 */
import path from 'node:path';
import express from 'express';
import { Problem } from './problems';

// The page shows identity documents: same-origin script and style only, images from blob: URLs
// the page builds itself, never framed, and no form may post anywhere (a token typed into a form
// that submits before the script runs must not end up in a URL).
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' blob:",
  "style-src 'self'",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function deskRouter(): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    next();
  });
  router.use(express.static(path.join(__dirname, 'desk'), { index: 'index.html' }));
  // Nothing else lives under /desk: an unknown path is not found, not a bearer request gone wrong (401).
  router.use(() => {
    throw new Problem('not-found', 'No such page of the review desk; open /desk/');
  });
  return router;
}
