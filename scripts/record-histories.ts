/**
 * `npm run record-histories`: runs each process through a representative path on the time-skipping
 * server and saves its event history to test/histories/, encrypted with the committed test key.
 * The replay test then replays them on every CI run: a workflow change that would break running
 * workflows fails the build. Re-record only on purpose, when a change is meant to be incompatible
 * (and shipped behind a patch or a new workflow type).
 * `npm run record-histories -- order payment-captured` records only the histories whose name starts
 * with one of those words, leaving every other file as it is.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import {
  API_TOKEN_IDLE_DEACTIVATION_MS,
  BLOCKED_ORDER_AUTO_CANCEL_MS,
  RECOVERY_CODE_VALIDITY_MS,
  PREPAID_PAYOUT_DECISION_TIMEOUT_MS,
  RFP_OPEN_MS,
  SUPPORT_ACCESS_EXPIRY_MS,
  VERIFICATION_DOCUMENTS_PURGE_MS,
} from '../lib/rules';
import { cancellationWorkflowId, confirmCancellationUpdate } from '../workflows/shared/cancellation';
import { orderBlockWorkflowId, orderCashbackWorkflowId } from '../workflows/shared/orders';
import { revokeUpdate, supportAccessWorkflowId } from '../workflows/shared/supportAccess';
import {
  confirmCodeUpdate,
  decideUpdate,
  documentUpdate,
  geolocationUpdate,
  selfieUpdate,
  submitPhoneUpdate,
  verificationWorkflowId,
} from '../workflows/shared/verification';
import { database, insertActiveGrant, testClient, seedOrganization, teardownAll, timeSkippingEnv } from '../test/support/fixtures';
import { insertCancellationRequest, insertPaidOrder, insertProduct, insertRenewableProduct, markBlocked } from '../test/support/orders';
import {
  decideCase,
  linkTokenFor,
  sealedPhone,
  sealedPosition,
  smsCodeFor,
  storeTestDocuments,
  submitCaseByUpdates,
  uniquePhone,
} from '../test/support/verification';
import { testPayments, testWorker } from '../test/support/worker';
import { eventually, payTerm } from '../test/support/renewal';
import { renewalWorkflowId } from '../workflows/shared/renewal';
import { paymentReservationUpdate, paymentWorkflowId, type PaymentInput } from '../workflows/shared/payment';
import { acceptHandoverUpdate, handoverWorkflowId } from '../workflows/shared/handover';
import { acceptClientInvitationUpdate, partnerInvitationWorkflowId } from '../workflows/shared/partners';
import { acceptInvitationUpdate, invitationWorkflowId, resendInvitationUpdate } from '../workflows/shared/invitation';

import { tokenHash } from '../lib/accountSecrets';
import { hashPassword } from '../lib/passwords';
import { mailTo } from '../test/support/recovery';
import { rfpCancelledSignal, rfpWorkflowId } from '../workflows/shared/rfp';
import { insertDepositOnce, insertPayoutOnce, writeLedgerEntry } from '../db/repositories/prepaid';
import { decidePayoutUpdate, payoutReservationUpdate, prepaidDepositWorkflowId, prepaidPayoutWorkflowId } from '../workflows/shared/prepaid';
import {
  accountNoticeWorkflowId,
  codeConfirmedSignal,
  deliverLoginSignal,
  loginAddressRecoveryWorkflowId,
  loginEmailChangeWorkflowId,
  passwordRecoveryWorkflowId,
  passwordResetSignal,
  recoveryLoginWorkflowId,
  securityCaseWorkflowId,
  verificationRequestedSignal,
  type AccountNoticeInput,
} from '../workflows/shared/recovery';

/** Polls until the value exists. */
const until = <T>(f: () => Promise<T | undefined | null>) =>
  eventually(async () => {
    const v = await f();
    if (v === undefined || v === null) throw new Error('not yet');
    return v;
  });

const out = (name: string) => path.join(__dirname, '..', 'test', 'histories', `${name}.json`);

type Env = Awaited<ReturnType<typeof timeSkippingEnv>>;
type Ctx = { env: Env; client: ReturnType<typeof testClient>; taskQueue: string; db: Awaited<ReturnType<typeof database>>['db'] };

const recorders: Record<string, (ctx: Ctx) => Promise<{ fetchHistory(): Promise<unknown> }>> = {
  async 'support-access-expired'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const grant = await insertActiveGrant(db, seed, 'mail');
    const h = await client.workflow.start('supportAccess', { workflowId: supportAccessWorkflowId(grant.id), taskQueue, args: [{ grantId: grant.id }] });
    await env.sleep(SUPPORT_ACCESS_EXPIRY_MS);
    await h.result();
    return h;
  },
  async 'support-access-revoked'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const grant = await insertActiveGrant(db, seed, 'kdrive');
    const h = await client.workflow.start('supportAccess', { workflowId: supportAccessWorkflowId(grant.id), taskQueue, args: [{ grantId: grant.id }] });
    await env.sleep('1 day');
    await h.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.legalRep.id}` }] });
    await h.result();
    return h;
  },
  /**
   * Every customer step, a wrong code, a resubmission, the overdue escalation, then approval. The
   * committed file predates issue 14, item 6 (phone and position as values in the updates, the
   * 72-hour clock at the document): it replays that old path, so keep it; re-recording it would
   * record the new one, which verification-resubmission-expired already covers.
   */
  async 'verification-approved'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const caseId = randomUUID();
    const h = await client.workflow.start('verificationCase', {
      workflowId: verificationWorkflowId(caseId),
      taskQueue,
      args: [{ accountId: seed.legalRep.id, reason: 'blocked_order', subject: { type: 'order', id: randomUUID() } }],
    });
    await linkTokenFor(seed.legalRep.login_email);
    const phone = uniquePhone();
    await h.executeUpdate(submitPhoneUpdate, { args: [await sealedPhone(db, caseId, phone)] });
    const code = await smsCodeFor(phone);
    await h.executeUpdate(confirmCodeUpdate, { args: [{ code: code === '000000' ? '000001' : '000000' }] });
    await h.executeUpdate(confirmCodeUpdate, { args: [{ code }] });
    await h.executeUpdate(geolocationUpdate, { args: [await sealedPosition(db, caseId, { latitude: 46.5, longitude: 6.6, accuracyMeters: 10 })] });
    const submit = async () => {
      await h.executeUpdate(documentUpdate, { args: [{ type: 'passport', documentIds: await storeTestDocuments(db, caseId, ['passport_photo_page']) }] });
      const [selfie] = await storeTestDocuments(db, caseId, ['selfie']);
      await h.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] });
    };
    await submit();
    await db.updateTable('verification_cases').set({ assigned_agent_id: seed.agent.id, claimed_at: new Date() }).where('id', '=', caseId).execute();
    await h.executeUpdate(decideUpdate, { args: [{ agentId: seed.agent.id, decision: 'request_resubmission', reason: 'blurred' }] });
    await submit();
    await env.sleep('3 hours');
    await db.updateTable('verification_cases').set({ assigned_agent_id: seed.agent.id, claimed_at: new Date() }).where('id', '=', caseId).execute();
    await h.executeUpdate(decideUpdate, { args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'matches' }] });
    await h.result();
    return h;
  },
  /** Blocked, approved through the child case, fulfilled. */
  async 'order-block-fulfilled'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const { orderId } = await insertPaidOrder(db, seed, { means: 'card' });
    const caseId = randomUUID();
    await markBlocked(db, orderId, caseId);
    const h = await client.workflow.start('orderBlock', {
      workflowId: orderBlockWorkflowId(orderId),
      taskQueue,
      args: [{ orderId, accountId: seed.legalRep.id, caseId }],
    });
    await linkTokenFor(seed.legalRep.login_email);
    const child = client.workflow.getHandle(verificationWorkflowId(caseId));
    await submitCaseByUpdates(child, db, caseId);
    await decideCase(child, db, caseId, seed.agent.id, 'approve');
    await h.result();
    return h;
  },
  /** Nothing by day 10: the case is cancelled, the order cancelled and refunded. */
  async 'order-block-timeout'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const { orderId } = await insertPaidOrder(db, seed, { means: 'iban_transfer', status: 'in_progress' });
    const caseId = randomUUID();
    await markBlocked(db, orderId, caseId);
    const h = await client.workflow.start('orderBlock', {
      workflowId: orderBlockWorkflowId(orderId),
      taskQueue,
      args: [{ orderId, accountId: seed.legalRep.id, caseId }],
    });
    await linkTokenFor(seed.legalRep.login_email);
    await env.sleep(BLOCKED_ORDER_AUTO_CANCEL_MS);
    await h.result();
    return h;
  },
  /** P11: a partner's client orders at the public price; the partner's cashback is credited. */
  async 'order-cashback-credited'({ client, taskQueue, db }) {
    const partner = await seedOrganization(db);
    const seed = await seedOrganization(db);
    await db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const { orderId } = await insertPaidOrder(db, seed, { means: 'card' }, partner.org.id);
    const h = await client.workflow.start('orderCashback', { workflowId: orderCashbackWorkflowId(orderId), taskQueue, args: [{ orderId }] });
    await h.result();
    return h;
  },
  async 'product-cancellation-confirmed'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const { productId } = await insertProduct(db, seed);
    const requestId = await insertCancellationRequest(db, productId, seed.admin.id);
    const h = await client.workflow.start('productCancellation', {
      workflowId: cancellationWorkflowId(productId),
      taskQueue,
      args: [{ requestId, productId }],
    });
    await env.sleep('1 day');
    await h.executeUpdate(confirmCancellationUpdate, { args: [{ actor: `customer:${seed.admin.id}` }] });
    await h.result();
    return h;
  },
  /** Like verification-approved, the committed file replays the path from before issue 14, item 6. */
  async 'verification-expired'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const caseId = randomUUID();
    const h = await client.workflow.start('verificationCase', {
      workflowId: verificationWorkflowId(caseId),
      taskQueue,
      args: [{ accountId: seed.admin.id, reason: 'disable_2fa', subject: null }],
    });
    await linkTokenFor(seed.admin.login_email);
    const phone = uniquePhone();
    await h.executeUpdate(submitPhoneUpdate, { args: [await sealedPhone(db, caseId, phone)] });
    await h.executeUpdate(confirmCodeUpdate, { args: [{ code: await smsCodeFor(phone) }] });
    await h.executeUpdate(geolocationUpdate, { args: [await sealedPosition(db, caseId, { latitude: 47.4, longitude: 8.5, accuracyMeters: 15 })] });
    await h.executeUpdate(documentUpdate, {
      args: [{ type: 'id_card', documentIds: await storeTestDocuments(db, caseId, ['id_card_front', 'id_card_back']) }],
    });
    const [selfie] = await storeTestDocuments(db, caseId, ['selfie']);
    await h.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] });
    await env.sleep(VERIFICATION_DOCUMENTS_PURGE_MS);
    await h.result();
    return h;
  },
  /**
   * Issue 14, item 6: phone and position by reference, round 1's 72-hour clock from the phone step
   * (its timer fires in round 2 and does nothing), a resubmission whose clock starts at its
   * document, and the expiry 72 hours after that.
   */
  async 'verification-resubmission-expired'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const caseId = randomUUID();
    const h = await client.workflow.start('verificationCase', {
      workflowId: verificationWorkflowId(caseId),
      taskQueue,
      args: [{ accountId: seed.legalRep.id, reason: 'forgotten_password', subject: null }],
    });
    await linkTokenFor(seed.legalRep.login_email);
    const phone = uniquePhone();
    await h.executeUpdate(submitPhoneUpdate, { args: [await sealedPhone(db, caseId, phone)] });
    await h.executeUpdate(confirmCodeUpdate, { args: [{ code: await smsCodeFor(phone) }] });
    await h.executeUpdate(geolocationUpdate, { args: [await sealedPosition(db, caseId, { latitude: 46.2, longitude: 6.1, accuracyMeters: 9 })] });
    const submit = async () => {
      await h.executeUpdate(documentUpdate, { args: [{ type: 'passport', documentIds: await storeTestDocuments(db, caseId, ['passport_photo_page']) }] });
      const [selfie] = await storeTestDocuments(db, caseId, ['selfie']);
      await h.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] });
    };
    await submit();
    await env.sleep('1 day');
    await db.updateTable('verification_cases').set({ assigned_agent_id: seed.agent.id, claimed_at: new Date() }).where('id', '=', caseId).execute();
    await h.executeUpdate(decideUpdate, { args: [{ agentId: seed.agent.id, decision: 'request_resubmission', reason: 'glare on the photo' }] });
    await env.sleep('1 day');
    await submit();
    await env.sleep(VERIFICATION_DOCUMENTS_PURGE_MS);
    await h.result();
    return h;
  },
  /** Periodic reminders, a payment recorded between two of them, renewal: the run ends by continuing as new. */
  async 'renewal-term-paid'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const due = (await env.currentTimeMs()) + 80 * DAY;
    const { productId } = await insertRenewableProduct(db, seed, { dueAt: new Date(due) });
    const h = await client.workflow.start('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: new Date(due).toISOString() }],
    });
    await env.sleep(40 * DAY);
    await payTerm(db, client, productId, new Date(due));
    await settled(db, productId, (p) => p.due_at?.getTime() !== due);
    const first = client.workflow.getHandle(h.workflowId, h.firstExecutionRunId);
    await eventually(async () => {
      if ((await first.describe()).status.name !== 'CONTINUED_AS_NEW') throw new Error('not yet');
    });
    await h.terminate('recorded');
    return first;
  },
  /** Automatic renewal declined at every attempt, then block and termination. */
  async 'renewal-declined-terminated'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const due = (await env.currentTimeMs()) + 20 * DAY;
    const { productId, cardRef } = await insertRenewableProduct(db, seed, { dueAt: new Date(due), autoRenew: true });
    testPayments.declineCard(cardRef);
    const h = await client.workflow.start('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: new Date(due).toISOString() }],
    });
    await env.sleep(60 * DAY);
    await h.result();
    return h;
  },
  /** Automatic renewal as payment processes: the first attempt declined, the next one charged; the run continues as new. */
  async 'renewal-charged-by-payment'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const due = Math.ceil(((await env.currentTimeMs()) + 20 * DAY) / 60_000) * 60_000;
    const { productId, cardRef } = await insertRenewableProduct(db, seed, { dueAt: new Date(due), autoRenew: true, priceCents: 990 });
    testPayments.declineCard(cardRef, 1);
    const h = await client.workflow.start('renewal', {
      workflowId: renewalWorkflowId(productId),
      taskQueue,
      args: [{ productId, dueAt: new Date(due).toISOString() }],
    });
    // First attempt 14 days ahead (declined), the next one 3 days later; the query waits for each step.
    // Waiting on a timer again means the step (and its payment child) is done.
    const idle = () =>
      eventually(async () => {
        const last = ((await h.fetchHistory()).events ?? []).at(-1)?.eventType;
        if (String(last) !== String(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED)) throw new Error('still working');
      });
    await idle();
    await env.sleep(6 * DAY + 3_600_000);
    await idle();
    await env.sleep(3 * DAY);
    await idle();
    await settled(db, productId, (p) => p.due_at?.getTime() !== due);
    const first = client.workflow.getHandle(h.workflowId, h.firstExecutionRunId);
    await eventually(async () => {
      if ((await first.describe()).status.name !== 'CONTINUED_AS_NEW') throw new Error('not yet');
    });
    await h.terminate('recorded');
    return first;
  },
  /** A customer's card payment: reserved, charged, settled, the renewal told. */
  async 'payment-captured'(ctx) {
    const h = await startCardPayment(ctx, 'tok_visa_recorded');
    await h.executeUpdate(paymentReservationUpdate);
    await h.result();
    return h;
  },
  /** A card declined after the reservation: released. */
  async 'payment-declined'(ctx) {
    const h = await startCardPayment(ctx, 'tok_declined_recorded');
    await h.result();
    return h;
  },
  /** An invitation by email, accepted after a few days; the role moves, the former representative leaves. */
  async 'legal-rep-handover-invited'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const handoverId = randomUUID();
    const now = new Date(await env.currentTimeMs());
    await db
      .insertInto('legal_rep_handovers')
      .values({
        id: handoverId,
        organization_id: seed.org.id,
        requested_by: seed.legalRep.id,
        from_account_id: seed.legalRep.id,
        to_account_id: null,
        to_email: seed.outsider.login_email,
        token_hash: null,
        status: 'awaiting_acceptance',
        requested_at: now,
        expires_at: new Date(now.getTime() + 30 * DAY),
      })
      .execute();
    const h = await client.workflow.start('legalRepHandover', {
      workflowId: handoverWorkflowId(seed.org.id),
      taskQueue,
      args: [{ handoverId, organizationId: seed.org.id, invitation: true }],
    });
    await env.sleep('3 days');
    await h.executeUpdate(acceptHandoverUpdate, { args: [{ accountId: seed.outsider.id }] });
    await h.result();
    return h;
  },
  /** An invitation sent again after two days, then accepted. */
  async 'member-invitation-accepted'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const id = randomUUID();
    await db
      .insertInto('organization_invitations')
      .values({
        id,
        organization_id: seed.org.id,
        invited_by: seed.admin.id,
        email: seed.outsider.login_email,
        role: 'collaborator',
        product_ids: [],
        contact_preferences: '{}',
        token_hash: null,
        sent_at: null,
        expires_at: new Date((await env.currentTimeMs()) + 30 * DAY),
        accepted_by: null,
      })
      .execute();
    const h = await client.workflow.start('memberInvitation', { workflowId: invitationWorkflowId(id), taskQueue, args: [{ invitationId: id }] });
    await env.sleep('2 days');
    await h.executeUpdate(resendInvitationUpdate, { args: [{ actor: `customer:${seed.admin.id}` }] });
    await env.sleep('1 day');
    await h.executeUpdate(acceptInvitationUpdate, { args: [{ accountId: seed.outsider.id }] });
    await h.result();
    return h;
  },
  /** A partner's client invitation, accepted with narrower rights by the client. */
  async 'partner-invitation-accepted'({ env, client, taskQueue, db }) {
    const partner = await seedOrganization(db);
    const clientSeed = await seedOrganization(db);
    const id = randomUUID();
    await db
      .insertInto('client_invitations')
      .values({
        id,
        partner_organization_id: partner.org.id,
        invited_by: partner.legalRep.id,
        client_email: clientSeed.legalRep.login_email,
        requested: JSON.stringify({ access: 'full', billing: 'partner' }),
        granted: null,
        client_organization_id: null,
        token_hash: null,
        sent_at: null,
        expires_at: new Date((await env.currentTimeMs()) + 30 * DAY),
      })
      .execute();
    const h = await client.workflow.start('partnerInvitation', { workflowId: partnerInvitationWorkflowId(id), taskQueue, args: [{ invitationId: id }] });
    await env.sleep('1 day');
    await db
      .updateTable('client_invitations')
      .set({ granted: JSON.stringify({ access: 'full', billing: 'client' }), client_organization_id: clientSeed.org.id })
      .where('id', '=', id)
      .execute();
    await h.executeUpdate(acceptClientInvitationUpdate, { args: [{ clientOrganizationId: clientSeed.org.id, accountId: clientSeed.legalRep.id }] });
    await h.result();
    return h;
  },
  async 'recovery-login-delivered'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const phone = uniquePhone();
    await db
      .updateTable('accounts')
      .set({ mobile_phone: phone, recovery_email: `rescue-${seed.legalRep.id.slice(0, 8)}@elsewhere.test` })
      .where('id', '=', seed.legalRep.id)
      .execute();
    const id = randomUUID();
    await db.insertInto('recovery_requests').values({ id, kind: 'login_email', account_id: seed.legalRep.id, channel: 'sms' }).execute();
    const h = await client.workflow.start('recoveryLogin', { workflowId: recoveryLoginWorkflowId(id), taskQueue, args: [{ requestId: id }] });
    await smsCodeFor(phone);
    await db.updateTable('recovery_requests').set({ confirmed_at: new Date(), code_hash: null }).where('id', '=', id).execute();
    await h.signal(codeConfirmedSignal);
    await env.sleep('1 minute');
    await h.signal(deliverLoginSignal, { channel: 'sms' });
    await h.result();
    return h;
  },
  async 'password-recovery-verified'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const id = randomUUID();
    await db.insertInto('recovery_requests').values({ id, kind: 'password', account_id: seed.legalRep.id, channel: 'email' }).execute();
    const h = await client.workflow.start('passwordRecovery', { workflowId: passwordRecoveryWorkflowId(id), taskQueue, args: [{ requestId: id }] });
    await env.sleep('1 minute');
    await h.signal(verificationRequestedSignal);
    const caseId = await until(
      async () =>
        (await db.selectFrom('recovery_requests').select('verification_case_id').where('id', '=', id).executeTakeFirstOrThrow()).verification_case_id ??
        undefined,
    );
    await until(async () => db.selectFrom('verification_cases').select('id').where('id', '=', caseId).executeTakeFirst());
    const child = client.workflow.getHandle(verificationWorkflowId(caseId));
    await submitCaseByUpdates(child, db, caseId);
    await decideCase(child, db, caseId, seed.agent.id, 'approve');
    await linkTokenFor(seed.legalRep.login_email);
    await until(
      async () => (await db.selectFrom('recovery_requests').select('token_hash').where('id', '=', id).executeTakeFirstOrThrow()).token_hash ?? undefined,
    );
    await h.signal(passwordResetSignal);
    await h.result();
    return h;
  },
  async 'login-address-recovery-reminded'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    await db
      .updateTable('accounts')
      .set({
        recovery_email: `rescue-${seed.admin.id.slice(0, 8)}@elsewhere.test`,
        recovery_username: `ar${String(Date.now()).slice(-6)}`,
        login_address_lost_at: new Date(),
      })
      .where('id', '=', seed.admin.id)
      .execute();
    const h = await client.workflow.start('loginAddressRecovery', {
      workflowId: loginAddressRecoveryWorkflowId(seed.admin.id),
      taskQueue,
      args: [{ accountId: seed.admin.id }],
    });
    await env.sleep('15 days');
    await h.result();
    return h;
  },
  async 'account-security-case-approved'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    await db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('recorded passphrase'), locked_at: new Date(), failed_logins: 5 })
      .where('id', '=', seed.collaborator.id)
      .execute();
    const caseId = randomUUID();
    const h = await client.workflow.start('accountSecurityCase', {
      workflowId: securityCaseWorkflowId(seed.collaborator.id, 'account_unblock'),
      taskQueue,
      args: [{ accountId: seed.collaborator.id, reason: 'account_unblock', caseId }],
    });
    await until(async () => db.selectFrom('verification_cases').select('id').where('id', '=', caseId).executeTakeFirst());
    const child = client.workflow.getHandle(verificationWorkflowId(caseId));
    await submitCaseByUpdates(child, db, caseId);
    await decideCase(child, db, caseId, seed.agent.id, 'approve');
    await h.result();
    return h;
  },
  /** P7: the fifth failed login locked the account; its holder (alerts on failures) is emailed. */
  async 'account-locked-notified'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const lockedAt = new Date();
    await db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('recorded passphrase'), locked_at: lockedAt, failed_logins: 5 })
      .where('id', '=', seed.collaborator.id)
      .execute();
    const h = await client.workflow.start('accountLocked', {
      workflowId: `account-locked:${seed.collaborator.id}:${lockedAt.getTime()}`,
      taskQueue,
      args: [{ accountId: seed.collaborator.id, lockedAt: lockedAt.toISOString() }],
    });
    await h.result();
    return h;
  },
  /** A password reset from the emailed link: the login and the recovery address are both told. */
  async 'account-notice-password-reset'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    await db
      .updateTable('accounts')
      .set({ recovery_email: `rescue-${seed.legalRep.id.slice(0, 8)}@elsewhere.test` })
      .where('id', '=', seed.legalRep.id)
      .execute();
    const notice: AccountNoticeInput = { accountId: seed.legalRep.id, kind: 'password_reset', eventId: randomUUID() };
    const h = await client.workflow.start('accountNotice', { workflowId: accountNoticeWorkflowId(notice), taskQueue, args: [notice] });
    await h.result();
    return h;
  },
  /** P8: the daily sweep finds one token idle for over a year and one past its lifetime. */
  async 'api-token-sweep-deactivated'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const now = await env.currentTimeMs();
    const token = (name: string, created: number, lastUsed: number | null, expires: number | null) => ({
      id: randomUUID(),
      account_id: seed.admin.id,
      kind: 'api_token' as const,
      name,
      token_hash: tokenHash(randomUUID()),
      created_at: new Date(created),
      last_used_at: lastUsed === null ? null : new Date(lastUsed),
      expires_at: expires === null ? null : new Date(expires),
    });
    await db
      .insertInto('access_tokens')
      .values([
        token('idle', now - API_TOKEN_IDLE_DEACTIVATION_MS - 40 * DAY, now - API_TOKEN_IDLE_DEACTIVATION_MS - DAY, null),
        token('expired', now - 40 * DAY, now - 2 * DAY, now - DAY),
        token('in use', now - 40 * DAY, now - DAY, null),
      ])
      .execute();
    const h = await client.workflow.start('apiTokenSweep', { workflowId: `api-token-sweep:recorded-${randomUUID()}`, taskQueue });
    await h.result();
    return h;
  },
  /** P5: a code to the new login address; the holder confirms it, the request closes 10 minutes later. */
  async 'login-email-change-closed'({ env, client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const requestId = randomUUID();
    const pending = `new-login-${seed.admin.id.slice(0, 8)}@elsewhere.test`;
    await db
      .insertInto('recovery_requests')
      .values({ id: requestId, kind: 'login_address', account_id: seed.admin.id, channel: 'email', pending_email: pending })
      .execute();
    const h = await client.workflow.start('loginEmailChange', { workflowId: loginEmailChangeWorkflowId(requestId), taskQueue, args: [{ requestId }] });
    await mailTo(pending, /\b\d{6}\b/);
    await env.sleep('2 minutes');
    // What POST /v1/accounts/me/login-email/confirm does with the right code.
    await db.updateTable('recovery_requests').set({ confirmed_at: new Date(), closed_at: new Date(), code_hash: null }).where('id', '=', requestId).execute();
    await db.updateTable('accounts').set({ login_email: pending }).where('id', '=', seed.admin.id).execute();
    await env.sleep(RECOVERY_CODE_VALIDITY_MS);
    await h.result();
    return h;
  },
  /** P11: the client ended the partnership (the API ended the access); both sides are emailed. */
  async 'partnership-ended-notified'({ client, taskQueue, db }) {
    const partner = await seedOrganization(db);
    const clientSeed = await seedOrganization(db);
    await db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const id = randomUUID();
    await db
      .insertInto('partnerships')
      .values({
        id,
        partner_organization_id: partner.org.id,
        client_organization_id: clientSeed.org.id,
        invitation_id: null,
        access: 'full',
        billing: 'client',
        started_at: new Date(Date.now() - 90 * DAY),
        ended_at: new Date(),
        ended_by: clientSeed.legalRep.id,
      })
      .execute();
    const h = await client.workflow.start('partnershipEnded', { workflowId: `partnership-ended:${id}`, taskQueue, args: [{ partnershipId: id }] });
    await h.result();
    return h;
  },
  /** P14: one organization's renewable products, one of which already has its process; a terminated one is skipped. */
  async 'renewal-sweep-started'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const products = await Promise.all([40, 90, 200].map((days) => insertRenewableProduct(db, seed, { dueAt: new Date(Date.now() + days * DAY) })));
    const ended = await insertRenewableProduct(db, seed, { dueAt: new Date(Date.now() + 60 * DAY) });
    await db.updateTable('products').set({ status: 'terminated' }).where('id', '=', ended.productId).execute();
    const [running] = products;
    const dueAt = (await db.selectFrom('products').select('due_at').where('id', '=', running!.productId).executeTakeFirstOrThrow()).due_at!;
    await client.workflow.start('renewal', {
      workflowId: renewalWorkflowId(running!.productId),
      taskQueue,
      args: [{ productId: running!.productId, dueAt: dueAt.toISOString() }],
    });
    const h = await client.workflow.start('renewalSweep', {
      workflowId: `renewal-sweep:recorded-${randomUUID()}`,
      taskQueue,
      args: [{ organizationId: seed.org.id }],
    });
    await h.result();
    // The renewals it started would go on through the next recordings' skipped time: each is ended
    // once it waits on its timer (ended amid an activity, it would hold the skipping until that returns).
    for (const { productId } of products) {
      const renewal = client.workflow.getHandle(renewalWorkflowId(productId));
      await eventually(async () => {
        const last = ((await renewal.fetchHistory()).events ?? []).at(-1)?.eventType;
        if (String(last) !== String(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED)) throw new Error('still working');
      });
      await renewal.terminate('recorded');
    }
    return h;
  },
  /** Issue 17, item 4: a deposit by card, charged, credited, receipted. */
  async 'prepaid-deposit-credited'({ client, taskQueue, db }) {
    const seed = await seedOrganization(db);
    const depositId = randomUUID();
    await insertDepositOnce(db, {
      id: depositId,
      organization_id: seed.org.id,
      requested_by: seed.admin.id,
      amount_cents: 2_500,
      currency: 'CHF',
      card_ref: 'tok_visa_recorded',
    });
    const h = await client.workflow.start('prepaidDeposit', { workflowId: prepaidDepositWorkflowId(depositId), taskQueue, args: [{ depositId }] });
    await h.result();
    return h;
  },
  /** Issue 17, item 4: a payout reserved, approved by an agent 2 days later, paid out. */
  async 'prepaid-payout-approved'({ env, client, taskQueue, db }) {
    const { seed, h } = await startPrepaidPayout({ client, taskQueue, db });
    await h.executeUpdate(payoutReservationUpdate);
    await env.sleep('2 days');
    await h.executeUpdate(decidePayoutUpdate, { args: [{ agentId: seed.agent.id, decision: 'approve', reason: 'holder matches' }] });
    await h.result();
    return h;
  },
  /** Issue 17, item 4: a payout nobody decided: lapsed at the deadline, credited back. */
  async 'prepaid-payout-expired'({ env, client, taskQueue, db }) {
    const { h } = await startPrepaidPayout({ client, taskQueue, db });
    await h.executeUpdate(payoutReservationUpdate);
    await env.sleep(PREPAID_PAYOUT_DECISION_TIMEOUT_MS);
    await h.result();
    return h;
  },
  /** P11: published to the partners who take requests, cancelled by its author from the emailed link 3 days later. */
  async 'request-for-proposal-cancelled'({ env, client, taskQueue, db }) {
    const author = await seedOrganization(db);
    const partner = await seedOrganization(db);
    await db.updateTable('organizations').set({ program: 'partner', rfp_opt_in: true }).where('id', '=', partner.org.id).execute();
    const id = randomUUID();
    const now = new Date(await env.currentTimeMs());
    await db
      .insertInto('requests_for_proposal')
      .values({
        id,
        organization_id: author.org.id,
        created_by: author.admin.id,
        title: 'Shop migration',
        summary: 'Move our online shop to managed hosting.',
        details: 'About 2,000 products, two languages.',
        cancel_token_hash: null,
        created_at: now,
        closes_at: new Date(now.getTime() + RFP_OPEN_MS),
      })
      .execute();
    const h = await client.workflow.start('requestForProposal', { workflowId: rfpWorkflowId(id), taskQueue, args: [{ rfpId: id }] });
    await mailTo(author.admin.login_email, /requests-for-proposal\/cancel\//);
    await env.sleep('3 days');
    await db.updateTable('requests_for_proposal').set({ status: 'cancelled', cancel_token_hash: null }).where('id', '=', id).execute();
    await h.signal(rfpCancelledSignal);
    await h.result();
    return h;
  },
};

const DAY = 86_400_000;

/** A payout to an IBAN of half a funded prepaid account (the destination in PostgreSQL only). */
async function startPrepaidPayout({ client, taskQueue, db }: Omit<Ctx, 'env'>) {
  const seed = await seedOrganization(db);
  await writeLedgerEntry(db, {
    organizationId: seed.org.id,
    currency: 'CHF',
    amountCents: 8_000,
    reason: 'bank transfer',
    reference: `record:${randomUUID()}`,
  });
  const payoutId = randomUUID();
  await insertPayoutOnce(db, {
    id: payoutId,
    organization_id: seed.org.id,
    requested_by: seed.legalRep.id,
    amount_cents: 4_000,
    currency: 'CHF',
    destination_kind: 'iban',
    iban: 'CH9300762011623852957',
    holder: 'Recorded AG',
    paypal_email: null,
  });
  const h = await client.workflow.start('prepaidPayout', { workflowId: prepaidPayoutWorkflowId(payoutId), taskQueue, args: [{ payoutId }] });
  return { seed, h };
}

/** A payment process for a fresh renewable product, by the administrator, with this card token. */
async function startCardPayment({ client, taskQueue, db }: Ctx, cardToken: string) {
  const seed = await seedOrganization(db);
  const { productId } = await insertRenewableProduct(db, seed, { dueAt: new Date(Date.now() + 30 * DAY) });
  const paymentId = randomUUID();
  const input: PaymentInput = {
    paymentId,
    request: { kind: 'invoice', productId, means: 'card', cardToken, businessKey: `record:${paymentId}`, requestedBy: `customer:${seed.admin.id}` },
  };
  return client.workflow.start('payment', { workflowId: paymentWorkflowId(paymentId), taskQueue, args: [input] });
}

async function settled(db: Ctx['db'], productId: string, done: (p: { due_at: Date | null }) => boolean) {
  await until(async () => {
    const p = await db.selectFrom('products').select('due_at').where('id', '=', productId).executeTakeFirstOrThrow();
    if (!done(p)) throw new Error('not yet');
    return true; // `until` waits for a value
  });
}

(async () => {
  process.env.TEMPORAL_PROVISION_NO_DOWNLOAD ??= '1';
  const only = process.argv.slice(2);
  const unknown = only.filter((o) => !Object.keys(recorders).some((n) => n.startsWith(o)));
  if (unknown.length) throw new Error(`no recording is named ${unknown.join(', ')}; the names: ${Object.keys(recorders).join(', ')}`);
  const names = Object.keys(recorders).filter((n) => only.length === 0 || only.some((o) => n.startsWith(o)));
  const env = await timeSkippingEnv();
  const { db } = await database();
  const client = testClient(env);
  const { worker, taskQueue } = await testWorker(env);
  await worker.runUntil(async () => {
    for (const name of names) {
      const handle = await recorders[name]!({ env, client, taskQueue, db });
      writeFileSync(out(name), historyToJSON((await handle.fetchHistory()) as Parameters<typeof historyToJSON>[0]));
      console.log(`recorded test/histories/${name}.json`);
    }
  });
})()
  .catch((err: Error) => (console.error(err), (process.exitCode = 1)))
  .finally(() => teardownAll());
