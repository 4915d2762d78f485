/**
 * P14 renewal over HTTP: read a product's renewal, switch automatic renewal and Renewal Warranty,
 * choose the billing emails, and pay. Settings and payments are written to PostgreSQL first, then
 * the product's renewal process is told (and started if it was not running yet). A payment is a
 * process of its own (workflows/payment.ts): this router never reaches the payment provider.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { partnerMayAct } from '../../db/repositories/partnerships';
import { billingPreferences, prepaidBalance, termInvoice } from '../../db/repositories/renewal';
import { REMINDER_FREQUENCIES } from '../../db/tables/renewal.table';
import { AUTO_RENEW_ENABLE_MIN_LEAD_MS, RENEWAL_MAX_TERMS_AHEAD, RENEWAL_REMINDER_MAX_LEAD_MONTHS } from '../../lib/rules';
import { renewalChangedSignal, renewalStatusQuery, renewalWorkflowId, type RenewalInput, type RenewalStatus } from '../../workflows/shared/renewal';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { paymentService } from '../services/payments';
import { defineRoute, type AnyRoute } from '../routing';

export interface RenewalDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  /** How long a payment request waits for its process to settle before answering 202. */
  settleWaitMs?: number;
}

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const invoiceSchema = z.object({
  id: z.uuid(),
  status: z.enum(['open', 'paid', 'void']),
  totalCents: z.number().int(),
  paidCents: z.number().int(),
  outstandingCents: z.number().int(),
  terms: z.number().int(),
});
const renewalSchema = z
  .object({
    productId: z.uuid(),
    productStatus: z.enum(['active', 'suspended', 'terminated']),
    dueAt: z.iso.datetime().nullable(),
    termMonths: z.number().int(),
    priceCents: z.number().int().nullable(),
    currency: z.enum(['CHF', 'EUR']).nullable(),
    autoRenewal: z.boolean(),
    renewalWarranty: z.boolean(),
    warrantyAvailable: z.boolean(),
    maxTermsAhead: z.number().int(),
    invoice: invoiceSchema.nullable(),
    prepaidBalanceCents: z.number().int().nullable(),
    process: z
      .object({
        state: z.enum(['scheduled', 'awaiting_payment', 'overdue', 'suspended', 'terminated']),
        nextAction: z.object({ kind: z.string(), at: z.iso.datetime() }).nullable(),
        chargeAttempts: z.number().int(),
        lastDecline: z.string().nullable(),
      })
      .nullable()
      .describe('The renewal process; null until it runs (the daily sweep starts it for every product with a due date)'),
  })
  .meta({ id: 'Renewal' });
const preferencesSchema = z
  .object({
    reminders: z.object({
      frequency: z.enum(REMINDER_FREQUENCIES).describe('"off" sends no renewal reminder'),
      startMonthsBefore: z.number().int().min(1).max(RENEWAL_REMINDER_MAX_LEAD_MONTHS).describe('The first reminder, at most 2 months before the due date'),
    }),
    autoRenewalReminder: z.boolean().describe('The email 14 days before an automatic renewal'),
    renewalConfirmation: z.boolean().describe('The confirmation of renewal and debit'),
    invoiceIssued: z.boolean().describe('The notification when a renewal invoice is issued'),
    groupInvoices: z.boolean().describe('Products due the same day share one invoice'),
  })
  .strict()
  .meta({ id: 'BillingPreferences' });
const paymentRequestSchema = z
  .object({
    means: z.enum(['card', 'paypal', 'twint', 'postfinance', 'iban_transfer', 'prepaid']),
    amountCents: z.number().int().positive().optional().describe('Defaults to what is still due; less pays part of the invoice'),
    terms: z
      .number()
      .int()
      .min(1)
      .max(RENEWAL_MAX_TERMS_AHEAD)
      .optional()
      .describe('Renew for several terms at once, where the product allows it, before anything is paid on the invoice'),
    cardToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{4,100}$/)
      .optional()
      .describe('A card tokenized by the payment provider; the saved card otherwise'),
    providerReference: z.string().min(1).max(200).optional().describe('System only: the confirmed payment at the provider or bank'),
  })
  .strict();

const paymentViewSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['pending', 'captured', 'in_progress', 'refunded', 'declined', 'voided']),
    means: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
    invoiceId: z.uuid().nullable(),
    productId: z.uuid().nullable(),
    reason: z.string().nullable().describe('Why it was declined, voided or refunded'),
    createdAt: z.iso.datetime(),
    settledAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Payment' });
const paidRenewalSchema = renewalSchema.extend({ payment: paymentViewSchema }).meta({ id: 'RenewalPayment' });

export function renewalRoutes({ client, db, taskQueue, clock, settleWaitMs }: RenewalDeps): AnyRoute[] {
  const payments = paymentService({ client, db, taskQueue, settleWaitMs });
  /** The product if the principal may see it; `manage` also when it may change billing. */
  async function productFor(productId: string, principal: Principal, manage: boolean) {
    const product = await db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirst();
    if (!product) throw new Problem('not-found', 'No such product');
    if (principal.role === 'customer') {
      const membership = await findMembership(db, product.organization_id, principal.sub);
      // P11: a partner reads its clients' products within the rights granted.
      if (!membership && !manage && (await partnerMayAct(db, principal.sub, product.id))) return product;
      if (!membership) throw new Problem('not-found', 'No such product');
      if (manage && membership.role === 'collaborator') throw new Problem('forbidden', 'Only an administrator or a legal representative manages billing');
    }
    return product;
  }

  /** Tells the product's renewal process to re-read PostgreSQL, starting it if needed. */
  async function nudge(productId: string): Promise<void> {
    const p = await db.selectFrom('products').select(['due_at', 'status']).where('id', '=', productId).executeTakeFirst();
    if (!p?.due_at || p.status === 'terminated') return;
    await client.workflow.signalWithStart('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: p.due_at.toISOString() } satisfies RenewalInput],
      signal: renewalChangedSignal,
    });
  }

  async function present(productId: string) {
    const p = await db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirstOrThrow();
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

  const presentPreferences = async (organizationId: string) => {
    const prefs = await billingPreferences(db, organizationId);
    return {
      reminders: { frequency: prefs.reminder_frequency, startMonthsBefore: prefs.reminder_start_months },
      autoRenewalReminder: prefs.auto_renewal_reminder,
      renewalConfirmation: prefs.renewal_confirmation,
      invoiceIssued: prefs.invoice_issued,
      groupInvoices: prefs.group_invoices,
    };
  };

  async function organizationFor(organizationId: string, principal: Principal, manage: boolean) {
    if (principal.role !== 'customer') return;
    const membership = await findMembership(db, organizationId, principal.sub);
    if (!membership) throw new Problem('not-found', 'No such organization');
    if (manage && membership.role === 'collaborator') throw new Problem('forbidden', 'Only an administrator or a legal representative manages billing');
  }

  return [
    defineRoute({
      method: 'get',
      path: '/v1/products/:id/renewal',
      tag: 'Renewals',
      summary: "A product's renewal: next due date, options, the term's invoice, and the process's next action and when",
      roles: ['customer', 'agent', 'system'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The renewal', schema: renewalSchema }, 404: { description: 'No such product of yours', schema: problem } },
      async handler({ params, principal }) {
        await productFor(params.id, principal, false);
        return { status: 200, body: await present(params.id) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/products/:id/auto-renewal',
      tag: 'Renewals',
      summary: 'Switch automatic renewal on or off (on: the saved card is charged from 14 days before the due date)',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ enabled: z.boolean() }).strict(),
      responses: {
        200: { description: 'The renewal with the new setting', schema: renewalSchema },
        403: { description: 'Collaborators may not', schema: problem },
        409: { description: 'Less than 14 days before the due date, no saved card, or the product does not renew', schema: problem },
      },
      async handler({ params, body, principal }) {
        const product = await productFor(params.id, principal, true);
        if (body.enabled) {
          if (!product.due_at || product.status === 'terminated') throw new Problem('not-renewable');
          // [001] Within 14 days of the due date the first attempt would already be late: renew manually first.
          if (product.due_at.getTime() - clock.now().getTime() < AUTO_RENEW_ENABLE_MIN_LEAD_MS) {
            throw new Problem(
              'auto-renewal-too-late',
              `The product is due on ${product.due_at.toISOString().slice(0, 10)}, less than 14 days from now: renew it manually first, then switch automatic renewal on`,
            );
          }
          const org = await db.selectFrom('organizations').select('payment_card_ref').where('id', '=', product.organization_id).executeTakeFirstOrThrow();
          if (!org.payment_card_ref) throw new Problem('no-saved-card');
        }
        await db.updateTable('products').set({ auto_renew: body.enabled }).where('id', '=', product.id).execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: body.enabled ? 'renewal.auto_enabled' : 'renewal.auto_disabled',
          subject_type: 'product',
          subject_id: product.id,
          decision: null,
          details: {},
        });
        await nudge(product.id);
        return { status: 200, body: await present(product.id) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/products/:id/renewal-warranty',
      tag: 'Renewals',
      summary: 'Switch Renewal Warranty on or off (on: an unpaid product is renewed anyway and invoiced)',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ enabled: z.boolean() }).strict(),
      responses: {
        200: { description: 'The renewal with the new setting', schema: renewalSchema },
        403: { description: 'Collaborators may not', schema: problem },
        409: { description: 'Not offered for this product (NAS Synology), or the product does not renew', schema: problem },
      },
      async handler({ params, body, principal }) {
        const product = await productFor(params.id, principal, true);
        if (body.enabled && product.product_type === 'nas_synology') throw new Problem('warranty-not-available');
        if (body.enabled && (!product.due_at || product.status === 'terminated')) throw new Problem('not-renewable');
        await db.updateTable('products').set({ renewal_warranty: body.enabled }).where('id', '=', product.id).execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: body.enabled ? 'renewal.warranty_enabled' : 'renewal.warranty_disabled',
          subject_type: 'product',
          subject_id: product.id,
          decision: null,
          details: {},
        });
        await nudge(product.id);
        return { status: 200, body: await present(product.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/organizations/:id/billing-reminders',
      tag: 'Renewals',
      summary: "The organization's billing emails",
      roles: ['customer', 'agent', 'system'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The preferences', schema: preferencesSchema }, 404: { description: 'No such organization of yours', schema: problem } },
      async handler({ params, principal }) {
        await organizationFor(params.id, principal, false);
        return { status: 200, body: await presentPreferences(params.id) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/organizations/:id/billing-reminders',
      tag: 'Renewals',
      summary: 'Choose the billing emails: renewal reminders (frequency, from up to 2 months ahead), automatic-renewal emails, invoice notifications',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: preferencesSchema,
      responses: {
        200: { description: 'Saved; every renewal of the organization follows them from now on', schema: preferencesSchema },
        403: { description: 'Collaborators may not', schema: problem },
        404: { description: 'No such organization of yours', schema: problem },
      },
      async handler({ params, body, principal }) {
        await organizationFor(params.id, principal, true);
        const values = {
          reminder_frequency: body.reminders.frequency,
          reminder_start_months: body.reminders.startMonthsBefore,
          auto_renewal_reminder: body.autoRenewalReminder,
          renewal_confirmation: body.renewalConfirmation,
          invoice_issued: body.invoiceIssued,
          group_invoices: body.groupInvoices,
          updated_at: clock.now(),
        };
        await db
          .insertInto('billing_preferences')
          .values({ organization_id: params.id, ...values })
          .onConflict((oc) => oc.column('organization_id').doUpdateSet(values))
          .execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'renewal.preferences_changed',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { ...body },
        });
        // Running processes re-read the preferences; a few at a time, the rest are read at their next step anyway.
        const products = await db
          .selectFrom('products')
          .select('id')
          .where('organization_id', '=', params.id)
          .where('due_at', 'is not', null)
          .where('status', '!=', 'terminated')
          .execute();
        for (let i = 0; i < products.length; i += 16) await Promise.all(products.slice(i, i + 16).map((p) => nudge(p.id)));
        return { status: 200, body: await presentPreferences(params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/products/:id/payments',
      tag: 'Renewals',
      summary: "Pay the product's renewal invoice, in full or in part (the prepaid account may pay part); requires an Idempotency-Key header",
      roles: ['customer', 'system'],
      params: z.object({ id: z.uuid() }),
      body: paymentRequestSchema,
      responses: {
        201: { description: 'Paid; the product renews once its invoice is paid in full', schema: paidRenewalSchema },
        202: { description: 'Reserved and being processed: poll the Location (GET /v1/payments/:id)', schema: paidRenewalSchema },
        200: { description: 'The same Idempotency-Key again: the first payment, not a second one', schema: paidRenewalSchema },
        402: { description: 'The card was declined; nothing was taken and the invoice is still payable', schema: problem },
        409: { description: 'Nothing due (or all of it being paid), or the prepaid balance is too low', schema: problem },
        422: { description: 'More than is due, or more terms than the product allows', schema: problem },
      },
      async handler({ params, body, principal, req }) {
        const key = req.get('idempotency-key');
        if (!key || !/^[A-Za-z0-9_.:-]{8,100}$/.test(key)) {
          throw new Problem('validation-failed', 'Send an Idempotency-Key header (8 to 100 letters, digits, _ . : -) so a retried request never pays twice');
        }
        const product = await productFor(params.id, principal, true);
        const external = body.means !== 'card' && body.means !== 'prepaid';
        if (principal.role === 'customer' && (external || body.providerReference)) {
          throw new Problem('forbidden', 'Customers pay by card or from the prepaid account here; other means are confirmed by the provider');
        }
        if (principal.role === 'system' && !external)
          throw new Problem('forbidden', 'The system records confirmed payments by bank, PayPal, Twint or PostFinance');
        if (external && !body.providerReference) throw new Problem('validation-failed', 'providerReference is required for a confirmed external payment');
        const { outcome, payment } = await payments.payInvoice(
          { productId: product.id, ...body, requestedBy: `${principal.role}:${principal.sub}` },
          `${principal.sub}:${key}`,
        );
        const status = outcome === 'created' ? 201 : outcome === 'accepted' ? 202 : 200;
        return { status, body: { ...(await present(product.id)), payment }, headers: { Location: `/v1/payments/${payment.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payments/:id',
      tag: 'Renewals',
      summary: 'A payment: pending while its process runs, then captured, declined, voided or refunded (with the reason)',
      roles: ['customer', 'agent', 'system'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The payment', schema: paymentViewSchema }, 404: { description: 'No such payment of yours', schema: problem } },
      async handler({ params, principal }) {
        const organizationId = await payments.organizationOf(params.id);
        if (!organizationId) throw new Problem('not-found', 'No such payment');
        if (principal.role === 'customer') {
          const membership = await findMembership(db, organizationId, principal.sub);
          if (!membership || membership.role === 'collaborator') throw new Problem('not-found', 'No such payment');
        }
        return { status: 200, body: (await payments.view(params.id))! };
      },
    }),
  ];
}
