import type { RequestHandler } from 'express';
import { limiter, type LimitStore } from './limiterStore';
import { rateLimited } from './problems';

/**
 * Fixed-window limit per caller (token subject, else client address), shared by every API replica
 * through PostgreSQL when given a store (api/limiterStore.ts), per process otherwise.
 */
export function rateLimit(opts: {
  perMinute: number;
  /** Names the limiter in the metrics and its keys. */ name?: string;
  store?: LimitStore;
  windowMs?: number;
}): RequestHandler {
  const name = opts.name ?? 'requests';
  const limit = limiter({ name: `rl:${name}`, points: opts.perMinute, windowMs: opts.windowMs ?? 60_000, store: opts.store, lease: true });
  return async (req, _res, next) => {
    const key = req.principal ? `${req.principal.role}:${req.principal.sub}` : `ip:${req.ip}`;
    const waitSeconds = await limit.consume(key);
    if (waitSeconds !== null) throw rateLimited(name, 'Slow down', waitSeconds);
    next();
  };
}
