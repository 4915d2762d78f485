/**
 * P2 identity verification over HTTP.
 * - The customer's steps live under /v1/verification/:token: the link token from the email is the
 *   credential (customers verifying a forgotten password have no session). Each step is a workflow
 *   update, so the answer is the workflow's own verdict; images, the phone number and the position
 *   are sealed into PostgreSQL here and only their ids reach the workflow (issue 14, item 6).
 * - Agents work the review queue under /v1/verification-cases. Claims are single SQL statements;
 *   decisions go through the workflow, which records them and erases the evidence.
 */
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import {
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
  releaseCase,
  type DocumentMeta,
  type VerificationCase,
  caseContext,
} from '../../db/repositories/verification';
import { newCaseKey, openDocument, sealDocument, sealEvidence, unwrapCaseKey } from '../../lib/documentCrypto';
import { decodeBase64Image } from '../../lib/images';
import { maskEmail } from '../../lib/mask';
import { qrPng } from '../../lib/qr';
import type { Keyring } from '../../temporal/codec';
import { FailureType } from '../../workflows/shared/failures';
import {
  confirmCodeUpdate,
  decideUpdate,
  DOCUMENT_KINDS,
  DOCUMENT_KINDS_BY_TYPE,
  documentUpdate,
  geolocationUpdate,
  manualVerificationUpdate,
  reissueLinkUpdate,
  selfieUpdate,
  statusQuery,
  submitPhoneUpdate,
  VERIFICATION_CASE_STATUSES,
  VERIFICATION_REASONS,
  verificationWorkflowId,
  type VerificationInput,
  type VerificationStatus,
  DOCUMENTS_REQUIRED_REASONS,
} from '../../workflows/shared/verification';
import type { Principal } from '../auth';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

export interface VerificationDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
  keyring: Keyring;
  publicUrl: string;
}

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const uuid = z.uuid();
// 32 random bytes, base64url: anything else cannot be a link we issued.
const tokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a verification link token') });
const caseParams = z.object({ id: uuid });
const reasonText = z.string().trim().min(1).max(500);

const customerView = z
  .object({
    reason: z.enum(VERIFICATION_REASONS),
    step: z.enum(['phone', 'phone_confirm', 'geolocation', 'document', 'selfie', 'review', 'closed']),
    round: z.number().int(),
    resubmissionReason: z.string().nullable(),
    codeAttemptsLeft: z.number().int().nullable(),
    smsSendsLeft: z.number().int(),
  })
  .meta({ id: 'VerificationProgress' });

const caseSchema = z
  .object({
    id: z.uuid(),
    accountId: z.uuid(),
    reason: z.enum(VERIFICATION_REASONS),
    subject: z.object({ type: z.string(), id: z.string() }).nullable(),
    status: z.enum(VERIFICATION_CASE_STATUSES),
    step: z.string(),
    round: z.number().int(),
    openedAt: z.iso.datetime(),
    submittedAt: z.iso.datetime().nullable(),
    dueAt: z.iso.datetime().nullable(),
    overdue: z.boolean(),
    assigneeId: z.uuid().nullable(),
    claimedAt: z.iso.datetime().nullable(),
    resubmissionReason: z.string().nullable(),
    manual: z.boolean(),
    decidedAt: z.iso.datetime().nullable(),
    decidedBy: z.string().nullable(),
    documents: z.array(z.object({ id: z.uuid(), kind: z.enum(DOCUMENT_KINDS), mediaType: z.string(), sizeBytes: z.number().int() })),
  })
  .meta({ id: 'VerificationCase' });

const caseWithContext = caseSchema
  .extend({
    context: z.object({
      holder: z.object({ name: z.string().nullable(), loginEmail: z.string().nullable() }),
      order: z
        .object({
          id: z.uuid(),
          currency: z.string(),
          totalCents: z.number().int(),
          lines: z.array(z.object({ description: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() })),
        })
        .nullable(),
      earlierCases: z.array(
        z.object({ id: z.uuid(), reason: z.string(), status: z.string(), openedAt: z.iso.datetime(), decidedAt: z.iso.datetime().nullable() }),
      ),
      /** Approved only on reviewed documents, never by a manual verification (four eyes, issue 14). */
      documentsRequired: z.boolean(),
    }),
  })
  .meta({ id: 'VerificationCaseWithContext' });

function present(c: VerificationCase, docs: DocumentMeta[], now: Date, step?: string): z.infer<typeof caseSchema> {
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

/** The ApplicationFailure type at the bottom of an update's failure, if any. */
function failureTypeOf(err: unknown): string | undefined {
  let cause: unknown = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  while (cause instanceof ActivityFailure) cause = cause.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** Maps the workflow's refusals to problems; anything else is ours (500/503). */
function asProblem(err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError) return new Problem('verification-closed', 'The verification case has ended');
  switch (failureTypeOf(err)) {
    case FailureType.StepOutOfOrder:
      return new Problem('verification-step-out-of-order', (err as WorkflowUpdateFailedError).cause?.message);
    case FailureType.InvalidDocuments:
      return new Problem('verification-step-out-of-order', 'These images do not belong to this step');
    case FailureType.StepInProgress:
      return new Problem('verification-busy');
    case FailureType.CaseClosed:
      return new Problem('verification-closed');
    case FailureType.SmsLimitReached:
      return new Problem('sms-limit-reached', 'At most 3 confirmation SMS per hour');
    case FailureType.PermanentDeliveryFailure:
      return new Problem('phone-undeliverable', 'Check the number, or use another one', { pointer: '/phone' });
    case FailureType.NotCaseAssignee:
      return new Problem('not-case-assignee');
    case FailureType.ManualApprovalRefused:
      return new Problem(
        'documents-required',
        'Let the customer send the document and the selfie, then claim the case and decide on them; a manual verification may only reject it',
      );
    default:
      return err;
  }
}

export function verificationRoutes({ client, db, taskQueue, clock, keyring, publicUrl }: VerificationDeps): AnyRoute[] {
  const handle = (caseId: string) => client.workflow.getHandle(verificationWorkflowId(caseId));
  const caseForLink = async (token: string) => {
    const found = await findCaseByLinkToken(db, token);
    if (!found) throw new Problem('verification-link-invalid');
    return found;
  };
  // Up to two 10 MB images in base64: read only for a link that opens a case awaiting the customer.
  const imageBody = { limit: '28mb', admit: async ({ token }: { token: string }) => void (await caseForLink(token)) };
  const view = (c: VerificationCase, s: VerificationStatus) => ({
    reason: c.reason,
    step: s.step,
    round: s.round,
    resubmissionReason: c.resubmission_reason,
    codeAttemptsLeft: s.codeAttemptsLeft,
    smsSendsLeft: s.smsSendsLeft,
  });
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw asProblem(err);
    }
  };
  const linkResponses = (extra: Record<number, { description: string; schema?: z.ZodType }> = {}) => ({
    200: { description: 'The step was accepted; the progress that follows', schema: customerView },
    404: { description: 'The link is unknown, replaced, used up or its case has ended', schema: problem },
    409: { description: 'Not the step expected now (out of order or repeated)', schema: problem },
    ...extra,
  });

  /** Seals images under the case key; returns their ids, to hand to the workflow. */
  async function storeImages(c: VerificationCase, images: { kind: (typeof DOCUMENT_KINDS)[number]; b64: string; pointer: string }[]): Promise<string[]> {
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
   * Seals a phone number or a position under the case key and hands the workflow its id through
   * `update`. A refused step leaves no row behind; an accepted one is attached by the activity. An
   * update left without an answer may still run, so its row stays (erased with the case).
   */
  async function withSealedEvidence<T>(c: VerificationCase, kind: 'phone' | 'position', value: unknown, update: (ref: string) => Promise<T>): Promise<T> {
    if (!c.data_key_wrapped) throw new Problem('verification-closed');
    const id = randomUUID();
    await insertEvidence(db, { id, case_id: c.id, round: c.round, kind, sealed: sealEvidence(unwrapCaseKey(keyring, c.data_key_wrapped), value, c.id, id) });
    try {
      return await update(id);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) await deleteUnattachedEvidence(db, c.id, id);
      throw asProblem(err);
    }
  }

  const linkRoutes: AnyRoute[] = [
    defineRoute({
      method: 'get',
      path: '/v1/verification/:token',
      tag: 'Verification (customer link)',
      summary: 'Where the customer stands in the verification steps',
      roles: [],
      params: tokenParams,
      responses: linkResponses(),
      async handler({ params }) {
        const c = await caseForLink(params.token);
        const s = await run(() => handle(c.id).query(statusQuery));
        return { status: 200, body: view(c, s), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/verification/:token/qr.png',
      tag: 'Verification (customer link)',
      summary: 'The verification link as a QR code, to scan with the phone',
      roles: [],
      params: tokenParams,
      responses: { 200: { description: 'PNG image', mediaType: 'image/png' }, 404: { description: 'Unknown or unusable link', schema: problem } },
      async handler({ params }) {
        await caseForLink(params.token);
        // The QR code opens the page of the steps on the phone, as the email link does.
        const data = await qrPng(`${publicUrl}/verify/${params.token}`);
        return { status: 200, raw: { contentType: 'image/png', data }, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/phone',
      tag: 'Verification (customer link)',
      summary: 'Step 1: give a mobile number; a 6-digit code is sent by SMS (valid 10 minutes, at most 3 per hour)',
      roles: [],
      params: tokenParams,
      body: z.strictObject({ phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +41791234567') }),
      responses: linkResponses({
        422: { description: 'The number cannot receive SMS', schema: problem },
        429: { description: 'SMS limit of the hour reached', schema: problem },
      }),
      async handler({ params, body }) {
        const c = await caseForLink(params.token);
        const s = await withSealedEvidence(c, 'phone', { phone: body.phone }, (phoneRef) =>
          handle(c.id).executeUpdate(submitPhoneUpdate, { args: [{ phoneRef }] }),
        );
        return { status: 200, body: view(c, s) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/phone/confirm',
      tag: 'Verification (customer link)',
      summary: 'Step 2: type the code received by SMS (5 wrong codes restart the phone step)',
      roles: [],
      params: tokenParams,
      body: z.strictObject({ code: z.string().regex(/^\d{6}$/, 'must be the 6 digits received by SMS') }),
      responses: linkResponses({ 422: { description: 'Wrong or expired code; `result` and `codeAttemptsLeft` say what next', schema: problem } }),
      async handler({ params, body }) {
        const c = await caseForLink(params.token);
        const r = await run(() => handle(c.id).executeUpdate(confirmCodeUpdate, { args: [{ code: body.code }] }));
        if (r.result === 'confirmed') return { status: 200, body: view(c, r.status) };
        const detail = {
          wrong: `Wrong code; ${r.status.codeAttemptsLeft} attempts left`,
          expired: 'The code has expired; ask for a new one',
          too_many_attempts: 'Too many wrong codes; give your mobile number again',
        }[r.result];
        throw new Problem('verification-code-rejected', detail, { result: r.result, progress: view(c, r.status) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/geolocation',
      tag: 'Verification (customer link)',
      summary: 'Step 3: the position of the device (mandatory to continue)',
      roles: [],
      params: tokenParams,
      body: z.strictObject({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180), accuracyMeters: z.number().min(0).max(100_000) }),
      responses: linkResponses(),
      async handler({ params, body }) {
        const c = await caseForLink(params.token);
        const s = await withSealedEvidence(c, 'position', body, (positionRef) => handle(c.id).executeUpdate(geolocationUpdate, { args: [{ positionRef }] }));
        return { status: 200, body: view(c, s) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/document',
      tag: 'Verification (customer link)',
      summary: 'Step 4: photos of the identity card (front, back) or passport (photo page), base64 JPEG or PNG, 10 MB each',
      roles: [],
      params: tokenParams,
      largeBody: imageBody,
      body: z
        .strictObject({ type: z.enum(['id_card', 'passport']), images: z.array(z.string().min(1)).min(1).max(2) })
        .refine((b) => b.images.length === DOCUMENT_KINDS_BY_TYPE[b.type].length, {
          message: 'id_card needs [front, back]; passport needs [photo page]',
          path: ['images'],
        }),
      responses: linkResponses({ 422: { description: 'An image is not a JPEG or PNG, or is larger than 10 MB', schema: problem } }),
      async handler({ params, body }) {
        const c = await caseForLink(params.token);
        const current = await run(() => handle(c.id).query(statusQuery));
        if (current.step !== 'document') throw new Problem('verification-step-out-of-order', `expected step ${current.step}`);
        const kinds = DOCUMENT_KINDS_BY_TYPE[body.type];
        const ids = await storeImages(
          c,
          body.images.map((b64, i) => ({ kind: kinds[i]!, b64, pointer: `/images/${i}` })),
        );
        try {
          const s = await handle(c.id).executeUpdate(documentUpdate, { args: [{ type: body.type, documentIds: ids }] });
          return { status: 200, body: view(c, s) };
        } catch (err) {
          await deleteUnattachedDocuments(db, c.id, ids);
          throw asProblem(err);
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/selfie',
      tag: 'Verification (customer link)',
      summary: 'Step 5: a selfie holding the document; the case is then submitted for review and this link stops working',
      roles: [],
      params: tokenParams,
      largeBody: imageBody,
      body: z.strictObject({ image: z.string().min(1) }),
      responses: linkResponses({ 422: { description: 'The image is not a JPEG or PNG, or is larger than 10 MB', schema: problem } }),
      async handler({ params, body }) {
        const c = await caseForLink(params.token);
        const current = await run(() => handle(c.id).query(statusQuery));
        if (current.step !== 'selfie') throw new Problem('verification-step-out-of-order', `expected step ${current.step}`);
        const [id] = await storeImages(c, [{ kind: 'selfie', b64: body.image, pointer: '/image' }]);
        try {
          const s = await handle(c.id).executeUpdate(selfieUpdate, { args: [{ documentId: id! }] });
          return { status: 200, body: view(c, s) };
        } catch (err) {
          await deleteUnattachedDocuments(db, c.id, [id!]);
          throw asProblem(err);
        }
      },
    }),
  ];

  const agentOnly = (principal: Principal) => {
    if (principal.role !== 'agent') throw new Problem('forbidden', 'This operation is for agent tokens');
    return principal.sub;
  };
  const caseOr404 = async (id: string) => {
    const c = await findCase(db, id);
    if (!c) throw new Problem('not-found', 'No such verification case');
    return c;
  };
  const presentOne = async (c: VerificationCase, step?: string) => present(c, await listDocuments(db, [c.id]), clock.now(), step);
  const caseResponses = { 200: { description: 'The case', schema: caseSchema }, 404: { description: 'No such case', schema: problem } };

  const agentRoutes: AnyRoute[] = [
    defineRoute({
      method: 'post',
      path: '/v1/verification-cases',
      tag: 'Verification cases (agents)',
      summary: 'Open a case for an account; the customer is emailed the link and its QR code',
      roles: ['agent', 'system'],
      body: z.strictObject({
        accountId: uuid,
        reason: z.enum(VERIFICATION_REASONS),
        subject: z
          .strictObject({ type: z.string().trim().min(1).max(50), id: z.string().trim().min(1).max(100) })
          .nullable()
          .default(null),
      }),
      responses: { 201: { description: 'The case, awaiting the customer', schema: caseSchema }, 422: { description: 'Unknown account', schema: problem } },
      async handler({ body, principal }) {
        const account = await db.selectFrom('accounts').select('id').where('id', '=', body.accountId).executeTakeFirst();
        if (!account) throw new Problem('unprocessable', 'No such account', { pointer: '/accountId' });
        const id = randomUUID();
        const openedBy = `${principal.role}:${principal.sub}`;
        await insertCase(db, {
          id,
          accountId: body.accountId,
          reason: body.reason,
          subject: body.subject,
          openedBy,
          openedAt: clock.now(),
          dataKeyWrapped: newCaseKey(keyring).wrapped,
        });
        try {
          await client.workflow.start('verificationCase', {
            workflowId: verificationWorkflowId(id),
            taskQueue,
            args: [{ accountId: body.accountId, reason: body.reason, subject: body.subject, openedBy } satisfies VerificationInput],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          await deleteCase(db, id);
          throw new Problem('unavailable', 'Could not open the case; nothing was opened', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: principal.role,
          actor_id: principal.sub,
          action: 'verification.opened',
          subject_type: 'verification_case',
          subject_id: id,
          decision: null,
          details: { reason: body.reason },
        });
        return { status: 201, body: await presentOne(await caseOr404(id)), headers: { Location: `/v1/verification-cases/${id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/verification-cases',
      tag: 'Verification cases (agents)',
      summary: 'The review queue, most urgent first (due time)',
      roles: ['agent', 'system'],
      query: z.strictObject({
        status: z.enum(VERIFICATION_CASE_STATUSES).optional(),
        assignee: z.enum(['me', 'unassigned']).optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      responses: { 200: { description: 'Cases', schema: z.object({ items: z.array(caseSchema) }) } },
      async handler({ query, principal }) {
        const assignee = query.assignee === 'me' ? { agentId: agentOnly(principal) } : query.assignee;
        const cases = await listCases(db, { status: query.status, assignee, limit: query.limit });
        const docs = await listDocuments(
          db,
          cases.map((c) => c.id),
        );
        const now = clock.now();
        return { status: 200, body: { items: cases.map((c) => present(c, docs, now)) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/verification-cases/:id',
      tag: 'Verification cases (agents)',
      summary: 'One case, with the customer’s current step and what the agent compares the documents with (holder, order, earlier cases)',
      roles: ['agent', 'system'],
      params: caseParams,
      responses: { ...caseResponses, 200: { description: 'The case and its context', schema: caseWithContext } },
      async handler({ params }) {
        const c = await caseOr404(params.id);
        let step: string | undefined;
        if (c.status === 'awaiting_customer')
          step = (
            await handle(c.id)
              .query(statusQuery)
              .catch(() => undefined)
          )?.step;
        // What the agent compares the documents with (issue 18, item 2); the login masked, as the desk needs no more.
        const ctx = await caseContext(db, c);
        const context = {
          holder: { name: ctx.holder?.display_name ?? null, loginEmail: ctx.holder ? maskEmail(ctx.holder.login_email) : null },
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
        return { status: 200, body: { ...(await presentOne(c, step)), context } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification-cases/:id/claim',
      tag: 'Verification cases (agents)',
      summary: 'Claim a submitted case for review (one agent wins)',
      roles: ['agent'],
      params: caseParams,
      responses: { ...caseResponses, 409: { description: 'Claimed by another agent, or not submitted', schema: problem } },
      async handler({ params, principal }) {
        const claimed = await claimCase(db, params.id, principal.sub, clock.now());
        if (!claimed) {
          const c = await caseOr404(params.id);
          if (c.status !== 'submitted') throw new Problem('verification-closed', `The case is ${c.status.replaceAll('_', ' ')}`);
          throw new Problem('case-already-claimed');
        }
        await audit(db, {
          actor_type: 'agent',
          actor_id: principal.sub,
          action: 'verification.claimed',
          subject_type: 'verification_case',
          subject_id: params.id,
          decision: null,
          details: {},
        });
        return { status: 200, body: await presentOne(claimed) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/verification-cases/:id/claim',
      tag: 'Verification cases (agents)',
      summary: 'Release a claim so another agent can take the case',
      roles: ['agent'],
      params: caseParams,
      responses: { ...caseResponses, 403: { description: 'Not your claim', schema: problem } },
      async handler({ params, principal }) {
        const released = await releaseCase(db, params.id, principal.sub);
        if (!released) {
          await caseOr404(params.id);
          throw new Problem('not-case-assignee');
        }
        await audit(db, {
          actor_type: 'agent',
          actor_id: principal.sub,
          action: 'verification.released',
          subject_type: 'verification_case',
          subject_id: params.id,
          decision: null,
          details: {},
        });
        return { status: 200, body: await presentOne(released) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/verification-cases/:id/documents/:documentId',
      tag: 'Verification cases (agents)',
      summary: 'A document image, for the agent who claimed the case while it is under review',
      roles: ['agent'],
      params: z.object({ id: uuid, documentId: uuid }),
      responses: {
        200: { description: 'The image', mediaType: 'image/*' },
        403: { description: 'Not the assignee, or the case is not under review', schema: problem },
        404: { description: 'No such document', schema: problem },
      },
      async handler({ params, principal }) {
        const c = await caseOr404(params.id);
        const allowed = c.status === 'submitted' && c.assigned_agent_id === principal.sub;
        await audit(db, {
          actor_type: 'agent',
          actor_id: principal.sub,
          action: 'verification.document_viewed',
          subject_type: 'verification_case',
          subject_id: c.id,
          decision: allowed ? 'allowed' : 'denied',
          details: { documentId: params.documentId },
        });
        if (!allowed) throw new Problem('not-case-assignee', 'Claim the case to see its documents; they are shown only while it is under review');
        const doc = await findSealedDocument(db, c.id, params.documentId);
        if (!doc || !c.data_key_wrapped) throw new Problem('not-found', 'No such document');
        const data = openDocument(unwrapCaseKey(keyring, c.data_key_wrapped), doc.sealed, `${c.id}:${doc.id}`);
        return {
          status: 200,
          raw: { contentType: doc.media_type, data },
          headers: { 'Cache-Control': 'no-store, private', 'X-Content-Type-Options': 'nosniff' },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification-cases/:id/decision',
      tag: 'Verification cases (agents)',
      summary: 'Approve, reject, or ask the customer to send the document again (the assignee only)',
      roles: ['agent'],
      params: caseParams,
      body: z.strictObject({ decision: z.enum(['approve', 'reject', 'request_resubmission']), reason: reasonText }),
      responses: { ...caseResponses, 403: { description: 'Not the assignee', schema: problem }, 409: { description: 'Not under review', schema: problem } },
      async handler({ params, body, principal }) {
        const c = await caseOr404(params.id);
        if (c.status !== 'submitted') throw new Problem('verification-closed', `The case is ${c.status.replaceAll('_', ' ')}`);
        if (c.assigned_agent_id !== principal.sub) throw new Problem('not-case-assignee');
        await run(() => handle(c.id).executeUpdate(decideUpdate, { args: [{ agentId: principal.sub, decision: body.decision, reason: body.reason }] }));
        return { status: 200, body: await presentOne(await caseOr404(c.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification-cases/:id/manual-verification',
      tag: 'Verification cases (agents)',
      summary:
        'Record that identity was checked by other means (customer without a mobile phone); never approves a case that switches 2FA off or unlocks an account',
      roles: ['agent'],
      params: caseParams,
      body: z.strictObject({ decision: z.enum(['approve', 'reject']), reason: reasonText }),
      responses: {
        ...caseResponses,
        403: { description: 'Claimed by another agent', schema: problem },
        409: { description: 'Closed, or an approval of a case that switches 2FA off or unlocks an account (documents-required)', schema: problem },
      },
      async handler({ params, body, principal }) {
        const c = await caseOr404(params.id);
        if (c.assigned_agent_id && c.assigned_agent_id !== principal.sub) throw new Problem('not-case-assignee', 'Another agent has claimed this case');
        await run(() =>
          handle(c.id).executeUpdate(manualVerificationUpdate, { args: [{ agentId: principal.sub, decision: body.decision, reason: body.reason }] }),
        );
        return { status: 200, body: await presentOne(await caseOr404(c.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification-cases/:id/link',
      tag: 'Verification cases (agents)',
      summary: 'Send the customer a new link; the previous one stops working',
      roles: ['agent', 'system'],
      params: caseParams,
      responses: { ...caseResponses, 409: { description: 'Submitted or closed: no link is needed', schema: problem } },
      async handler({ params, principal }) {
        const c = await caseOr404(params.id);
        const s = await run(() => handle(c.id).executeUpdate(reissueLinkUpdate, { args: [{ actor: `${principal.role}:${principal.sub}` }] }));
        await audit(db, {
          actor_type: principal.role,
          actor_id: principal.sub,
          action: 'verification.link_reissued',
          subject_type: 'verification_case',
          subject_id: c.id,
          decision: null,
          details: {},
        });
        return { status: 200, body: await presentOne(await caseOr404(c.id), s.step) };
      },
    }),
  ];

  return [...linkRoutes, ...agentRoutes];
}
