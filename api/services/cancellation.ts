/**
 * P12 product cancellation confirmed by email: an administrator or legal representative asks; the
 * emailed link confirms (its token is the credential, as the email is the proof of intent); the
 * confirmation page reads what the link will end and what stays due without acting. The API routes
 * and the page call these functions.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
  deleteCancellationRequest,
  insertCancellationRequest,
  pendingCancellationByToken,
  pendingRequestByToken,
  productWithPendingCancellation,
} from '../../db/repositories/cancellation';
import { CANCELLATION_CONFIRMATION_VALIDITY_MS } from '../../lib/rules';
import { cancellationWorkflowId, confirmCancellationUpdate, type CancellationInput } from '../../workflows/shared/cancellation';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { startProcess, updateProcess } from './processes';
import { productAccess } from './productAccess';

export interface ProductView {
  id: string;
  organizationId: string;
  name: string;
  productType: string;
  status: 'active' | 'suspended' | 'terminated';
  bundledIn: 'ksuite' | null;
  terminatedAt: string | null;
  pendingCancellation: { requestId: string; expiresAt: string } | null;
}

export interface CancellationView {
  productName: string;
  productType: string;
  expiresAt: Date;
  backups: number;
  /** Open fees, billed on the final invoice. */
  fees: { description: string; amountCents: number; currency: string }[];
  /** Invoices of the product still open: what they still ask for. */
  invoices: { reference: string; dueCents: number; currency: string }[];
}

export function cancellationService({ client, db, taskQueue, clock }: { client?: Client; db: Kysely<Database>; taskQueue?: string; clock: { now(): Date } }) {
  const access = productAccess(db);
  async function present(productId: string): Promise<ProductView> {
    const { p, pending } = await productWithPendingCancellation(db, productId);
    return {
      id: p.id,
      organizationId: p.organization_id,
      name: p.name,
      productType: p.product_type,
      status: p.status,
      bundledIn: p.bundled_in,
      terminatedAt: p.terminated_at?.toISOString() ?? null,
      pendingCancellation: pending ? { requestId: pending.id, expiresAt: pending.expires_at.toISOString() } : null,
    };
  }
  const temporal = () => {
    if (!client || !taskQueue) throw new Error('the cancellation service needs the Temporal client to act');
    return { client, taskQueue };
  };

  return {
    /** A product, with any cancellation waiting for confirmation, to whoever may see it (see productAccess). */
    async product(principal: Principal, productId: string): Promise<ProductView> {
      await access.read(productId, principal);
      return present(productId);
    },

    /** Asks to cancel: nothing happens until the emailed link confirms. One request at a time per product. */
    async request(principal: Principal, productId: string): Promise<ProductView> {
      const { product } = await access.manage(productId, principal);
      if (product.bundled_in === 'ksuite') throw new Problem('product-bundled', 'Cancel the kSuite that includes it instead');
      if (product.status === 'terminated') throw new Problem('conflict', 'The product is already cancelled');
      const requestId = randomUUID();
      const now = clock.now();
      const inserted = await insertCancellationRequest(db, {
        id: requestId,
        productId: product.id,
        requestedBy: principal.sub,
        now,
        expiresAt: new Date(now.getTime() + CANCELLATION_CONFIRMATION_VALIDITY_MS),
      });
      if (!inserted) throw new Problem('cancellation-pending');
      try {
        // A new request after one lapsed is a new run; two at once are refused.
        await startProcess(
          temporal(),
          'productCancellation',
          cancellationWorkflowId(product.id),
          { requestId, productId: product.id } satisfies CancellationInput,
          {
            policy: 'one-at-a-time',
            ifTaken: new Problem('cancellation-pending'),
          },
        );
      } catch (err) {
        await deleteCancellationRequest(db, requestId);
        if (err instanceof Problem) throw err;
        throw new Problem('unavailable', 'Could not start the cancellation; nothing changed', { cause: (err as Error).name });
      }
      await audit(db, {
        actor_type: 'customer',
        actor_id: principal.sub,
        action: 'product.cancellation_requested',
        subject_type: 'product',
        subject_id: product.id,
        decision: null,
        details: { requestId },
      });
      return present(product.id);
    },

    /** The emailed link confirms (single use); a used, lapsed or unknown link is `cancellation-link-invalid`. */
    async confirmByLink(token: string): Promise<{ requestId: string; state: 'confirmed' }> {
      const request = await pendingRequestByToken(db, token);
      if (!request || request.expires_at <= clock.now()) throw new Problem('cancellation-link-invalid');
      const invalid = new Problem('cancellation-link-invalid');
      await updateProcess(
        temporal().client.workflow.getHandle(cancellationWorkflowId(request.product_id)),
        confirmCancellationUpdate,
        [{ actor: `customer:${request.requested_by}` }],
        { closed: invalid, otherwise: invalid },
      );
      await audit(db, {
        actor_type: 'customer',
        actor_id: request.requested_by,
        action: 'product.cancellation_confirmed',
        subject_type: 'product',
        subject_id: request.product_id,
        decision: null,
        details: { requestId: request.id },
      });
      return { requestId: request.id, state: 'confirmed' };
    },

    /** The request behind a usable link; a used, lapsed or unknown link is `cancellation-link-invalid`. */
    async viewConfirmationLink(token: string): Promise<CancellationView> {
      const r = await pendingCancellationByToken(db, token, clock.now());
      if (!r) throw new Problem('cancellation-link-invalid');
      return {
        productName: r.name,
        productType: r.product_type,
        expiresAt: r.expires_at,
        backups: r.backups,
        fees: r.fees.map((f) => ({ description: f.description, amountCents: f.amount_cents, currency: f.currency })),
        invoices: r.invoices.map((i) => ({ reference: i.reference, dueCents: i.total_cents - i.paid_cents, currency: i.currency })),
      };
    },
  };
}
