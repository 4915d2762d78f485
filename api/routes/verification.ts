/**
 * P2 identity verification over HTTP: the routes translate; sealing the evidence, the workflow's
 * steps and decisions, the compensations and the audit are api/services/verification.ts.
 * - The customer's steps live under /v1/verification/:token: the link token from the email is the
 *   credential (customers verifying a forgotten password have no session).
 * - Agents work the review queue under /v1/verification-cases.
 */
import { z } from 'zod';
import { MAX_IMAGE_BYTES } from '../../lib/images';
import { E164 } from '../../lib/phone';
import {
  describeDuration,
  describePeriod,
  VERIFICATION_CODE_MAX_WRONG,
  VERIFICATION_CODE_SEND_WINDOW_MS,
  VERIFICATION_CODE_SENDS_PER_HOUR,
  VERIFICATION_CODE_VALIDITY_MS,
} from '../../lib/rules';
import { DOCUMENT_KINDS, DOCUMENT_KINDS_BY_TYPE, VERIFICATION_CASE_STATUSES, VERIFICATION_REASONS } from '../../workflows/shared/verification';
import type { Principal } from '../auth';
import { problemSchema as problem, Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';
import { verificationService, type VerificationDeps } from '../services/verification';

export type { VerificationDeps };

const IMAGE_MB = `${MAX_IMAGE_BYTES / (1024 * 1024)} MB`;

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
      holder: z.object({ name: z.string().nullable(), loginEmail: z.string().nullable(), country: z.string().nullable().describe('ISO 3166-1 alpha-2') }),
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

export function verificationRoutes(deps: VerificationDeps): AnyRoute[] {
  const cases = verificationService(deps);
  // Up to two 10 MB images in base64: read only for a link that opens a case awaiting the customer.
  const imageBody = { limit: '28mb', admit: ({ token }: { token: string }) => cases.checkLink(token) };
  const linkResponses = (extra: Record<number, { description: string; schema?: z.ZodType }> = {}) => ({
    200: { description: 'The step was accepted; the progress that follows', schema: customerView },
    404: { description: 'The link is unknown, replaced, used up or its case has ended', schema: problem },
    409: { description: 'Not the step expected now (out of order or repeated)', schema: problem },
    ...extra,
  });

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
        return { status: 200, body: await cases.progress(params.token), headers: { 'Cache-Control': 'no-store' } };
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
        // The QR code opens the page of the steps on the phone, as the email link does.
        const data = await cases.linkQrCode(params.token);
        return { status: 200, raw: { contentType: 'image/png', data }, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/phone',
      tag: 'Verification (customer link)',
      summary: `Step 1: give a mobile number; a 6-digit code is sent by SMS (valid ${describeDuration(VERIFICATION_CODE_VALIDITY_MS)}, at most ${VERIFICATION_CODE_SENDS_PER_HOUR} per ${describePeriod(VERIFICATION_CODE_SEND_WINDOW_MS)})`,
      roles: [],
      params: tokenParams,
      body: z.strictObject({ phone: z.string().regex(E164, 'must be an E.164 number such as +41791234567') }),
      responses: linkResponses({
        422: { description: 'The number cannot receive SMS', schema: problem },
        429: { description: 'SMS limit of the hour reached', schema: problem },
      }),
      async handler({ params, body }) {
        return { status: 200, body: await cases.submitPhone(params.token, body.phone) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/phone/confirm',
      tag: 'Verification (customer link)',
      summary: `Step 2: type the code received by SMS (${VERIFICATION_CODE_MAX_WRONG} wrong codes restart the phone step)`,
      roles: [],
      params: tokenParams,
      body: z.strictObject({ code: z.string().regex(/^\d{6}$/, 'must be the 6 digits received by SMS') }),
      responses: linkResponses({ 422: { description: 'Wrong or expired code; `result` and `codeAttemptsLeft` say what next', schema: problem } }),
      async handler({ params, body }) {
        return { status: 200, body: await cases.confirmCode(params.token, body.code) };
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
        return { status: 200, body: await cases.submitPosition(params.token, body) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/verification/:token/document',
      tag: 'Verification (customer link)',
      summary: `Step 4: photos of the identity card (front, back) or passport (photo page), base64 JPEG or PNG, ${IMAGE_MB} each`,
      roles: [],
      params: tokenParams,
      largeBody: imageBody,
      body: z
        .strictObject({ type: z.enum(['id_card', 'passport']), images: z.array(z.string().min(1)).min(1).max(2) })
        .refine((b) => b.images.length === DOCUMENT_KINDS_BY_TYPE[b.type].length, {
          message: 'id_card needs [front, back]; passport needs [photo page]',
          path: ['images'],
        }),
      responses: linkResponses({ 422: { description: `An image is not a JPEG or PNG, or is larger than ${IMAGE_MB}`, schema: problem } }),
      async handler({ params, body }) {
        return { status: 200, body: await cases.submitDocument(params.token, body.type, body.images) };
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
      responses: linkResponses({ 422: { description: `The image is not a JPEG or PNG, or is larger than ${IMAGE_MB}`, schema: problem } }),
      async handler({ params, body }) {
        return { status: 200, body: await cases.submitSelfie(params.token, body.image) };
      },
    }),
  ];

  /** `assignee=me` names the agent: only an agent's token has a queue of its own. */
  const agentOnly = (principal: Principal) => {
    if (principal.role !== 'agent') throw new Problem('forbidden', 'This operation is for agent tokens');
    return principal.sub;
  };
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
        const c = await cases.open(principal, body);
        return { status: 201, body: c, headers: { Location: `/v1/verification-cases/${c.id}` } };
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
        overdue: z.enum(['true', 'false']).optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      responses: { 200: { description: 'Cases', schema: z.object({ items: z.array(caseSchema) }) } },
      async handler({ query, principal }) {
        const assignee = query.assignee === 'me' ? { agentId: agentOnly(principal) } : query.assignee;
        const overdue = query.overdue === 'true';
        return { status: 200, body: { items: await cases.queue({ status: query.status, assignee, overdue, limit: query.limit }) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/agents/me',
      tag: 'Verification cases (agents)',
      summary: 'The signed-in agent; a supervisor also gets the active agents a case can be reassigned to, with the submitted cases each holds',
      roles: ['agent'],
      responses: {
        200: {
          description: 'The agent',
          schema: z.object({
            id: uuid,
            displayName: z.string(),
            supervisor: z.boolean(),
            agents: z.array(z.object({ id: uuid, displayName: z.string(), supervisor: z.boolean(), claimedCases: z.number().int() })).optional(),
          }),
        },
      },
      async handler({ principal }) {
        return { status: 200, body: await cases.agentProfile(principal.sub) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/verification-cases/:id/assignment',
      tag: 'Verification cases (agents)',
      summary: 'Supervisors: give a submitted case to another active agent (claimed for them), or back to the queue (agentId null); audited',
      roles: ['agent'],
      params: caseParams,
      body: z.strictObject({ agentId: uuid.nullable() }),
      responses: {
        ...caseResponses,
        403: { description: 'Not a supervisor', schema: problem },
        409: { description: 'The case is not awaiting review', schema: problem },
        422: { description: 'No active agent has this id', schema: problem },
      },
      async handler({ params, principal, body }) {
        return { status: 200, body: await cases.reassign(principal.sub, params.id, body.agentId) };
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
        return { status: 200, body: await cases.caseWithContext(params.id) };
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
        return { status: 200, body: await cases.claim(principal.sub, params.id) };
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
        return { status: 200, body: await cases.release(principal.sub, params.id) };
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
        const doc = await cases.openDocument(principal.sub, params.id, params.documentId);
        return {
          status: 200,
          raw: { contentType: doc.mediaType, data: doc.data },
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
        return { status: 200, body: await cases.decide(principal.sub, params.id, body.decision, body.reason) };
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
        return { status: 200, body: await cases.manualVerification(principal.sub, params.id, body.decision, body.reason) };
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
        return { status: 200, body: await cases.reissueLink(principal, params.id) };
      },
    }),
  ];

  return [...linkRoutes, ...agentRoutes];
}
