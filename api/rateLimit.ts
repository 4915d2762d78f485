import type { RequestHandler } from 'express';
import { rateLimited } from './problems';

/**
 * Fixed-window limit per caller (token subject, else client address). In-memory: it protects one
 * API process; behind several replicas, the per-process budget is the ceiling each one enforces.
 */
export function rateLimit(opts: { perMinute: number; now?: () => number; /** Names the limiter in the metrics. */ name?: string }): RequestHandler {
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  return (req, _res, next) => {
    const key = req.principal ? `${req.principal.role}:${req.principal.sub}` : `ip:${req.ip}`;
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= 60_000) {
      if (windows.size > 50_000) windows.clear();
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    if (++w.count > opts.perMinute) {
      throw rateLimited(opts.name ?? 'requests', 'Slow down', Math.ceil((w.start + 60_000 - t) / 1000));
    }
    next();
  };
}
