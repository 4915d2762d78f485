/** Side effects of product cancellation (P12); each is idempotent under retry. */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, redactSecret } from '../db/repositories/outbox';
import { releaseTermInvoice, termInvoice } from '../db/repositories/renewal';
import { hashLinkToken } from '../db/repositories/verification';
import { renewalChangedSignal, renewalWorkflowId } from '../workflows/shared/renewal';
import { FailureType } from '../workflows/shared/failures';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

export function createCancellationActivities(
  { db, clock, config, temporal }: ActivityDeps,
  { deliverNotification }: ReturnType<typeof createNotificationActivities>,
) {
  // An undeliverable email is recorded on its outbox row; the process does not depend on it.
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);
  const requestOrFail = async (requestId: string) => {
    const row = await db
      .selectFrom('cancellation_requests as r')
      .innerJoin('products as p', 'p.id', 'r.product_id')
      .innerJoin('accounts as a', 'a.id', 'r.requested_by')
      .select([
        'r.id',
        'r.status',
        'r.product_id',
        'r.requested_by',
        'r.expires_at',
        'p.name as product_name',
        'p.organization_id',
        'a.login_email',
        'a.display_name',
      ])
      .where('r.id', '=', requestId)
      .executeTakeFirst();
    if (!row) throw ApplicationFailure.nonRetryable(`cancellation request ${requestId} not found`, FailureType.NotFound);
    return row;
  };

  /** Emails the requester the single-use confirmation link (its token is stored hashed only). */
  async function sendCancellationConfirmation({ requestId }: { requestId: string }): Promise<void> {
    const key = `cancellation:${requestId}:confirm`;
    const token = randomBytes(32).toString('base64url');
    const r = await requestOrFail(requestId);
    const minted = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('cancellation_requests')
        .set({ token_hash: hashLinkToken(token) })
        .where('id', '=', requestId)
        .where('status', '=', 'pending')
        .where('token_hash', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return false;
      // The page shows what ends and what stays due; only its button confirms (a GET, as a mail scanner makes, changes nothing).
      const url = `${config.publicUrl}/cancel/${token}`;
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: r.login_email,
        subject: `Confirm the cancellation of ${r.product_name}`,
        body: [
          `Hello ${r.display_name},`,
          '',
          `You asked to cancel ${r.product_name}. Nothing is deleted until you confirm.`,
          'To review what ends and confirm, open this page:',
          url,
          '',
          `The link works once and lapses on ${r.expires_at.toISOString().slice(0, 10)}.`,
          'Cancelling deletes the product and its backups; open and out-of-plan fees remain due on a final invoice.',
          'If you did not ask for this, ignore this message.',
        ].join('\n'),
      });
      return true;
    });
    await deliver(key);
    if (minted) await redactSecret(db, key, token);
  }

  async function lapseCancellationRequest({ requestId }: { requestId: string }): Promise<void> {
    const lapsed = await db
      .updateTable('cancellation_requests')
      .set({ status: 'lapsed', token_hash: null })
      .where('id', '=', requestId)
      .where('status', '=', 'pending')
      .returning('product_id')
      .executeTakeFirst();
    if (lapsed)
      await audit(db, {
        actor_type: 'system',
        actor_id: 'cancellation',
        action: 'product.cancellation_lapsed',
        subject_type: 'product',
        subject_id: lapsed.product_id,
        decision: null,
        details: { requestId },
      });
  }

  /** Terminates the product: a final invoice for what is still due, backups erased. */
  async function terminateProduct({
    requestId,
    productId,
    confirmedBy,
  }: {
    requestId: string;
    productId: string;
    confirmedBy: string;
  }): Promise<{ invoiceId: string | null }> {
    const result = await db.transaction().execute(async (trx) => {
      const now = clock.now();
      await trx
        .updateTable('cancellation_requests')
        .set({ status: 'confirmed', confirmed_at: now, token_hash: null })
        .where('id', '=', requestId)
        .where('status', '=', 'pending')
        .execute();
      const product = await trx
        .selectFrom('products')
        .select(['organization_id', 'status', 'due_at'])
        .where('id', '=', productId)
        .forUpdate()
        .executeTakeFirst();
      if (!product) throw ApplicationFailure.nonRetryable(`product ${productId} not found`, FailureType.NotFound);
      if (product.status !== 'terminated') {
        await trx.updateTable('products').set({ status: 'terminated', terminated_at: now }).where('id', '=', productId).execute();
        await audit(trx, {
          actor_type: 'system',
          actor_id: 'cancellation',
          action: 'product.terminated',
          subject_type: 'product',
          subject_id: productId,
          decision: null,
          details: { requestId, confirmedBy },
        });
      }
      const open = await trx
        .selectFrom('product_fees')
        .select(['id', 'amount_cents', 'currency'])
        .where('product_id', '=', productId)
        .where('invoice_id', 'is', null)
        .execute();
      let invoiceId: string | null = null;
      if (open.length > 0) {
        invoiceId = randomUUID();
        await trx
          .insertInto('invoices')
          .values({
            id: invoiceId,
            organization_id: product.organization_id,
            product_id: productId,
            kind: 'final',
            currency: open[0]!.currency,
            total_cents: open.reduce((s, f) => s + f.amount_cents, 0),
            reference: `final:${productId}`,
            issued_at: now,
          })
          .execute();
        await trx
          .updateTable('product_fees')
          .set({ invoice_id: invoiceId })
          .where(
            'id',
            'in',
            open.map((f) => f.id),
          )
          .execute();
      }
      await trx.deleteFrom('product_backups').where('product_id', '=', productId).execute();
      // P14: a coming term not paid in full is not owed; what was paid on it goes to the prepaid account.
      const renewal = product.due_at ? await termInvoice(trx, productId, product.due_at) : undefined;
      if (renewal?.status === 'open') await releaseTermInvoice(trx, productId, product.due_at!, renewal.id);
      return { invoiceId };
    });
    // The renewal process ends at once rather than at its next step (months away, perhaps).
    await temporal?.client.workflow
      .getHandle(renewalWorkflowId(productId))
      .signal(renewalChangedSignal)
      .catch(() => undefined);
    return result;
  }

  /** Tells the requester and every other administrator and legal representative. */
  async function notifyProductTerminated({ requestId }: { requestId: string }): Promise<void> {
    const r = await requestOrFail(requestId);
    const invoice = await db.selectFrom('invoices').select(['total_cents', 'currency']).where('reference', '=', `final:${r.product_id}`).executeTakeFirst();
    const people = await db
      .selectFrom('memberships as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['a.id', 'a.login_email', 'a.display_name'])
      .where('m.organization_id', '=', r.organization_id)
      .where((eb) => eb.or([eb('m.role', 'in', ['legal_representative', 'administrator']), eb('a.id', '=', r.requested_by)]))
      .execute();
    for (const person of people) {
      const key = `cancellation:${requestId}:terminated:${person.id}`;
      await enqueue(db, {
        key,
        channel: 'email',
        recipient: person.login_email,
        subject: `${r.product_name} has been cancelled`,
        body: [
          `Hello ${person.display_name},`,
          '',
          person.id === r.requested_by
            ? `As you confirmed, ${r.product_name} has been cancelled and its backups deleted.`
            : `${r.display_name} cancelled ${r.product_name}; its backups have been deleted.`,
          invoice ? `A final invoice of ${(invoice.total_cents / 100).toFixed(2)} ${invoice.currency} covers the fees still due.` : 'No fees remain due.',
        ].join('\n'),
      });
      await deliver(key);
    }
  }

  return { sendCancellationConfirmation, lapseCancellationRequest, terminateProduct, notifyProductTerminated };
}
