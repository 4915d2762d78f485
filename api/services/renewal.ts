/**
 * P14 renewal: a product's renewal, automatic renewal and Renewal Warranty, the organization's
 * billing emails, and paying. Settings are written to PostgreSQL first, then the product's renewal
 * process is told (and started if it was not running yet). A payment is a process of its own
 * (workflows/payment.ts, through api/services/payments.ts): nothing here reaches the provider.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { billedOrganizationOf } from '../../db/repositories/partnerships';
import { findProduct } from '../../db/repositories/products';
import {
  billingPreferences,
  prepaidBalance,
  renewingProductIds,
  saveBillingPreferences,
  savedCardOf,
  setProductRenewalOption,
  termInvoice,
  type BillingPreferences,
} from '../../db/repositories/renewal';
import { AUTO_RENEW_ENABLE_MIN_LEAD_MS, describeDuration } from '../../lib/rules';
import { renewalChangedSignal, renewalStatusQuery, renewalWorkflowId, type RenewalInput, type RenewalStatus } from '../../workflows/shared/renewal';
import type { Principal } from '../auth';
import { notFound, Problem } from '../problems';
import type { PaymentRequest } from '../../workflows/shared/payment';
import { paymentService } from './payments';

type InvoicePaymentRequest = Omit<Extract<PaymentRequest, { kind: 'invoice' }>, 'kind' | 'businessKey' | 'productId' | 'requestedBy'>;
import { productAccess } from './productAccess';

export interface RenewalDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  /** How long a payment request waits for its process to settle before answering 202. */
  settleWaitMs?: number;
}

export interface PreferencesView {
  reminders: { frequency: BillingPreferences['reminder_frequency']; startMonthsBefore: number };
  autoRenewalReminder: boolean;
  renewalConfirmation: boolean;
  invoiceIssued: boolean;
  groupInvoices: boolean;
}

export function renewalService({ client, db, taskQueue, clock, settleWaitMs }: RenewalDeps) {
  const payments = paymentService({ client, db, taskQueue, ...(settleWaitMs !== undefined ? { settleWaitMs } : {}) });
  const access = productAccess(db);

  /** Tells the product's renewal process to re-read PostgreSQL, starting it if needed. */
  async function nudge(productId: string): Promise<void> {
    const p = await findProduct(db, productId);
    if (!p?.due_at || p.status === 'terminated') return;
    await client.workflow.signalWithStart('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: p.due_at.toISOString() } satisfies RenewalInput],
      signal: renewalChangedSignal,
    });
  }

  async function present(productId: string) {
    const p = (await findProduct(db, productId))!;
    const invoice = p.due_at ? await termInvoice(db, productId, p.due_at) : undefined;
    let status: RenewalStatus | null = null;
    try {
      status = await client.workflow.getHandle(renewalWorkflowId(productId)).query(renewalStatusQuery);
    } catch {
      status = null; // not started yet, or closed
    }
    return {
      productId: p.id,
      productStatus: p.status,
      dueAt: p.due_at?.toISOString() ?? null,
      termMonths: p.term_months,
      priceCents: p.renewal_price_cents,
      currency: p.currency,
      autoRenewal: p.auto_renew,
      renewalWarranty: p.renewal_warranty,
      warrantyAvailable: p.product_type !== 'nas_synology',
      maxTermsAhead: p.max_terms_ahead,
      invoice: invoice
        ? {
            id: invoice.id,
            status: invoice.status,
            totalCents: invoice.total_cents,
            paidCents: invoice.paid_cents,
            outstandingCents: invoice.total_cents - invoice.paid_cents,
            terms: invoice.terms,
          }
        : null,
      prepaidBalanceCents: p.currency ? await prepaidBalance(db, p.organization_id, p.currency) : null,
      process:
        status && status.dueAt === p.due_at?.toISOString()
          ? { state: status.state, nextAction: status.nextStep, chargeAttempts: status.chargeAttempts, lastDecline: status.lastDecline }
          : null,
    };
  }

  async function presentPreferences(organizationId: string): Promise<PreferencesView> {
    const prefs = await billingPreferences(db, organizationId);
    return {
      reminders: { frequency: prefs.reminder_frequency, startMonthsBefore: prefs.reminder_start_months },
      autoRenewalReminder: prefs.auto_renewal_reminder,
      renewalConfirmation: prefs.renewal_confirmation,
      invoiceIssued: prefs.invoice_issued,
      groupInvoices: prefs.group_invoices,
    };
  }

  async function organizationFor(organizationId: string, principal: Principal, manage: boolean) {
    if (principal.role !== 'customer') return;
    const membership = await findMembership(db, organizationId, principal.sub);
    if (!membership) throw notFound('organization');
    if (manage && membership.role === 'collaborator') throw new Problem('forbidden', 'Only an administrator or a legal representative manages billing');
  }

  const changed = (principal: Principal, action: string, subjectType: 'product' | 'organization', subjectId: string, details: Record<string, unknown> = {}) =>
    audit(db, { actor_type: 'customer', actor_id: principal.sub, action, subject_type: subjectType, subject_id: subjectId, decision: null, details });

  return {
    async read(principal: Principal, productId: string) {
      await access.read(productId, principal);
      return present(productId);
    },

    /** On: the saved card is charged ahead of the due date; not when the first attempt would already be late [001]. */
    async setAutoRenewal(principal: Principal, productId: string, enabled: boolean) {
      const { product } = await access.manage(productId, principal);
      if (enabled) {
        if (!product.due_at || product.status === 'terminated') throw new Problem('not-renewable');
        if (product.due_at.getTime() - clock.now().getTime() < AUTO_RENEW_ENABLE_MIN_LEAD_MS) {
          throw new Problem(
            'auto-renewal-too-late',
            `The product is due on ${product.due_at.toISOString().slice(0, 10)}, less than ${describeDuration(AUTO_RENEW_ENABLE_MIN_LEAD_MS)} from now: renew it manually first, then switch automatic renewal on`,
          );
        }
        // The payer's card: the partner's when the client is billed to it (P11).
        if (!(await savedCardOf(db, await billedOrganizationOf(db, product.id)))) throw new Problem('no-saved-card');
      }
      await setProductRenewalOption(db, product.id, { auto_renew: enabled });
      await changed(principal, enabled ? 'renewal.auto_enabled' : 'renewal.auto_disabled', 'product', product.id);
      await nudge(product.id);
      return present(product.id);
    },

    /** On: an unpaid product is renewed anyway and invoiced; not offered for a NAS Synology. */
    async setWarranty(principal: Principal, productId: string, enabled: boolean) {
      const { product } = await access.manage(productId, principal);
      if (enabled && product.product_type === 'nas_synology') throw new Problem('warranty-not-available');
      if (enabled && (!product.due_at || product.status === 'terminated')) throw new Problem('not-renewable');
      await setProductRenewalOption(db, product.id, { renewal_warranty: enabled });
      await changed(principal, enabled ? 'renewal.warranty_enabled' : 'renewal.warranty_disabled', 'product', product.id);
      await nudge(product.id);
      return present(product.id);
    },

    async preferences(principal: Principal, organizationId: string) {
      await organizationFor(organizationId, principal, false);
      return presentPreferences(organizationId);
    },

    async setPreferences(principal: Principal, organizationId: string, prefs: PreferencesView) {
      await organizationFor(organizationId, principal, true);
      await saveBillingPreferences(db, organizationId, {
        reminder_frequency: prefs.reminders.frequency,
        reminder_start_months: prefs.reminders.startMonthsBefore,
        auto_renewal_reminder: prefs.autoRenewalReminder,
        renewal_confirmation: prefs.renewalConfirmation,
        invoice_issued: prefs.invoiceIssued,
        group_invoices: prefs.groupInvoices,
        updated_at: clock.now(),
      });
      await changed(principal, 'renewal.preferences_changed', 'organization', organizationId, { ...prefs });
      // Running processes re-read the preferences; a few at a time, the rest are read at their next step anyway.
      const products = await renewingProductIds(db, organizationId);
      for (let i = 0; i < products.length; i += 16) await Promise.all(products.slice(i, i + 16).map((id) => nudge(id)));
      return presentPreferences(organizationId);
    },

    /**
     * Pays the product's renewal invoice through its payment process. Customers pay by card or from the
     * prepaid account; the system records payments confirmed by a bank or provider. `key`: the
     * caller's Idempotency-Key, so a retried request never pays twice.
     */
    async pay(principal: Principal, productId: string, body: InvoicePaymentRequest, key: string) {
      const { product } = principal.role === 'system' ? await access.read(productId, principal) : await access.pay(productId, principal);
      const external = body.means !== 'card' && body.means !== 'prepaid';
      if (principal.role === 'customer' && (external || body.providerReference))
        throw new Problem('forbidden', 'Customers pay by card or from the prepaid account here; other means are confirmed by the provider');
      if (principal.role === 'system' && !external)
        throw new Problem('forbidden', 'The system records confirmed payments by bank, PayPal, Twint or PostFinance');
      if (external && !body.providerReference) throw new Problem('validation-failed', 'providerReference is required for a confirmed external payment');
      const { outcome, payment } = await payments.payInvoice(
        // The term as the request found it: the payment pays that term or nothing (issue 20).
        {
          productId: product.id,
          ...body,
          ...(product.due_at ? { dueAt: product.due_at.toISOString() } : {}),
          requestedBy: `${principal.role}:${principal.sub}`,
        },
        `${principal.sub}:${key}`,
      );
      return { outcome, renewal: { ...(await present(product.id)), payment } };
    },

    /** A payment, to the organization's managers, agents and the system. */
    async payment(principal: Principal, paymentId: string) {
      const organizationId = await payments.organizationOf(paymentId);
      if (!organizationId) throw notFound('payment');
      if (principal.role === 'customer') {
        const membership = await findMembership(db, organizationId, principal.sub);
        if (!membership || membership.role === 'collaborator') throw notFound('payment');
      }
      return (await payments.view(paymentId))!;
    },
  };
}
