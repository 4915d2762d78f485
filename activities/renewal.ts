/**
 * Side effects of the renewal process (P14). Every step re-reads PostgreSQL in the transaction that
 * decides it, so an invoice paid a moment ago is never reminded nor charged; every message has an
 * outbox key and every charge an idempotency key, so a retried or repeated step does nothing twice.
 */
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, pendingKeys } from '../db/repositories/outbox';
import { billingPreferences, issueRenewalInvoice, releaseTermInvoice, renewalPlan, termInvoice } from '../db/repositories/renewal';
import { billedOrganizationOf } from '../db/repositories/partnerships';
import { releaseRenewalRun } from '../db/repositories/renewalRuns';
import { stableUuid } from '../lib/ids';
import type { Db } from '../db/database';
import { partnerPrice } from '../lib/pricing';
import {
  AUTO_RENEW_ENABLE_MIN_LEAD_MS,
  AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS,
  RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS,
  RENEWAL_SUSPENSION_GRACE_MS,
  describeDuration,
} from '../lib/rules';
import { FailureType } from '../workflows/shared/failures';
import type { PaymentOutcome } from '../workflows/shared/payment';
import { addMonths, type RenewalPlan, type StepKind } from '../workflows/shared/renewal';
import { createPaymentActivities } from './payments';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;
const day = (d: Date | string) => new Date(d).toISOString().slice(0, 10);

export function createRenewalActivities(deps: ActivityDeps, { deliverNotification }: ReturnType<typeof createNotificationActivities>) {
  const { db, clock } = deps;
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  /** Delivers what the step just queued and anything an earlier attempt of it queued but did not send. */
  const deliverStep = async (prefix: string, keys: string[]) => {
    for (const key of new Set([...keys, ...(await pendingKeys(db, prefix))])) await deliver(key);
  };
  const pay = createPaymentActivities(deps);

  async function planOrFail(productId: string, dueAt: string): Promise<RenewalPlan> {
    const plan = await renewalPlan(db, productId, new Date(dueAt));
    if (!plan) throw ApplicationFailure.nonRetryable(`product ${productId} not found`, FailureType.NotFound);
    return plan;
  }

  /**
   * The people who receive billing mail about a product (issue 17, item 7): the members who may see
   * it (within their product rights) and whose contact preferences ask for billing mail; without a
   * stated preference, legal representatives and administrators do, collaborators do not. Nobody
   * chosen: the legal representatives, so an invoice never goes unsent.
   */
  async function billingContacts(trx: Db, organizationId: string, productId: string) {
    const members = await trx
      .selectFrom('memberships as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['a.id', 'a.login_email', 'a.display_name', 'm.role', 'm.product_ids', 'm.contact_preferences'])
      .where('m.organization_id', '=', organizationId)
      .orderBy('a.id')
      .execute();
    const sees = (m: (typeof members)[number]) => m.product_ids === null || m.product_ids.includes(productId);
    const wants = (m: (typeof members)[number]) =>
      typeof m.contact_preferences.billing === 'boolean' ? m.contact_preferences.billing : m.role !== 'collaborator';
    const chosen = members.filter((m) => sees(m) && wants(m));
    return chosen.length ? chosen : members.filter((m) => m.role === 'legal_representative');
  }

  /** Queues one email per billing contact inside `trx`; returns the keys to deliver after commit. */
  async function queueMail(trx: Db, productId: string, key: string, subject: string, lines: (name: string) => string[]): Promise<string[]> {
    // P11: a client billed to its partner: the partner's billing contacts receive it.
    const payer = await billedOrganizationOf(trx, productId);
    const keys: string[] = [];
    for (const person of await billingContacts(trx, payer, productId)) {
      const k = `${key}:${person.id}`;
      await enqueue(trx, {
        key: k,
        channel: 'email',
        recipient: person.login_email,
        subject,
        body: [`Hello ${person.display_name},`, '', ...lines(person.display_name)].join('\n'),
      });
      keys.push(k);
    }
    return keys;
  }

  async function loadRenewalPlan({ productId, dueAt }: { productId: string; dueAt: string }): Promise<RenewalPlan> {
    return planOrFail(productId, dueAt);
  }

  /**
   * One step of the term. Reminders and charges happen only while the term's invoice is unpaid and
   * the product still renews from `dueAt`; the decision and the queued email share a transaction.
   */
  async function runRenewalStep(input: {
    productId: string;
    dueAt: string;
    step: { kind: StepKind; at: string; attempt?: number };
    nextChargeAt: string | null;
  }): Promise<{ plan: RenewalPlan; declined?: string }> {
    const { productId, dueAt, step } = input;
    const due = new Date(dueAt);
    const keyBase = `renewal:${productId}:${day(due)}:${step.kind}:${step.at}`;
    const declined: string | undefined = undefined;
    if (step.kind === 'charge') return legacyCharge(input);

    const keys = await db.transaction().execute(async (trx) => {
      const product = await trx
        .selectFrom('products')
        .select(['id', 'name', 'organization_id', 'status', 'due_at', 'renewal_warranty', 'auto_renew', 'term_months'])
        .where('id', '=', productId)
        .forUpdate()
        .executeTakeFirst();
      if (!product) throw ApplicationFailure.nonRetryable(`product ${productId} not found`, FailureType.NotFound);
      // Renewed or terminated meanwhile: the step belongs to a term that is over.
      if (product.status === 'terminated' || product.due_at?.getTime() !== due.getTime()) return [];
      const prefs = await billingPreferences(trx, await billedOrganizationOf(trx, productId));

      if (step.kind === 'issue-invoice') {
        const issued = await issueRenewalInvoice(trx, productId, due, clock.now());
        if (!issued?.created || !prefs.invoice_issued) return [];
        const inv = await trx
          .selectFrom('invoices')
          .select(['total_cents', 'currency', 'reference'])
          .where('id', '=', issued.invoiceId)
          .executeTakeFirstOrThrow();
        return queueMail(trx, productId, keyBase, `Invoice issued: renewal of ${product.name}`, () => [
          `The invoice for the renewal of ${product.name} (due ${day(due)}) has been issued: ${money(inv.total_cents, inv.currency)}.`,
          product.auto_renew
            ? `Automatic renewal will pay it with your saved card ${describeDuration(AUTO_RENEW_FIRST_ATTEMPT_BEFORE_DUE_MS)} before the due date.`
            : 'Pay it in the Manager before the due date to keep the service running.',
        ]);
      }

      const invoice = await termInvoice(trx, productId, due);
      if (invoice?.status === 'paid') return [];
      const outstanding = invoice ? money(invoice.total_cents - invoice.paid_cents, invoice.currency) : 'the renewal price';

      switch (step.kind) {
        case 'reminder':
          if (prefs.reminder_frequency === 'off') return [];
          return queueMail(trx, productId, keyBase, `${product.name} is due for renewal on ${day(due)}`, () => [
            `${product.name} must be renewed by ${day(due)}. Outstanding: ${outstanding}.`,
            `You can pay in the Manager, with your prepaid account for all or part of it, or switch on automatic renewal up to ${describeDuration(AUTO_RENEW_ENABLE_MIN_LEAD_MS)} before the due date.`,
          ]);
        case 'auto-renew-reminder':
          if (!product.auto_renew || !prefs.auto_renewal_reminder) return [];
          return queueMail(trx, productId, keyBase, `Automatic renewal of ${product.name}`, () => [
            `${product.name} renews automatically on ${day(due)}. We are charging ${outstanding} to your saved card now.`,
            'You can switch automatic renewal off in the Manager at any time.',
          ]);
        case 'charge':
          return []; // handled before the transaction: a charge is a payment process
        case 'due': {
          if (product.renewal_warranty) {
            // Renewal Warranty: renewed anyway, the invoice stays due. [000]
            const issued = invoice ?? (await issueRenewalInvoice(trx, productId, due, clock.now()).then(() => termInvoice(trx, productId, due)));
            const to = await advanceTerm(trx, productId, due, issued?.id ?? null, true);
            return queueMail(trx, productId, keyBase, `${product.name} renewed under Renewal Warranty`, () => [
              `${product.name} was not paid by ${day(due)}; Renewal Warranty renewed it until ${day(to)} so the service continues.`,
              issued ? `The invoice of ${outstanding} remains due: pay it in the Manager.` : '',
            ]);
          }
          return queueMail(trx, productId, keyBase, `Payment overdue: ${product.name}`, () => [
            `${product.name} was due for renewal on ${day(due)} and is not paid (${outstanding}).`,
            `Without payment it will be blocked on ${day(new Date(due.getTime() + RENEWAL_SUSPENSION_GRACE_MS))}, at the end of the grace period; pay in the Manager to avoid it.`,
          ]);
        }
        case 'suspend':
          await trx
            .updateTable('products')
            .set({ status: 'suspended', suspended_at: clock.now() })
            .where('id', '=', productId)
            .where('status', '=', 'active')
            .execute();
          await audit(trx, {
            actor_type: 'system',
            actor_id: 'renewal',
            action: 'product.suspended',
            subject_type: 'product',
            subject_id: productId,
            decision: null,
            details: { dueAt },
          });
          return queueMail(trx, productId, keyBase, `${product.name} is blocked`, () => [
            `${product.name} has been blocked because its renewal (due ${day(due)}) is unpaid: ${outstanding}.`,
            'Paying in the Manager restores it at once. Without payment it will be terminated and its data deleted.',
          ]);
        case 'final-notice':
          return queueMail(trx, productId, keyBase, `Last notice before termination: ${product.name}`, () => [
            `${product.name} is blocked and will be terminated in ${describeDuration(RENEWAL_FINAL_NOTICE_BEFORE_TERMINATION_MS)}, its data deleted, unless its renewal (${outstanding}) is paid.`,
          ]);
        case 'terminate': {
          const now = clock.now();
          await trx.updateTable('products').set({ status: 'terminated', terminated_at: now }).where('id', '=', productId).execute();
          if (invoice) await releaseTermInvoice(trx, productId, due, invoice.id);
          await audit(trx, {
            actor_type: 'system',
            actor_id: 'renewal',
            action: 'product.terminated',
            subject_type: 'product',
            subject_id: productId,
            decision: null,
            details: { dueAt, reason: 'unpaid renewal' },
          });
          return queueMail(trx, productId, keyBase, `${product.name} has been terminated`, () => [
            `${product.name} was not renewed and has been terminated. Any partial payment of its renewal was credited to your prepaid account.`,
          ]);
        }
      }
    });
    await deliverStep(`${keyBase}:`, keys);
    return { plan: await planOrFail(productId, dueAt), ...(declined ? { declined } : {}) };
  }

  type ChargeStep = { productId: string; dueAt: string; step: { kind: StepKind; at: string; attempt?: number }; nextChargeAt: string | null };

  /**
   * After the automatic charge's payment process: audit it, and on a decline (or no saved card)
   * tell the billing contacts when the next attempt is. Returns the plan the run goes on with.
   */
  async function recordRenewalCharge(input: ChargeStep & { payment: PaymentOutcome }): Promise<{ plan: RenewalPlan; declined?: string }> {
    const { productId, dueAt, step, payment } = input;
    const due = new Date(dueAt);
    const attempt = step.attempt ?? 1;
    const declined =
      payment.status === 'declined'
        ? (payment.reason ?? 'declined')
        : payment.status === 'refused' && payment.reason === 'no-saved-card'
          ? 'no saved card'
          : undefined;
    const keys = await db.transaction().execute(async (trx) => {
      const product = await trx.selectFrom('products').select(['name']).where('id', '=', productId).executeTakeFirst();
      if (!product) return [];
      if (payment.status === 'captured') {
        await audit(trx, {
          actor_type: 'system',
          actor_id: 'renewal',
          action: 'renewal.charged',
          subject_type: 'product',
          subject_id: productId,
          decision: null,
          details: { paymentId: payment.paymentId, attempt },
        });
        return [];
      }
      if (!declined) return [];
      const invoice = await termInvoice(trx, productId, due);
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'renewal',
        action: 'renewal.charge_declined',
        subject_type: 'product',
        subject_id: productId,
        decision: null,
        details: { invoiceId: invoice?.id ?? null, attempt, reason: declined },
      });
      const owed = invoice ? money(invoice.total_cents - invoice.paid_cents, invoice.currency) : 'the renewal price';
      return queueMail(trx, productId, `renewal:${productId}:${day(due)}:${step.kind}:${step.at}`, `Automatic payment failed: ${product.name}`, () => [
        `We could not charge ${owed} for the renewal of ${product.name} (${declined}).`,
        input.nextChargeAt
          ? `We will try again on ${day(input.nextChargeAt)}. You can also pay in the Manager now.`
          : `This was the last attempt. Pay in the Manager before ${day(due)} to keep the service running.`,
      ]);
    });
    await deliverStep(`renewal:${productId}:${day(due)}:${step.kind}:${step.at}:`, keys);
    return { plan: await planOrFail(productId, dueAt), ...(declined ? { declined } : {}) };
  }

  /**
   * The charge step of runs started before the charge became a payment process: the same steps
   * (reserve, charge, settle, refund when refused), in one activity with a stable payment id.
   */
  async function legacyCharge(input: ChargeStep): Promise<{ plan: RenewalPlan; declined?: string }> {
    const attempt = input.step.attempt ?? 1;
    const paymentId = stableUuid(`renewal-charge:${input.productId}:${input.dueAt}:${attempt}`);
    const reservation = await pay.reservePayment({ paymentId, request: { kind: 'renewal-charge', productId: input.productId, dueAt: input.dueAt, attempt } });
    let outcome: PaymentOutcome;
    if (reservation.status === 'refused') outcome = { paymentId, status: 'refused', reason: reservation.reason };
    else {
      try {
        await pay.chargePayment({ paymentId });
        const settled = await pay.settlePayment({ paymentId });
        if (settled.status === 'captured') outcome = { paymentId, status: 'captured' };
        else {
          await pay.refundPayment({ paymentId, reason: settled.reason });
          outcome = { paymentId, status: 'refunded', reason: settled.reason };
        }
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || err.type !== FailureType.PaymentDeclined) throw err;
        await pay.releasePayment({ paymentId, status: 'declined', reason: err.message });
        outcome = { paymentId, status: 'declined', reason: err.message };
      }
    }
    return recordRenewalCharge({ ...input, payment: outcome });
  }

  /** Moves the due date on by the paid terms; one row per term makes it happen once. */
  async function advanceTerm(trx: Db, productId: string, due: Date, invoiceId: string | null, underWarranty: boolean): Promise<Date> {
    const product = await trx.selectFrom('products').select(['term_months']).where('id', '=', productId).executeTakeFirstOrThrow();
    const line = await trx.selectFrom('invoice_lines').select('terms').where('product_id', '=', productId).where('due_at', '=', due).executeTakeFirst();
    const to = new Date(addMonths(due.getTime(), product.term_months * (line?.terms ?? 1)));
    const inserted = await trx
      .insertInto('product_renewals')
      .values({ product_id: productId, from_due_at: due, to_due_at: to, invoice_id: invoiceId, under_warranty: underWarranty, renewed_at: clock.now() })
      .onConflict((oc) => oc.columns(['product_id', 'from_due_at']).doNothing())
      .returning('to_due_at')
      .executeTakeFirst();
    if (inserted) {
      await trx
        .updateTable('products')
        .set({ due_at: to, status: 'active', suspended_at: null })
        .where('id', '=', productId)
        .where('due_at', '=', due)
        .where('status', '!=', 'terminated')
        .execute();
      await audit(trx, {
        actor_type: 'system',
        actor_id: 'renewal',
        action: 'product.renewed',
        subject_type: 'product',
        subject_id: productId,
        decision: null,
        details: { from: due.toISOString(), to: to.toISOString(), underWarranty },
      });
    }
    return to;
  }

  /**
   * P11: a client of a partner who pays its renewal itself (billing "client") pays the public price;
   * the partner's discount comes back to the partner's prepaid account as cashback, once per invoice line.
   */
  async function creditPartnerCashback(
    trx: Db,
    productId: string,
    organizationId: string,
    invoiceId: string,
    lineCents: number,
    currency: string,
  ): Promise<void> {
    const partnership = await trx
      .selectFrom('partnerships')
      .select(['partner_organization_id'])
      .where('client_organization_id', '=', organizationId)
      .where('ended_at', 'is', null)
      .where('billing', '=', 'client')
      .where((eb) => eb.or([eb('access', '=', 'full'), eb(eb.val(productId), '=', eb.fn.any('product_ids'))]))
      .executeTakeFirst();
    if (!partnership) return;
    const { cashbackCents } = partnerPrice({ publicCents: lineCents });
    if (cashbackCents <= 0) return;
    await trx
      .insertInto('prepaid_ledger_entries')
      .values({
        organization_id: partnership.partner_organization_id,
        currency: currency as 'CHF' | 'EUR',
        amount_cents: cashbackCents,
        reason: `partner cashback, renewal of product ${productId}`,
        reference: `cashback:${invoiceId}:${productId}`,
      })
      .onConflict((oc) => oc.column('reference').doNothing())
      .execute();
  }

  /** The term's invoice is paid: renew, confirm, and hand the next term's plan back. */
  async function completeRenewal({ productId, dueAt }: { productId: string; dueAt: string }): Promise<RenewalPlan> {
    const due = new Date(dueAt);
    const keys = await db.transaction().execute(async (trx) => {
      const product = await trx
        .selectFrom('products')
        .select(['name', 'organization_id', 'status', 'due_at', 'auto_renew'])
        .where('id', '=', productId)
        .forUpdate()
        .executeTakeFirst();
      if (!product) throw ApplicationFailure.nonRetryable(`product ${productId} not found`, FailureType.NotFound);
      if (product.status === 'terminated' || product.due_at?.getTime() !== due.getTime()) return [];
      const invoice = await termInvoice(trx, productId, due);
      if (invoice?.status !== 'paid') return [];
      const wasSuspended = product.status === 'suspended';
      const to = await advanceTerm(trx, productId, due, invoice.id, false);
      // Invoiced to the partner at its price: the discount was given, no cashback on top.
      if (invoice.organization_id === product.organization_id)
        await creditPartnerCashback(trx, productId, product.organization_id, invoice.id, invoice.line_cents, invoice.currency);
      const prefs = await billingPreferences(trx, invoice.organization_id);
      const automatic = await trx
        .selectFrom('payments')
        .select('id')
        .where('invoice_id', '=', invoice.id)
        .where('idempotency_key', 'like', 'renewal-charge:%')
        .where('status', '=', 'captured')
        .executeTakeFirst();
      // Confirmation of renewal and debit: an email the customer may switch off, except after a block.
      if (!prefs.renewal_confirmation && !wasSuspended) return [];
      return queueMail(trx, productId, `renewal:${productId}:${day(due)}:renewed`, `${product.name} is renewed until ${day(to)}`, () => [
        `${product.name} is renewed until ${day(to)}${automatic ? ', paid automatically with your saved card' : ''}.`,
        wasSuspended ? 'Your payment has lifted the block: the service is running again.' : '',
      ]);
    });
    await deliverStep(`renewal:${productId}:${day(due)}:renewed:`, keys);
    return planOrFail(productId, dueAt);
  }

  /**
   * A plan that says the product no longer renews ends the run that reads it (workflows/renewal.ts
   * returns on it): the product leaves the registry of known runs, so a sweep starts a new run if it
   * ever renews again (issue 20).
   */
  function releasingEnded<A extends unknown[], R extends RenewalPlan | { plan: RenewalPlan }>(activity: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      const result = await activity(...args);
      const plan: RenewalPlan = 'plan' in result ? result.plan : (result as RenewalPlan);
      if (plan.productStatus === 'terminated' || plan.dueAt === null) await releaseRenewalRun(db, (args[0] as { productId: string }).productId);
      return result;
    };
  }

  return {
    loadRenewalPlan: releasingEnded(loadRenewalPlan),
    runRenewalStep: releasingEnded(runRenewalStep),
    recordRenewalCharge: releasingEnded(recordRenewalCharge),
    completeRenewal: releasingEnded(completeRenewal),
  };
}
