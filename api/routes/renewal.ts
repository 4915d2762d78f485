/**
 * P14 renewal over HTTP: read a product's renewal, switch automatic renewal and Renewal Warranty,
 * choose the billing emails, and pay. Settings and payments are written to PostgreSQL first, then
 * the product's renewal process is told (and started if it was not running yet). A payment is a
 * process of its own (workflows/payment.ts): this router never reaches the payment provider. The
 * rules are api/services/renewal.ts; this file translates HTTP.
 */
import { z } from 'zod';
import { REMINDER_FREQUENCIES } from '../../db/tables/renewal.table';
import {
  AUTO_RENEW_ENABLE_MIN_LEAD_MS,
  AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS,
  describeDuration,
  RENEWAL_MAX_TERMS_AHEAD,
  RENEWAL_REMINDER_MAX_LEAD_MONTHS,
} from '../../lib/rules';
import { idempotencyKey } from '../idempotency';
import { problemSchema as problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { renewalService, type RenewalDeps } from '../services/renewal';

export type { RenewalDeps } from '../services/renewal';

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
      startMonthsBefore: z
        .number()
        .int()
        .min(1)
        .max(RENEWAL_REMINDER_MAX_LEAD_MONTHS)
        .describe(`The first reminder, at most ${RENEWAL_REMINDER_MAX_LEAD_MONTHS} months before the due date`),
    }),
    autoRenewalReminder: z.boolean().describe(`The email ${describeDuration(AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS)} before an automatic renewal`),
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

export function renewalRoutes(deps: RenewalDeps): AnyRoute[] {
  const renewals = renewalService(deps);
  const autoRenewLead = describeDuration(AUTO_RENEW_ENABLE_MIN_LEAD_MS);

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
        return { status: 200, body: await renewals.read(principal, params.id) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/products/:id/auto-renewal',
      tag: 'Renewals',
      summary: `Switch automatic renewal on or off (on: the saved card is charged from ${describeDuration(AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS)} before the due date)`,
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ enabled: z.boolean() }).strict(),
      responses: {
        200: { description: 'The renewal with the new setting', schema: renewalSchema },
        403: { description: 'Collaborators may not', schema: problem },
        409: { description: `Less than ${autoRenewLead} before the due date, no saved card, or the product does not renew`, schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await renewals.setAutoRenewal(principal, params.id, body.enabled) };
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
        return { status: 200, body: await renewals.setWarranty(principal, params.id, body.enabled) };
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
        return { status: 200, body: await renewals.preferences(principal, params.id) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/organizations/:id/billing-reminders',
      tag: 'Renewals',
      summary: `Choose the billing emails: renewal reminders (frequency, from up to ${RENEWAL_REMINDER_MAX_LEAD_MONTHS} months ahead), automatic-renewal emails, invoice notifications`,
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: preferencesSchema,
      responses: {
        200: { description: 'Saved; every renewal of the organization follows them from now on', schema: preferencesSchema },
        403: { description: 'Collaborators may not', schema: problem },
        404: { description: 'No such organization of yours', schema: problem },
      },
      async handler({ params, body, principal }) {
        return { status: 200, body: await renewals.setPreferences(principal, params.id, body) };
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
        const { outcome, renewal } = await renewals.pay(principal, params.id, body, idempotencyKey(req, 'pays'));
        const status = outcome === 'created' ? 201 : outcome === 'accepted' ? 202 : 200;
        return { status, body: renewal, headers: { Location: `/v1/payments/${renewal.payment.id}` } };
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
        return { status: 200, body: await renewals.payment(principal, params.id) };
      },
    }),
  ];
}
