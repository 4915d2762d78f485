/**
 * Side effects of identity verification (P2). Each is idempotent under retry: state changes are
 * conditional updates keyed by the case's round or sequence numbers, messages have outbox keys.
 * Secrets (link tokens, SMS codes) are generated here with node:crypto, stored only as hashes, and
 * redacted from the outbox once sent. The phone number and the position arrive as ids of rows the
 * API sealed (issue 14, item 6); the values are opened here only to send the code.
 */
import { createHmac, hkdfSync, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { audit } from '../db/repositories/audit';
import { enqueue, findByKey, markSecret, redactSecret } from '../db/repositories/outbox';
import {
  attachEvidence,
  eraseEvidence,
  findCase,
  hashLinkToken,
  insertCase,
  insertEvidence,
  OPEN_STATUSES,
  type VerificationCase,
} from '../db/repositories/verification';
import type { EvidenceKind } from '../db/tables/verification.table';
import type { Db } from '../db/database';
import { addBusinessHours } from '../lib/businessHours';
import { newCaseKey, openEvidence, sealEvidence, unwrapCaseKey } from '../lib/documentCrypto';
import { VERIFICATION_ANSWER_TARGET_BUSINESS_HOURS, VERIFICATION_CODE_VALIDITY_MS, VERIFICATION_DOCUMENTS_PURGE_MS } from '../lib/rules';
import type { Keyring } from '../temporal/codec';
import { FailureType } from '../workflows/shared/failures';
import type { Decision, DocumentKind, LegacyPhone, PhoneSubmission, Position, PositionSubmission, VerificationReason } from '../workflows/shared/verification';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

const REASON_TEXT: Record<VerificationReason, string> = {
  forgotten_password: 'to reset the password of your account',
  forgotten_login_email: 'to recover the login email of your account',
  disable_2fa: 'to disable two-factor authentication on your account',
  account_unblock: 'to unblock your account',
  ticketing_first_payout: 'before your first Ticketing revenue payout',
  blocked_order: 'to unblock your order',
};

/** P3: a holder who forgot the login address is reached at the recovery address, else by SMS. */
function caseContact(
  a: { login_email: string; recovery_email: string | null; mobile_phone: string | null },
  contact: 'login_email' | 'recovery_channels',
): { channel: 'email' | 'sms'; recipient: string } {
  if (contact === 'recovery_channels') {
    if (a.recovery_email) return { channel: 'email', recipient: a.recovery_email };
    if (a.mobile_phone) return { channel: 'sms', recipient: a.mobile_phone };
  }
  return { channel: 'email', recipient: a.login_email };
}

/** The page of the steps (api/pages/verification.ts); the API routes under /v1/verification/:token stay for the Manager. */
export const verificationLinkUrl = (publicUrl: string, token: string) => `${publicUrl}/verify/${token}`;

/** HMAC key for SMS codes, derived so it shares nothing with payload or document keys. */
export function codeKey(keyring: Keyring): Buffer {
  const master = keyring.keys.get(keyring.currentKeyId)!;
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'backoffice/verification-codes/v1', 32));
}
const codeHash = (key: Buffer, caseId: string, seq: number, code: string) => createHmac('sha256', key).update(`${caseId}:${seq}:${code}`).digest();

export function createVerificationActivities(
  { db, clock, keyring, config, verification }: ActivityDeps,
  { deliverNotification }: ReturnType<typeof createNotificationActivities>,
) {
  const hmacKey = codeKey(keyring);

  const caseOrFail = async (conn: Db, caseId: string): Promise<VerificationCase> => {
    const found = await findCase(conn, caseId);
    if (!found) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
    return found;
  };
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);

  /**
   * The sealed value the workflow refers to, marked as accepted. An activity scheduled before issue
   * 14, item 6 carries the value itself: it is sealed here as an accepted row, as the API would have.
   */
  async function acceptEvidence(
    trx: Db,
    c: { id: string; round: number; data_key_wrapped: Buffer | null },
    kind: EvidenceKind,
    given: { ref: string } | { value: unknown },
  ): Promise<unknown> {
    if (!c.data_key_wrapped) throw ApplicationFailure.nonRetryable('the case is closed', FailureType.CaseClosed);
    const key = unwrapCaseKey(keyring, c.data_key_wrapped);
    if ('value' in given) {
      const id = randomUUID();
      await insertEvidence(trx, { id, case_id: c.id, round: c.round, kind, sealed: sealEvidence(key, given.value, c.id, id), attached: true });
      return given.value;
    }
    const sealed = await attachEvidence(trx, c.id, given.ref, kind);
    if (!sealed) throw ApplicationFailure.nonRetryable(`no sealed ${kind} ${given.ref} in case ${c.id}`, FailureType.InvalidDocuments);
    return openEvidence(key, sealed, c.id, given.ref);
  }

  async function openVerificationCase(input: {
    caseId: string;
    accountId: string;
    reason: VerificationReason;
    subject: { type: string; id: string } | null;
    openedBy: string;
    contact?: 'login_email' | 'recovery_channels';
  }): Promise<{ status: VerificationCase['status'] }> {
    const account = await db.selectFrom('accounts').select('id').where('id', '=', input.accountId).executeTakeFirst();
    if (!account) throw ApplicationFailure.nonRetryable(`account ${input.accountId} not found`, FailureType.NotFound);
    // The API inserts the row before starting the workflow; a parent workflow's child does not.
    const inserted = await insertCase(db, {
      id: input.caseId,
      accountId: input.accountId,
      reason: input.reason,
      subject: input.subject,
      openedBy: input.openedBy,
      openedAt: clock.now(),
      dataKeyWrapped: newCaseKey(keyring).wrapped,
      contact: input.contact,
    });
    if (inserted) {
      const [actorType, actorId] = splitActor(input.openedBy);
      await audit(db, {
        actor_type: actorType,
        actor_id: actorId,
        action: 'verification.opened',
        subject_type: 'verification_case',
        subject_id: input.caseId,
        decision: null,
        details: { reason: input.reason },
      });
    }
    return { status: (await caseOrFail(db, input.caseId)).status };
  }

  /**
   * Issues link number `seq` (invalidating the previous one) and emails it with its QR code, drawn
   * inside the email (issue 17, item 10), to the account's login address. A retry after the email
   * went out re-sends nothing and mints nothing; a retry before re-sends the same link.
   */
  async function issueVerificationLink({ caseId, seq }: { caseId: string; seq: number }): Promise<{ delivered: boolean }> {
    const key = `verification:${caseId}:link:${seq}`;
    const token = randomBytes(32).toString('base64url');
    const minted = await db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('verification_cases')
        .select(['status', 'link_seq', 'reason', 'round', 'resubmission_reason', 'account_id', 'contact'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
      if (c.link_seq >= seq || c.status !== 'awaiting_customer') return false;
      await trx
        .updateTable('verification_cases')
        .set({ link_token_hash: hashLinkToken(token), link_seq: seq })
        .where('id', '=', caseId)
        .execute();
      const account = await trx
        .selectFrom('accounts')
        .select(['login_email', 'display_name', 'recovery_email', 'mobile_phone'])
        .where('id', '=', c.account_id)
        .executeTakeFirstOrThrow();
      // The token is marked in the row: whichever attempt sends it, the same link and QR code go out, and the row keeps neither once sent.
      const url = verificationLinkUrl(config.publicUrl, markSecret(token));
      const to = caseContact(account, c.contact);
      if (to.channel === 'sms') {
        await enqueue(trx, {
          key,
          channel: 'sms',
          recipient: to.recipient,
          body: `Verify your identity ${REASON_TEXT[c.reason]}: ${url} (works once; never forward it)`,
        });
        return true;
      }
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: to.recipient,
        subject: c.round > 1 ? 'Please send your identity document again' : 'Verify your identity',
        qr: url,
        body: [
          `Hello ${account.display_name},`,
          '',
          `We need to verify your identity ${REASON_TEXT[c.reason]}.`,
          ...(c.round > 1 && c.resubmission_reason ? ['', `Our support team asks you to send your document again: ${c.resubmission_reason}`] : []),
          '',
          'Open this link on your mobile phone, or scan its QR code, and follow the steps:',
          url,
          `QR code: ${config.publicUrl}/v1/verification/${markSecret(token)}/qr.png`,
          '',
          'You will confirm your mobile number, allow geolocation, photograph your identity card or passport and take a selfie holding it.',
          'The link works once and only for this request. Never forward it.',
        ].join('\n'),
      });
      return true;
    });
    // A case decided (by a manual verification) before its link was issued has no link to send;
    // without this the missing row failed the whole case.
    if (!minted && !(await findByKey(db, key))) return { delivered: false };
    return { delivered: await deliver(key) };
  }

  /** Sends code number `seq` by SMS to the number the API sealed; the number stays sealed as evidence of the case. */
  async function sendVerificationCode(input: { caseId: string; seq: number } & (PhoneSubmission | LegacyPhone)): Promise<void> {
    const { caseId, seq } = input;
    const key = `verification:${caseId}:code:${seq}`;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const minted = await db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('verification_cases')
        .select(['id', 'status', 'round', 'data_key_wrapped', 'phone_code_seq'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
      if (c.status !== 'awaiting_customer') throw ApplicationFailure.nonRetryable('the case is closed', FailureType.CaseClosed);
      if (c.phone_code_seq >= seq) return false;
      const { phone } = (await acceptEvidence(trx, c, 'phone', 'phoneRef' in input ? { ref: input.phoneRef } : { value: { phone: input.phone } })) as {
        phone: string;
      };
      await trx
        .updateTable('verification_cases')
        .set({ phone_code_hash: codeHash(hmacKey, caseId, seq, code), phone_code_seq: seq })
        .where('id', '=', caseId)
        .execute();
      await enqueue(trx, {
        key,
        channel: 'sms',
        recipient: phone,
        body: `Your identity verification code is ${code}. It expires in ${VERIFICATION_CODE_VALIDITY_MS / 60_000} minutes. Never share it.`,
      });
      return true;
    });
    const delivered = await deliver(key);
    if (minted) await redactSecret(db, key, code);
    if (!delivered) throw ApplicationFailure.nonRetryable(`outbox message ${key} cannot be delivered`, FailureType.PermanentDeliveryFailure);
  }

  /** Compares in constant time; a matching code is consumed. */
  async function checkVerificationCode({ caseId, code, seq }: { caseId: string; code: string; seq: number }): Promise<{ matches: boolean }> {
    const c = await caseOrFail(db, caseId);
    if (!c.phone_code_hash || c.phone_code_seq !== seq || !/^\d{6}$/.test(code)) return { matches: false };
    const matches = timingSafeEqual(c.phone_code_hash, codeHash(hmacKey, caseId, seq, code));
    if (matches) await db.updateTable('verification_cases').set({ phone_code_hash: null }).where('id', '=', caseId).where('phone_code_seq', '=', seq).execute();
    return { matches };
  }

  async function recordVerificationGeolocation(input: { caseId: string } & (PositionSubmission | Position)): Promise<void> {
    const { caseId } = input;
    await db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('verification_cases')
        .select(['id', 'status', 'round', 'data_key_wrapped'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
      if (!OPEN_STATUSES.includes(c.status)) throw ApplicationFailure.nonRetryable('the case is closed', FailureType.CaseClosed);
      const { latitude, longitude, accuracyMeters } = input as Partial<Position>;
      await acceptEvidence(trx, c, 'position', 'positionRef' in input ? { ref: input.positionRef } : { value: { latitude, longitude, accuracyMeters } });
    });
  }

  /** Binds uploaded images to the case's current round; they must be this case's, unused, and of the expected kinds in order. */
  async function attachVerificationDocuments({
    caseId,
    round,
    documentIds,
    kinds,
  }: {
    caseId: string;
    round: number;
    documentIds: string[];
    kinds: DocumentKind[];
  }): Promise<void> {
    const rows = await db
      .selectFrom('verification_documents')
      .select(['id', 'kind', 'round', 'attached'])
      .where('case_id', '=', caseId)
      .where('id', 'in', documentIds)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const valid = documentIds.every((id, i) => {
      const row = byId.get(id);
      return row && row.kind === kinds[i] && row.round === round;
    });
    if (!valid || documentIds.length !== kinds.length) throw ApplicationFailure.nonRetryable('documents do not match this step', FailureType.InvalidDocuments);
    await db.updateTable('verification_documents').set({ attached: true }).where('case_id', '=', caseId).where('id', 'in', documentIds).execute();
  }

  /** The case enters the review queue, due 2 business hours from now; the link stops working. */
  async function markVerificationSubmitted({ caseId, round }: { caseId: string; round: number }): Promise<{ dueInMs: number }> {
    const now = clock.now();
    const due = addBusinessHours(now, VERIFICATION_ANSWER_TARGET_BUSINESS_HOURS, verification.calendar);
    await db
      .updateTable('verification_cases')
      .set({ status: 'submitted', submitted_at: now, due_at: due, overdue_at: null, link_token_hash: null })
      .where('id', '=', caseId)
      .where('round', '=', round)
      .where('status', '=', 'awaiting_customer')
      .execute();
    const c = await caseOrFail(db, caseId);
    if (c.status !== 'submitted' || !c.submitted_at || !c.due_at) throw ApplicationFailure.nonRetryable('the case is closed', FailureType.CaseClosed);
    return { dueInMs: Math.max(0, c.due_at.getTime() - c.submitted_at.getTime()) };
  }

  async function recordVerificationDecision(input: { caseId: string; round: number; agentId: string; decision: Decision; reason: string }): Promise<void> {
    const { caseId, round, agentId, decision, reason } = input;
    await db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('verification_cases')
        .select(['status', 'round', 'assigned_agent_id', 'decided_by'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
      // A retry after a commit finds its own decision already there.
      if (decision === 'request_resubmission' ? c.round === round + 1 : c.decided_by === `agent:${agentId}` && c.round === round) return;
      if (c.status !== 'submitted' || c.round !== round) throw ApplicationFailure.nonRetryable('the case is not awaiting review', FailureType.CaseClosed);
      if (c.assigned_agent_id !== agentId) throw ApplicationFailure.nonRetryable('only the agent who claimed the case may decide', FailureType.NotCaseAssignee);
      if (decision === 'request_resubmission') {
        await trx.deleteFrom('verification_documents').where('case_id', '=', caseId).execute();
        await trx
          .updateTable('verification_cases')
          .set({
            status: 'awaiting_customer',
            round: round + 1,
            resubmission_reason: reason,
            assigned_agent_id: null,
            claimed_at: null,
            submitted_at: null,
            due_at: null,
            overdue_at: null,
          })
          .where('id', '=', caseId)
          .execute();
      } else {
        await trx
          .updateTable('verification_cases')
          .set({ status: decision === 'approve' ? 'approved' : 'rejected', decided_at: clock.now(), decided_by: `agent:${agentId}`, decision_reason: reason })
          .where('id', '=', caseId)
          .execute();
        await eraseEvidence(trx, caseId);
      }
      await audit(trx, {
        actor_type: 'agent',
        actor_id: agentId,
        action: 'verification.decided',
        subject_type: 'verification_case',
        subject_id: caseId,
        decision: null,
        details: { decision, reason, round },
      });
    });
  }

  async function recordManualVerification(input: { caseId: string; agentId: string; decision: 'approve' | 'reject'; reason: string }): Promise<void> {
    const { caseId, agentId, decision, reason } = input;
    await db.transaction().execute(async (trx) => {
      const c = await trx
        .selectFrom('verification_cases')
        .select(['status', 'assigned_agent_id', 'decided_by', 'manual'])
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw ApplicationFailure.nonRetryable(`verification case ${caseId} not found`, FailureType.NotFound);
      if (c.manual && c.decided_by === `agent:${agentId}`) return;
      if (!OPEN_STATUSES.includes(c.status)) throw ApplicationFailure.nonRetryable('the case is closed', FailureType.CaseClosed);
      if (c.assigned_agent_id && c.assigned_agent_id !== agentId)
        throw ApplicationFailure.nonRetryable('another agent has claimed the case', FailureType.NotCaseAssignee);
      const now = clock.now();
      await trx
        .updateTable('verification_cases')
        .set({
          status: decision === 'approve' ? 'approved' : 'rejected',
          manual: true,
          assigned_agent_id: agentId,
          claimed_at: now,
          decided_at: now,
          decided_by: `agent:${agentId}`,
          decision_reason: reason,
        })
        .where('id', '=', caseId)
        .execute();
      await eraseEvidence(trx, caseId);
      await audit(trx, {
        actor_type: 'agent',
        actor_id: agentId,
        action: 'verification.manual_decided',
        subject_type: 'verification_case',
        subject_id: caseId,
        decision: null,
        details: { decision, reason },
      });
    });
  }

  /** Ends an open case without a decision and erases its evidence (72-hour rule, abandonment, cancellation). */
  async function expireVerificationCase({ caseId, status }: { caseId: string; status: 'expired' | 'cancelled' }): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const ended = await trx
        .updateTable('verification_cases')
        .set({ status, decided_at: clock.now(), decided_by: `system:${status}`, assigned_agent_id: null, claimed_at: null })
        .where('id', '=', caseId)
        .where('status', 'in', OPEN_STATUSES)
        .returning('id')
        .executeTakeFirst();
      await eraseEvidence(trx, caseId);
      if (ended)
        await audit(trx, {
          actor_type: 'system',
          actor_id: status,
          action: `verification.${status}`,
          subject_type: 'verification_case',
          subject_id: caseId,
          decision: null,
          details: {},
        });
    });
  }

  /** Marks the case overdue and emails the supervisors, once per submission. */
  async function escalateOverdueVerification({ caseId, round }: { caseId: string; round: number }): Promise<void> {
    const key = `verification:${caseId}:overdue:${round}`;
    const c = await caseOrFail(db, caseId);
    if (c.status !== 'submitted' || c.round !== round) return;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('verification_cases').set({ overdue_at: clock.now() }).where('id', '=', caseId).where('overdue_at', 'is', null).execute();
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient: verification.supervisorsEmail,
        subject: `Verification case overdue (${c.reason})`,
        body: [
          `Verification case ${caseId} was due at ${c.due_at?.toISOString() ?? 'n/a'} and is still waiting for a decision.`,
          c.assigned_agent_id ? `It is claimed by agent ${c.assigned_agent_id}.` : 'No agent has claimed it.',
          `What the customer sent is deleted ${VERIFICATION_DOCUMENTS_PURGE_MS / 3_600_000} hours after their first step of this round if nobody decides.`,
        ].join('\n'),
      });
    });
    await deliver(key);
  }

  async function notifyCustomer(
    caseId: string,
    key: string,
    message: (c: VerificationCase, name: string) => { subject: string; body: string[] },
  ): Promise<void> {
    const c = await caseOrFail(db, caseId);
    const account = await db
      .selectFrom('accounts')
      .select(['login_email', 'display_name', 'recovery_email', 'mobile_phone'])
      .where('id', '=', c.account_id)
      .executeTakeFirst();
    if (!account) return;
    const { subject, body } = message(c, account.display_name);
    const to = caseContact(account, c.contact);
    await enqueue(
      db,
      to.channel === 'sms'
        ? { key, channel: 'sms', recipient: to.recipient, body: subject }
        : { key, channel: 'email', recipient: to.recipient, subject, body: body.join('\n') },
    );
    await deliver(key);
  }

  async function notifyVerificationExpired({ caseId }: { caseId: string }): Promise<void> {
    await notifyCustomer(caseId, `verification:${caseId}:expired`, (c, name) => ({
      subject: 'Your identity verification has expired',
      body: [
        `Hello ${name},`,
        '',
        `Your identity verification ${REASON_TEXT[c.reason]} could not be completed in time, and everything you sent us has been deleted.`,
        'Please start the procedure again from your Manager or ask our support team for a new link.',
      ],
    }));
  }

  async function notifyVerificationDecided({ caseId }: { caseId: string }): Promise<void> {
    await notifyCustomer(caseId, `verification:${caseId}:decided`, (c, name) => ({
      subject: c.status === 'approved' ? 'Your identity has been verified' : 'Your identity verification was declined',
      body: [
        `Hello ${name},`,
        '',
        c.status === 'approved'
          ? `Your identity verification ${REASON_TEXT[c.reason]} was approved.`
          : `Your identity verification ${REASON_TEXT[c.reason]} was declined. Our support team can tell you why.`,
        'The documents you sent have been deleted.',
      ],
    }));
  }

  return {
    openVerificationCase,
    issueVerificationLink,
    sendVerificationCode,
    checkVerificationCode,
    recordVerificationGeolocation,
    attachVerificationDocuments,
    markVerificationSubmitted,
    recordVerificationDecision,
    recordManualVerification,
    expireVerificationCase,
    escalateOverdueVerification,
    notifyVerificationExpired,
    notifyVerificationDecided,
  };
}

function splitActor(actor: string): ['customer' | 'agent' | 'system', string] {
  const [type, ...rest] = actor.split(':');
  const id = rest.join(':') || actor;
  return type === 'agent' || type === 'customer' ? [type, id] : ['system', id];
}
