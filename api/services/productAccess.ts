/**
 * Who may read or manage a product (P9, P11, P12, P14), in one place for every product route.
 * - A member of the product's organization, within their product rights (issue 17, item 7: a
 *   member limited to some products neither reads nor acts on the others, which look unknown).
 *   Managing (billing, cancelling) is for administrators and legal representatives.
 * - A partner of the organization reads the products the client granted (P11), never manages them;
 *   when the client is billed to it, its managers pay their renewals, and the client's do not.
 * - Agents and the system read every product.
 * Anyone else learns nothing: the product is not found.
 */
import type { Database } from '../../db/database';
import type { Kysely } from 'kysely';
import { findMembership } from '../../db/repositories/organizations';
import { billedOrganizationOf, partnerMayAct, partnershipCovering } from '../../db/repositories/partnerships';
import { findProduct, membershipForProduct } from '../../db/repositories/products';
import type { Principal } from '../auth';
import { notFound, Problem } from '../problems';

export function productAccess(db: Kysely<Database>) {
  async function check(productId: string, principal: Pick<Principal, 'role' | 'sub'>, manage: boolean) {
    const product = await findProduct(db, productId);
    if (!product) throw notFound('product');
    if (principal.role !== 'customer') {
      if (manage) throw new Problem('forbidden', 'Customers manage their products');
      return { product, membership: undefined };
    }
    const membership = await membershipForProduct(db, productId, principal.sub);
    if (membership && (membership.product_ids === null || membership.product_ids.includes(productId))) {
      if (manage && membership.role === 'collaborator') throw new Problem('forbidden', 'Only an administrator or a legal representative may do this');
      return { product, membership };
    }
    if (!membership && !manage && (await partnerMayAct(db, principal.sub, productId))) return { product, membership: undefined };
    throw notFound('product');
  }
  /**
   * Paying is managing, and also the business of the partner a client is billed to (P11): its legal
   * representatives and administrators pay the invoices addressed to it.
   */
  async function pay(productId: string, principal: Pick<Principal, 'role' | 'sub'>) {
    let own: Awaited<ReturnType<typeof check>>;
    try {
      own = await check(productId, principal, true);
    } catch (err) {
      if (principal.role !== 'customer' || !(err instanceof Problem) || err.slug !== 'not-found') throw err;
      const product = await findProduct(db, productId);
      const payer = product && (await billedOrganizationOf(db, productId));
      if (!product || payer === product.organization_id) throw err;
      const membership = await findMembership(db, payer!, principal.sub);
      if (!membership || membership.role === 'collaborator') throw err;
      return { product, membership: undefined };
    }
    // Invoiced to a partner, the invoice and its prepaid money are the partner's: the client's managers do not pay it.
    if (own.membership && (await partnershipCovering(db, own.product.organization_id, productId))?.billing === 'partner')
      throw new Problem('forbidden', 'This product is invoiced to your partner, who pays its renewals');
    return own;
  }
  return {
    /** The product, when the principal may see it; not found otherwise. */
    read: (productId: string, principal: Pick<Principal, 'role' | 'sub'>) => check(productId, principal, false),
    /** The product, when the principal may change its billing or cancel it; 403 for a collaborator. */
    manage: (productId: string, principal: Pick<Principal, 'role' | 'sub'>) => check(productId, principal, true),
    /** The product, when the principal may pay its renewal: a manager, or a manager of the partner billed for it. */
    pay,
  };
}
