/**
 * P2 identity verification: the rules behind the routes (api/routes/verification.ts) and the pages
 * (api/pages/verification.ts).
 * - The customer's steps are opened by the link token from the email (customers verifying a
 *   forgotten password have no session). Each step is a workflow update, so the answer is the
 *   workflow's own verdict. Images, the phone number and the position are sealed into PostgreSQL
 *   under the case key first, and only their ids reach the workflow (issue 14, item 6); what the
 *   workflow refuses is deleted again (the compensation), what it accepts its activity attaches.
 * - Agents work the review queue. Claims are single SQL statements; decisions go through the
 *   workflow, which records them and erases the evidence. Opening, claiming, releasing, viewing a
 *   document and reissuing a link are audited here.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { activeAgent, activeAgentsWithLoad } from '../../db/repositories/agents';
import { audit } from '../../db/repositories/audit';
import {
  accountExists,
  caseContext,
  claimCase,
  deleteCase,
  deleteUnattachedDocuments,
  deleteUnattachedEvidence,
  findCase,
  findCaseByLinkToken,
  findSealedDocument,
  insertCase,
  insertDocuments,
  insertEvidence,
  listCases,
  listDocuments,
  OPEN_STATUSES,
  reassignCase,
  releaseCase,
  type DocumentMeta,
  type VerificationCase,
} from '../../db/repositories/verification';
import { newCaseKey, openDocument, sealDocument, sealEvidence, unwrapCaseKey } from '../../lib/documentCrypto';
import { decodeBase64Image } from '../../lib/images';
import { maskEmail } from '../../lib/mask';
import { qrPng } from '../../lib/qr';
import { describePeriod, VERIFICATION_CODE_SEND_WINDOW_MS, VERIFICATION_CODE_SENDS_PER_HOUR } from '../../lib/rules';
import type { Keyring } from '../../temporal/codec';
import { FailureType } from '../../workflows/shared/failures';
import {
  confirmCodeUpdate,
  decideUpdate,
  DOCUMENT_KINDS_BY_TYPE,
  documentUpdate,
  DOCUMENTS_REQUIRED_REASONS,
  geolocationUpdate,
  manualVerificationUpdate,
  reissueLinkUpdate,
  selfieUpdate,
  statusQuery,
  submitPhoneUpdate,
  verificationWorkflowId,
  type Decision,
  type DocumentKind,
  type DocumentType,
  type VerificationInput,
  type VerificationReason,
  type VerificationStatus,
  type VerificationStep,
} from '../../workflows/shared/verification';
import type { Principal } from '../auth';
import { notFound, Problem } from '../problems';
import { asProcessProblem, startProcess, updateProcess, type Refusals } from './processes';

export interface VerificationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  keyring: Keyring;
  publicUrl: string;
}

/** Where the customer stands, as the link's pages and routes show it. */
export interface VerificationProgress {
  reason: VerificationReason;
  step: VerificationStep;
  round: number;
  resubmissionReason: string | null;
  codeAttemptsLeft: number | null;
  smsSendsLeft: number;
}

/** A case as agents see it in the queue. */
export interface VerificationCaseView {
  id: string;
  accountId: string;
  reason: VerificationReason;
  subject: { type: string; id: string } | null;
  status: VerificationCase['status'];
  step: string;
  round: number;
  openedAt: string;
  submittedAt: string | null;
  dueAt: string | null;
  overdue: boolean;
  assigneeId: string | null;
  claimedAt: string | null;
  resubmissionReason: string | null;
  manual: boolean;
  decidedAt: string | null;
  decidedBy: string | null;
  documents: { id: string; kind: DocumentKind; mediaType: string; sizeBytes: number }[];
}

/** What the agent compares the documents with (issue 18, item 2); the login masked, as the desk needs no more. */
export interface VerificationCaseContext {
  /** `country`: ISO 3166-1 alpha-2, null when the account never gave it. */
  holder: { name: string | null; loginEmail: string | null; country: string | null };
  order: { id: string; currency: string; totalCents: number; lines: { description: string; quantity: number; unitPriceCents: number }[] } | null;
  earlierCases: { id: string; reason: string; status: string; openedAt: string; decidedAt: string | null }[];
  /** Approved only on reviewed documents, never by a manual verification (four eyes, issue 14). */
  documentsRequired: boolean;
}

/** The workflow's refusals of a step or a decision, as the caller's problems; anything else is ours (500/503). */
const REFUSALS: Refusals = {
  closed: new Problem('verification-closed', 'The verification case has ended'),
  byType: {
    [FailureType.StepOutOfOrder]: (message) => new Problem('verification-step-out-of-order', message),
    [FailureType.InvalidDocuments]: () => new Problem('verification-step-out-of-order', 'These images do not belong to this step'),
    [FailureType.StepInProgress]: () => new Problem('verification-busy'),
    [FailureType.CaseClosed]: () => new Problem('verification-closed'),
    [FailureType.SmsLimitReached]: () =>
      new Problem('sms-limit-reached', `At most ${VERIFICATION_CODE_SENDS_PER_HOUR} confirmation SMS per ${describePeriod(VERIFICATION_CODE_SEND_WINDOW_MS)}`),
    [FailureType.PermanentDeliveryFailure]: () => new Problem('phone-undeliverable', 'Check the number, or use another one', { pointer: '/phone' }),
    [FailureType.NotCaseAssignee]: () => new Problem('not-case-assignee'),
    [FailureType.ManualApprovalRefused]: () =>
      new Problem(
        'documents-required',
        'Let the customer send the document and the selfie, then claim the case and decide on them; a manual verification may only reject it',
      ),
  },
};

function progressOf(c: VerificationCase, s: VerificationStatus): VerificationProgress {
  return {
    reason: c.reason,
    step: s.step,
    round: s.round,
    resubmissionReason: c.resubmission_reason,
    codeAttemptsLeft: s.codeAttemptsLeft,
    smsSendsLeft: s.smsSendsLeft,
  };
}

function caseView(c: VerificationCase, docs: DocumentMeta[], now: Date, step?: string): VerificationCaseView {
  const closed = !OPEN_STATUSES.includes(c.status);
  return {
    id: c.id,
    accountId: c.account_id,
    reason: c.reason,
    subject: c.subject_type && c.subject_id ? { type: c.subject_type, id: c.subject_id } : null,
    status: c.status,
    step: step ?? (closed ? 'closed' : c.status === 'submitted' ? 'review' : 'customer'),
    round: c.round,
    openedAt: c.opened_at.toISOString(),
    submittedAt: c.submitted_at?.toISOString() ?? null,
    dueAt: c.due_at?.toISOString() ?? null,
    // Overdue once the answer target has passed, even before the workflow's timer has marked it.
    overdue: c.status === 'submitted' && (c.overdue_at !== null || (c.due_at !== null && c.due_at <= now)),
    assigneeId: c.assigned_agent_id,
    claimedAt: c.claimed_at?.toISOString() ?? null,
    resubmissionReason: c.resubmission_reason,
    manual: c.manual,
    decidedAt: c.decided_at?.toISOString() ?? null,
    decidedBy: c.decided_by,
    documents: docs.filter((d) => d.case_id === c.id).map((d) => ({ id: d.id, kind: d.kind, mediaType: d.media_type, sizeBytes: d.size_bytes })),
  };
}

const CODE_REJECTED: Record<'wrong' | 'expired' | 'too_many_attempts', (s: VerificationStatus) => string> = {
  wrong: (s) => `Wrong code; ${s.codeAttemptsLeft} attempts left`,
  expired: () => 'The code has expired; ask for a new one',
  too_many_attempts: () => 'Too many wrong codes; give your mobile number again',
};

export function verificationService({ client, db, taskQueue, clock, keyring, publicUrl }: VerificationDeps) {
  const handle = (caseId: string) => client.workflow.getHandle(verificationWorkflowId(caseId));
  const status = (caseId: string) =>
    handle(caseId)
      .query(statusQuery)
      .catch((err: unknown) => Promise.reject(asProcessProblem(err, REFUSALS)));

  /** The case a link opens while it awaits the customer; otherwise `verification-link-invalid`. */
  async function caseForLink(token: string): Promise<VerificationCase> {
    const found = await findCaseByLinkToken(db, token);
    if (!found) throw new Problem('verification-link-invalid');
    return found;
  }

  /** The step the workflow expects now must be `step`, before any image is read. */
  async function expectStep(c: VerificationCase, step: VerificationStep): Promise<void> {
    const current = await status(c.id);
    if (current.step !== step) throw new Problem('verification-step-out-of-order', `expected step ${current.step}`);
  }

  /** Seals images under the case key; returns their ids, to hand to the workflow. */
  async function storeImages(c: VerificationCase, images: { kind: DocumentKind; b64: string; pointer: string }[]): Promise<string[]> {
    if (!c.data_key_wrapped) throw new Problem('verification-closed');
    const decoded = images.map((img) => {
      const result = decodeBase64Image(img.b64);
      if (!result.ok) throw new Problem('invalid-image', `Image rejected: ${result.reason.replaceAll('_', ' ')}`, { pointer: img.pointer });
      return { ...img, ...result };
    });
    const key = unwrapCaseKey(keyring, c.data_key_wrapped);
    const rows = decoded.map((img) => {
      const id = randomUUID();
      return {
        id,
        case_id: c.id,
        round: c.round,
        kind: img.kind,
        media_type: img.mediaType,
        size_bytes: img.bytes.length,
        sealed: sealDocument(key, img.bytes, `${c.id}:${id}`),
      };
    });
    await insertDocuments(db, rows);
    return rows.map((r) => r.id);
  }

  /**
   * Hands the workflow sealed images through `update`. Whatever goes wrong, images not attached by
   * then are deleted: an accepted step has attached them already.
   */
  async function withImages(c: VerificationCase, ids: string[], update: () => Promise<VerificationStatus>): Promise<VerificationProgress> {
    try {
      return progressOf(c, await update());
    } catch (err) {
      await deleteUnattachedDocuments(db, c.id, ids);
      throw asProcessProblem(err, REFUSALS);
    }
  }

  /**
   * Seals a phone number or a position under the case key and hands the workflow its id through
   * `update`. A refused step leaves no row behind; an accepted one is attached by the activity. An
   * update left without an answer may still run, so its row stays (erased with the case).
   */
  async function withSealedEvidence(
    c: VerificationCase,
    kind: 'phone' | 'position',
    value: unknown,
    update: (ref: string) => Promise<VerificationStatus>,
  ): Promise<VerificationProgress> {
    if (!c.data_key_wrapped) throw new Problem('verification-closed');
    const id = randomUUID();
    await insertEvidence(db, { id, case_id: c.id, round: c.round, kind, sealed: sealEvidence(unwrapCaseKey(keyring, c.data_key_wrapped), value, c.id, id) });
    try {
      return progressOf(c, await update(id));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) await deleteUnattachedEvidence(db, c.id, id);
      throw asProcessProblem(err, REFUSALS);
    }
  }

  const caseOr404 = async (id: string) => (await findCase(db, id)) ?? Promise.reject(notFound('verification case'));
  const viewOf = async (c: VerificationCase, step?: string) => caseView(c, await listDocuments(db, [c.id]), clock.now(), step);
  const caseAudit = (
    actor: { role: Principal['role']; sub: string },
    action: string,
    caseId: string,
    extra: { decision?: 'allowed' | 'denied'; details?: Record<string, unknown> } = {},
  ) =>
    audit(db, {
      actor_type: actor.role,
      actor_id: actor.sub,
      action,
      subject_type: 'verification_case',
      subject_id: caseId,
      decision: extra.decision ?? null,
      details: extra.details ?? {},
    });

  return {
    // --- The customer's link ---

    /** Checks that a link opens a case awaiting the customer (before a large body is read). */
    async checkLink(token: string): Promise<void> {
      await caseForLink(token);
    },

    /** Where the customer stands in the steps. */
    async progress(token: string): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      return progressOf(c, await status(c.id));
    },

    /** The link as a QR code (PNG) opening the steps' page, to scan with the phone. */
    async linkQrCode(token: string): Promise<Buffer> {
      await caseForLink(token);
      return qrPng(`${publicUrl}/verify/${token}`);
    },

    /** Step 1: the mobile number, sealed; the workflow sends the code by SMS. */
    async submitPhone(token: string, phone: string): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      return withSealedEvidence(c, 'phone', { phone }, (phoneRef) => handle(c.id).executeUpdate(submitPhoneUpdate, { args: [{ phoneRef }] }));
    },

    /** Step 2: the code received by SMS; a code not accepted is `verification-code-rejected` with the result and the progress. */
    async confirmCode(token: string, code: string): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      const r = await updateProcess(handle(c.id), confirmCodeUpdate, [{ code }], REFUSALS);
      if (r.result === 'confirmed') return progressOf(c, r.status);
      throw new Problem('verification-code-rejected', CODE_REJECTED[r.result](r.status), { result: r.result, progress: progressOf(c, r.status) });
    },

    /** Step 3: the position of the device, sealed. */
    async submitPosition(token: string, position: { latitude: number; longitude: number; accuracyMeters: number }): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      return withSealedEvidence(c, 'position', position, (positionRef) => handle(c.id).executeUpdate(geolocationUpdate, { args: [{ positionRef }] }));
    },

    /** Step 4: the identity document's images (base64), sealed, in the order of DOCUMENT_KINDS_BY_TYPE[type]. */
    async submitDocument(token: string, type: DocumentType, images: string[]): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      await expectStep(c, 'document');
      const kinds = DOCUMENT_KINDS_BY_TYPE[type];
      const ids = await storeImages(
        c,
        images.map((b64, i) => ({ kind: kinds[i]!, b64, pointer: `/images/${i}` })),
      );
      return withImages(c, ids, () => handle(c.id).executeUpdate(documentUpdate, { args: [{ type, documentIds: ids }] }));
    },

    /** Step 5: the selfie (base64), sealed; the case is then submitted for review and the link stops working. */
    async submitSelfie(token: string, image: string): Promise<VerificationProgress> {
      const c = await caseForLink(token);
      await expectStep(c, 'selfie');
      const ids = await storeImages(c, [{ kind: 'selfie', b64: image, pointer: '/image' }]);
      return withImages(c, ids, () => handle(c.id).executeUpdate(selfieUpdate, { args: [{ documentId: ids[0]! }] }));
    },

    // --- Agents ---

    /** Opens a case for an account and starts its workflow, which emails the link; nothing stays when it cannot start. */
    async open(
      principal: Principal,
      input: { accountId: string; reason: VerificationReason; subject: { type: string; id: string } | null },
    ): Promise<VerificationCaseView> {
      if (!(await accountExists(db, input.accountId))) throw new Problem('unprocessable', 'No such account', { pointer: '/accountId' });
      const id = randomUUID();
      const openedBy = `${principal.role}:${principal.sub}`;
      await insertCase(db, {
        id,
        accountId: input.accountId,
        reason: input.reason,
        subject: input.subject,
        openedBy,
        openedAt: clock.now(),
        dataKeyWrapped: newCaseKey(keyring).wrapped,
      });
      const notOpened = async (cause: string) => {
        await deleteCase(db, id);
        return new Problem('unavailable', 'Could not open the case; nothing was opened', { cause });
      };
      // A new id every time: 'refuse' (never twice), and a taken id fails like any other start.
      let started: boolean;
      try {
        started = await startProcess(
          { client, taskQueue },
          'verificationCase',
          verificationWorkflowId(id),
          { accountId: input.accountId, reason: input.reason, subject: input.subject, openedBy } satisfies VerificationInput,
          { policy: 'refuse' },
        );
      } catch (err) {
        throw await notOpened((err as Error).name);
      }
      if (!started) throw await notOpened('WorkflowExecutionAlreadyStartedError');
      await caseAudit(principal, 'verification.opened', id, { details: { reason: input.reason } });
      return viewOf(await caseOr404(id));
    },

    /** The review queue, most urgent first (due time). */
    async queue(filter: {
      status?: VerificationCase['status'];
      assignee?: { agentId: string } | 'unassigned';
      overdue?: boolean;
      limit: number;
    }): Promise<VerificationCaseView[]> {
      const { overdue, ...rest } = filter;
      const cases = await listCases(db, { ...rest, ...(overdue ? { overdueAt: clock.now() } : {}) });
      const docs = await listDocuments(
        db,
        cases.map((c) => c.id),
      );
      const now = clock.now();
      return cases.map((c) => caseView(c, docs, now));
    },

    /** One case, with the customer's current step while it awaits them, and what the agent compares the documents with. */
    async caseWithContext(id: string): Promise<VerificationCaseView & { context: VerificationCaseContext }> {
      const c = await caseOr404(id);
      let step: string | undefined;
      if (c.status === 'awaiting_customer')
        step = (
          await handle(c.id)
            .query(statusQuery)
            .catch(() => undefined)
        )?.step;
      const ctx = await caseContext(db, c);
      const context: VerificationCaseContext = {
        holder: {
          name: ctx.holder?.display_name ?? null,
          loginEmail: ctx.holder ? maskEmail(ctx.holder.login_email) : null,
          country: ctx.holder?.country ?? null,
        },
        order: ctx.order
          ? {
              id: ctx.order.id,
              currency: ctx.order.currency,
              totalCents: ctx.order.total_cents,
              lines: ctx.order.lines.map((l) => ({ description: l.description, quantity: l.quantity, unitPriceCents: l.unit_price_cents })),
            }
          : null,
        earlierCases: ctx.earlier.map((e) => ({
          id: e.id,
          reason: e.reason,
          status: e.status,
          openedAt: e.opened_at.toISOString(),
          decidedAt: e.decided_at?.toISOString() ?? null,
        })),
        documentsRequired: DOCUMENTS_REQUIRED_REASONS.includes(c.reason),
      };
      return { ...(await viewOf(c, step)), context };
    },

    /** Claims a submitted case for review; of two agents claiming at once, one wins. */
    async claim(agentId: string, id: string): Promise<VerificationCaseView> {
      const claimed = await claimCase(db, id, agentId, clock.now());
      if (!claimed) {
        const c = await caseOr404(id);
        if (c.status !== 'submitted') throw new Problem('verification-closed', `The case is ${c.status.replaceAll('_', ' ')}`);
        throw new Problem('case-already-claimed');
      }
      await caseAudit({ role: 'agent', sub: agentId }, 'verification.claimed', id);
      return viewOf(claimed);
    },

    /**
     * A supervisor gives a submitted case to another active agent, or back to the queue (null):
     * an overdue case held by someone absent moves on (issue 18, item 2). Audited with both agents.
     */
    async reassign(supervisorId: string, id: string, toAgentId: string | null): Promise<VerificationCaseView> {
      const supervisor = await activeAgent(db, supervisorId);
      if (!supervisor?.supervisor) throw new Problem('supervisor-required', 'Ask a supervisor to reassign a case');
      if (toAgentId && !(await activeAgent(db, toAgentId))) throw new Problem('unprocessable', 'No active agent has this id');
      const before = await caseOr404(id);
      const moved = await reassignCase(db, id, toAgentId, clock.now());
      if (!moved) throw new Problem('verification-closed', `The case is ${before.status.replaceAll('_', ' ')}`);
      await caseAudit({ role: 'agent', sub: supervisorId }, 'verification.reassigned', id, {
        details: { from: before.assigned_agent_id, to: toAgentId },
      });
      return viewOf(moved);
    },

    /** The agent as the desk needs it: a supervisor also gets the agents a case can go to. */
    async agentProfile(agentId: string) {
      const me = await activeAgent(db, agentId);
      if (!me) throw new Problem('unauthenticated', 'This agent is deactivated');
      return { ...me, agents: me.supervisor ? await activeAgentsWithLoad(db) : undefined };
    },

    /** Releases the agent's own claim so another agent can take the case. */
    async release(agentId: string, id: string): Promise<VerificationCaseView> {
      const released = await releaseCase(db, id, agentId);
      if (!released) {
        await caseOr404(id);
        throw new Problem('not-case-assignee');
      }
      await caseAudit({ role: 'agent', sub: agentId }, 'verification.released', id);
      return viewOf(released);
    },

    /** A document image, opened only for the agent who claimed the case while it is under review; every attempt is audited. */
    async openDocument(agentId: string, caseId: string, documentId: string): Promise<{ mediaType: string; data: Buffer }> {
      const c = await caseOr404(caseId);
      const allowed = c.status === 'submitted' && c.assigned_agent_id === agentId;
      await caseAudit({ role: 'agent', sub: agentId }, 'verification.document_viewed', c.id, {
        decision: allowed ? 'allowed' : 'denied',
        details: { documentId },
      });
      if (!allowed) throw new Problem('not-case-assignee', 'Claim the case to see its documents; they are shown only while it is under review');
      const doc = await findSealedDocument(db, c.id, documentId);
      if (!doc || !c.data_key_wrapped) throw notFound('document');
      return { mediaType: doc.media_type, data: openDocument(unwrapCaseKey(keyring, c.data_key_wrapped), doc.sealed, `${c.id}:${doc.id}`) };
    },

    /** The assignee approves, rejects, or asks for the document again; the workflow records it (and audits). */
    async decide(agentId: string, id: string, decision: Decision, reason: string): Promise<VerificationCaseView> {
      const c = await caseOr404(id);
      if (c.status !== 'submitted') throw new Problem('verification-closed', `The case is ${c.status.replaceAll('_', ' ')}`);
      if (c.assigned_agent_id !== agentId) throw new Problem('not-case-assignee');
      await updateProcess(handle(c.id), decideUpdate, [{ agentId, decision, reason }], REFUSALS);
      return viewOf(await caseOr404(c.id));
    },

    /** Identity checked by other means; the workflow refuses to approve a case that requires documents. */
    async manualVerification(agentId: string, id: string, decision: 'approve' | 'reject', reason: string): Promise<VerificationCaseView> {
      const c = await caseOr404(id);
      if (c.assigned_agent_id && c.assigned_agent_id !== agentId) throw new Problem('not-case-assignee', 'Another agent has claimed this case');
      await updateProcess(handle(c.id), manualVerificationUpdate, [{ agentId, decision, reason }], REFUSALS);
      return viewOf(await caseOr404(c.id));
    },

    /** Sends the customer a new link; the previous one stops working. */
    async reissueLink(principal: Principal, id: string): Promise<VerificationCaseView> {
      const c = await caseOr404(id);
      const s = await updateProcess(handle(c.id), reissueLinkUpdate, [{ actor: `${principal.role}:${principal.sub}` }], REFUSALS);
      await caseAudit(principal, 'verification.link_reissued', c.id);
      return viewOf(await caseOr404(c.id), s.step);
    },
  };
}
