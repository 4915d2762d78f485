/**
 * Prepaid money over HTTP (issue 17, item 4): the routes translate; the rules, the processes and
 * the books are api/services/prepaid.ts. No route reaches the payment provider.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { PREPAID_DEPOSIT_STATUSES, PREPAID_PAYOUT_STATUSES } from '../../db/tables/prepaid.table';
import { describeDuration, PREPAID_PAYOUT_DECISION_TIMEOUT_MS, PREPAID_STATEMENT_MAX_ENTRIES } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute } from '../routing';
import { prepaidService } from '../services/prepaid';

export interface PrepaidRouteDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const currency = z.enum(['CHF', 'EUR']);
const statementSchema = z
  .object({
    organizationId: z.uuid(),
    currency,
    balanceCents: z.number().int(),
    entries: z.array(z.object({ id: z.string(), amountCents: z.number().int(), reason: z.string(), reference: z.string(), createdAt: z.iso.datetime() })),
    nextBefore: z.string().nullable(),
  })
  .meta({ id: 'PrepaidAccount' });
const depositSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    amountCents: z.number().int(),
    currency,
    status: z.enum(PREPAID_DEPOSIT_STATUSES),
    reason: z.string().nullable(),
    providerReference: z.string().nullable(),
    createdAt: z.iso.datetime(),
    settledAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'PrepaidDeposit' });
const transferSchema = z
  .object({ entryId: z.string(), organizationId: z.uuid(), amountCents: z.number().int(), currency, reference: z.string(), createdAt: z.iso.datetime() })
  .meta({ id: 'PrepaidTransfer' });
const payoutSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    amountCents: z.number().int(),
    currency,
    destination: z.union([
      z.object({ kind: z.literal('iban'), iban: z.string().optional(), ibanLast4: z.string().optional(), holder: z.string() }),
      z.object({ kind: z.literal('paypal'), email: z.string().optional(), emailDomain: z.string().optional() }),
    ]),
    status: z.enum(PREPAID_PAYOUT_STATUSES),
    deadlineAt: z.iso.datetime().nullable(),
    decisionReason: z.string().nullable(),
    decidedAt: z.iso.datetime().nullable(),
    failureReason: z.string().nullable(),
    providerReference: z.string().nullable(),
    createdAt: z.iso.datetime(),
    settledAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'PrepaidPayout' });

/** ISO 13616: two letters, two check digits, up to 30 letters or digits, the mod-97 check holding. */
function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const digits = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rest = 0;
  for (const ch of digits) rest = (rest * 10 + Number(ch)) % 97;
  return rest === 1;
}

const destination = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('iban'),
    iban: z
      .string()
      .max(64)
      .transform((s) => s.replace(/\s+/g, '').toUpperCase())
      .refine(ibanValid, 'not a valid IBAN'),
    holder: z.string().trim().min(1).max(140),
  }),
  z.strictObject({ kind: z.literal('paypal'), email: z.email().max(320) }),
]);

export function prepaidRoutes(deps: PrepaidRouteDeps) {
  const prepaid = prepaidService(deps);
  const orgParams = z.object({ id: z.uuid() });
  const tag = 'Prepaid account';

  const account = defineRoute({
    method: 'get',
    path: '/v1/organizations/:id/prepaid',
    tag,
    summary: "The prepaid account: its balance and statement, newest entry first (legal representative or administrator), in the organization's currency",
    roles: ['customer'],
    params: orgParams,
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(PREPAID_STATEMENT_MAX_ENTRIES).default(50),
      before: z
        .string()
        .regex(/^\d{1,18}$/)
        .optional(),
    }),
    responses: {
      200: { description: 'Amounts in cents; nextBefore pages on', schema: statementSchema },
      403: { description: 'A collaborator', schema: problem },
      404: { description: 'Not one of your organizations', schema: problem },
    },
    async handler({ params, query, principal }) {
      return { status: 200, body: await prepaid.account(principal.sub, params.id, query) };
    },
  });

  const deposit = defineRoute({
    method: 'post',
    path: '/v1/organizations/:id/prepaid/deposits',
    tag,
    summary: 'Deposit by card (legal representative or administrator); the same idempotencyKey is the same deposit',
    roles: ['customer'],
    params: orgParams,
    body: z.strictObject({
      amountCents: z.number().int(),
      /** The card's token at the provider; the saved card otherwise. */
      cardRef: z.string().trim().min(1).max(200).optional(),
      idempotencyKey: z.string().trim().min(8).max(200),
    }),
    responses: {
      202: { description: 'The deposit, being charged; poll it at Location', schema: depositSchema },
      403: { description: 'A collaborator', schema: problem },
      404: { description: 'Not one of your organizations', schema: problem },
      409: { description: 'No card given nor saved, or the idempotencyKey was used for another deposit', schema: problem },
      422: { description: 'deposit-out-of-range', schema: problem },
    },
    async handler({ params, body, principal }) {
      const d = await prepaid.deposit(principal.sub, params.id, body);
      return { status: 202, body: d, headers: { Location: `/v1/organizations/${params.id}/prepaid/deposits/${d.id}` } };
    },
  });

  const readDeposit = defineRoute({
    method: 'get',
    path: '/v1/organizations/:id/prepaid/deposits/:depositId',
    tag,
    summary: 'A deposit (legal representative or administrator)',
    roles: ['customer'],
    params: z.object({ id: z.uuid(), depositId: z.uuid() }),
    responses: {
      200: { description: 'pending, charged, credited or declined', schema: depositSchema },
      403: { description: 'A collaborator', schema: problem },
      404: { description: 'No such deposit in your organizations', schema: problem },
    },
    async handler({ params, principal }) {
      return { status: 200, body: await prepaid.readDeposit(principal.sub, params.id, params.depositId) };
    },
  });

  const transfer = defineRoute({
    method: 'post',
    path: '/v1/organizations/:id/prepaid/transfers',
    tag,
    summary: 'Record a bank transfer received for the prepaid account (system); once per reference',
    roles: ['system'],
    params: orgParams,
    body: z.strictObject({ amountCents: z.number().int(), reference: z.string().trim().min(1).max(200) }),
    responses: {
      201: { description: 'Credited', schema: transferSchema },
      200: { description: 'This reference was credited already: the same entry', schema: transferSchema },
      404: { description: 'No such organization', schema: problem },
      409: { description: 'The reference was recorded with other terms', schema: problem },
      422: { description: 'deposit-out-of-range', schema: problem },
    },
    async handler({ params, body, principal }) {
      const { created, transfer: t } = await prepaid.recordTransfer(principal.sub, params.id, body);
      return { status: created ? 201 : 200, body: t };
    },
  });

  const payout = defineRoute({
    method: 'post',
    path: '/v1/organizations/:id/prepaid/payouts',
    tag,
    summary: `Pay out prepaid money to a bank account or PayPal (legal representative, recent login); the same idempotencyKey is the same payout: reserved at once, paid once an agent approves, credited back if not decided within ${describeDuration(PREPAID_PAYOUT_DECISION_TIMEOUT_MS)}`,
    roles: ['customer'],
    recentLogin: true,
    params: orgParams,
    body: z.strictObject({ amountCents: z.number().int().positive(), destination, idempotencyKey: z.string().trim().min(8).max(200) }),
    responses: {
      202: {
        description: 'Reserved and awaiting approval (or still pending; or where it stands, for an idempotencyKey sent before); poll it at Location',
        schema: payoutSchema,
      },
      403: { description: 'Not a legal representative, or no recent login', schema: problem },
      404: { description: 'Not one of your organizations', schema: problem },
      409: { description: 'insufficient-prepaid-balance, or the idempotencyKey was used for another payout', schema: problem },
    },
    async handler({ params, body, principal }) {
      const p = await prepaid.requestPayout(principal.sub, params.id, body);
      return { status: 202, body: p, headers: { Location: `/v1/organizations/${params.id}/prepaid/payouts/${p.id}` } };
    },
  });

  const readPayout = defineRoute({
    method: 'get',
    path: '/v1/organizations/:id/prepaid/payouts/:payoutId',
    tag,
    summary: 'A payout (legal representative or administrator); the destination partly shown',
    roles: ['customer'],
    params: z.object({ id: z.uuid(), payoutId: z.uuid() }),
    responses: {
      200: { description: 'The payout', schema: payoutSchema },
      403: { description: 'A collaborator', schema: problem },
      404: { description: 'No such payout in your organizations', schema: problem },
    },
    async handler({ params, principal }) {
      return { status: 200, body: await prepaid.readPayout(principal.sub, params.id, params.payoutId) };
    },
  });

  const agentList = defineRoute({
    method: 'get',
    path: '/v1/prepaid-payouts',
    tag,
    summary: 'Payouts for agents to decide, oldest first, with their destination',
    roles: ['agent'],
    query: z.strictObject({ status: z.enum(PREPAID_PAYOUT_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    responses: { 200: { description: 'Oldest first', schema: z.object({ items: z.array(payoutSchema) }) } },
    async handler({ query }) {
      return { status: 200, body: { items: await prepaid.listForAgents(query) } };
    },
  });

  const agentRead = defineRoute({
    method: 'get',
    path: '/v1/prepaid-payouts/:id',
    tag,
    summary: 'A payout, for agents',
    roles: ['agent'],
    params: orgParams,
    responses: { 200: { description: 'The payout', schema: payoutSchema }, 404: { description: 'No such payout', schema: problem } },
    async handler({ params }) {
      return { status: 200, body: await prepaid.readForAgent(params.id) };
    },
  });

  const decide = defineRoute({
    method: 'post',
    path: '/v1/prepaid-payouts/:id/decision',
    tag,
    summary: 'An agent approves (it is paid out) or rejects (it is credited back) a payout awaiting a decision',
    roles: ['agent'],
    params: orgParams,
    body: z.strictObject({ decision: z.enum(['approve', 'reject']), reason: z.string().trim().min(1).max(1000) }),
    responses: {
      200: { description: 'The payout after the decision', schema: payoutSchema },
      404: { description: 'No such payout', schema: problem },
      409: { description: 'payout-not-awaiting-approval', schema: problem },
    },
    async handler({ params, body, principal }) {
      return { status: 200, body: await prepaid.decide(principal.sub, params.id, body) };
    },
  });

  return [account, deposit, readDeposit, transfer, payout, readPayout, agentList, agentRead, decide];
}
