/** The Idempotency-Key header of a request that must never take effect twice (a payment, an order). */
import type { Request } from 'express';
import { Problem } from './problems';

export function idempotencyKey(req: Request, what: string): string {
  const key = req.get('idempotency-key');
  if (!key || !/^[A-Za-z0-9_.:-]{8,100}$/.test(key)) {
    throw new Problem('validation-failed', `Send an Idempotency-Key header (8 to 100 letters, digits, _ . : -) so a retried request never ${what} twice`);
  }
  return key;
}
