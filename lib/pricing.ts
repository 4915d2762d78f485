/**
 * P11 partner pricing [001]. Integer cents and basis points, so the figures of the help page come
 * out exactly: the partner discount applies first, the volume-degressive rate to what remains
 * (347.20 → 277.76 → 208.32 CHF). Cashback is what the partner does not pay of the public price.
 */
import { DEGRESSIVE_PRODUCT_TYPES, DEGRESSIVE_TIERS, PARTNER_DISCOUNT_BASIS_POINTS } from './rules';

/** `cents` less `basisPoints`/10,000 of it, rounded half up to the cent. */
export function discount(cents: number, basisPoints: number): number {
  if (!Number.isInteger(cents) || cents < 0) throw new RangeError('cents must be a non-negative integer');
  if (!Number.isInteger(basisPoints) || basisPoints < 0 || basisPoints > 10_000) throw new RangeError('basis points must be an integer in 0..10000');
  return Math.floor((cents * (10_000 - basisPoints) + 5_000) / 10_000);
}

export interface PartnerPrice {
  publicCents: number;
  /** After the partner discount (paying with its own means). */
  afterPartnerDiscountCents: number;
  /** After the degressive rate too: what the partner pays. */
  finalCents: number;
  /** Credited to the partner's prepaid account when its client pays the public price. */
  cashbackCents: number;
}

export function partnerPrice(opts: { publicCents: number; degressiveBasisPoints?: number; partnerDiscountBasisPoints?: number }): PartnerPrice {
  const afterPartnerDiscountCents = discount(opts.publicCents, opts.partnerDiscountBasisPoints ?? PARTNER_DISCOUNT_BASIS_POINTS);
  const finalCents = discount(afterPartnerDiscountCents, opts.degressiveBasisPoints ?? 0);
  return { publicCents: opts.publicCents, afterPartnerDiscountCents, finalCents, cashbackCents: opts.publicCents - finalCents };
}

/** The degressive rate of a product type when the payer has `count` products of that type (lib/rules.ts). */
export function degressiveBasisPoints(productType: string, count: number): number {
  if (!(DEGRESSIVE_PRODUCT_TYPES as readonly string[]).includes(productType)) return 0;
  return DEGRESSIVE_TIERS.find((t) => count >= t.fromCount)?.basisPoints ?? 0;
}
