/**
 * Abuse limits of the recovery routes (issue 5): per phone number, per login and per client
 * address, in fixed windows, shared by every API replica through PostgreSQL when given a store
 * (api/limiterStore.ts: keys are keyed hashes, so nothing stores numbers or addresses). The same key
 * is limited the same way whether or not it belongs to an account, so a 429 reveals nothing either.
 */
import type { RequestHandler } from 'express';
import { RECOVERY_RATE_LIMITS } from '../lib/rules';
import { limiter, type Limiter, type LimitStore } from './limiterStore';
import { rateLimited } from './problems';

export type RecoveryLimitSettings = { perPhone: number; perLogin: number; perClientAddress: number; windowMs: number };
type Kind = 'phone' | 'login' | 'address';

export class RecoveryLimiter {
  private readonly limits: Record<Kind, Limiter>;
  constructor(settings: RecoveryLimitSettings = RECOVERY_RATE_LIMITS, store?: LimitStore) {
    const of = (kind: Kind, points: number) => limiter({ name: `recovery-${kind}`, points, windowMs: settings.windowMs, store });
    this.limits = { phone: of('phone', settings.perPhone), login: of('login', settings.perLogin), address: of('address', settings.perClientAddress) };
  }

  async hit(kind: Kind, value: string): Promise<void> {
    const waitSeconds = await this.limits[kind].consume(value.toLowerCase());
    if (waitSeconds !== null) {
      throw rateLimited(
        `recovery-${kind}`,
        `Too many recovery requests for this ${kind === 'address' ? 'client address' : kind}; try again later`,
        waitSeconds,
      );
    }
  }

  /** Every recovery route counts against the client address. */
  perAddress(): RequestHandler {
    return async (req, _res, next) => {
      await this.hit('address', req.ip ?? 'unknown');
      next();
    };
  }
}
