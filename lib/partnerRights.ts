/**
 * P11 [003]: the client may grant different rights from those the partner requested, wider or
 * narrower, and pays with either side's methods; the partner then sees what was granted.
 */
import type { PartnerRights } from '../db/tables/partners.table';

/** Whether two grants give the same access, products and billing. */
export function sameRights(a: PartnerRights, b: PartnerRights): boolean {
  if (a.access !== b.access || a.billing !== b.billing) return false;
  if (a.access === 'full') return true;
  const x = new Set(a.productIds ?? []);
  const y = b.productIds ?? [];
  return x.size === new Set(y).size && y.every((id) => x.has(id));
}
