/** P11: a client may grant different rights than requested, never wider ones. [001] */
import type { PartnerRights } from '../db/tables/partners.table';

/** Why `granted` is wider than `requested`, or null when it is not. Billing may differ either way. */
export function widerThanRequested(granted: PartnerRights, requested: PartnerRights): string | null {
  if (granted.access === 'full') return requested.access === 'full' ? null : 'full access was not requested';
  if (requested.access === 'full') return null;
  const allowed = new Set(requested.productIds ?? []);
  const extra = (granted.productIds ?? []).filter((id) => !allowed.has(id));
  return extra.length ? `${extra.length} product(s) were not requested` : null;
}
