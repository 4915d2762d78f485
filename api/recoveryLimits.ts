/**
 * Abuse limits of the recovery routes (issue 5): per phone number, per login and per client
 * address, in fixed windows. Keys are hashed, so the process holds no numbers or addresses. The
 * same key is limited the same way whether or not it belongs to an account, so a 429 reveals
 * nothing either. In-memory, per API process, like the general rate limit.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RECOVERY_RATE_LIMITS } from '../lib/rules';
import { rateLimited } from './problems';

export type RecoveryLimitSettings = { perPhone: number; perLogin: number; perClientAddress: number; windowMs: number };

export class RecoveryLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly settings: RecoveryLimitSettings = RECOVERY_RATE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  hit(kind: 'phone' | 'login' | 'address', value: string): void {
    const max = kind === 'phone' ? this.settings.perPhone : kind === 'login' ? this.settings.perLogin : this.settings.perClientAddress;
    const key = kind + ':' + createHash('sha256').update(value.toLowerCase()).digest('base64url');
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.settings.windowMs) {
      if (this.windows.size > 100_000) this.windows.clear();
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    if (++w.count > max) {
      throw rateLimited(`recovery-${kind}`, `Too many recovery requests for this ${kind === 'address' ? 'client address' : kind}; try again later`, Math.max(1, Math.ceil((w.start + this.settings.windowMs - t) / 1000)));
    }
  }

  /** Every recovery route counts against the client address. */
  perAddress(): RequestHandler {
    return (req, _res, next) => {
      this.hit('address', req.ip ?? 'unknown');
      next();
    };
  }
}
