/**
 * P13 support access over HTTP: the routes translate; the rules, the grant's workflow and the audit
 * are api/services/supportAccess.ts.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { SUPPORT_ACCESS_KINDS } from '../../db/tables/supportAccessGrants.table';
import { describeDuration, SUPPORT_ACCESS_EXPIRY_MS } from '../../lib/rules';
import { problemSchema as problem } from '../problems';
import { defineRoute } from '../routing';
import { supportAccessService } from '../services/supportAccess';

export interface SupportAccessDeps {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}

const uuid = z.uuid();
const grantSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    ticketId: z.uuid(),
    grantedBy: z.uuid(),
    kind: z.enum(SUPPORT_ACCESS_KINDS),
    resourceIds: z.array(z.string()),
    status: z.enum(['active', 'revoked', 'expired']),
    grantedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    endedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'SupportAccessGrant' });

export function supportAccessRoutes(deps: SupportAccessDeps) {
  const grants = supportAccessService(deps);
  const idParams = z.object({ id: uuid });

  const create = defineRoute({
    method: 'post',
    path: '/v1/support-access-grants',
    tag: 'Support access',
    summary: `Grant the agents of a ticket access to one kind of content for ${describeDuration(SUPPORT_ACCESS_EXPIRY_MS)}`,
    roles: ['customer'],
    body: z.strictObject({
      organizationId: uuid,
      ticketId: uuid,
      kind: z.enum(SUPPORT_ACCESS_KINDS),
      resourceIds: z
        .array(z.string().trim().min(1).max(320))
        .min(1)
        .max(100)
        .refine((ids) => new Set(ids).size === ids.length, 'resourceIds must not repeat'),
    }),
    responses: {
      201: { description: 'The grant, active until expiresAt', schema: grantSchema },
      403: { description: 'Not a member of the organization', schema: problem },
      422: { description: 'The ticket is not an open ticket of the organization', schema: problem },
    },
    async handler({ body, principal }) {
      const grant = await grants.grant(principal.sub, body);
      return { status: 201, body: grant, headers: { Location: `/v1/support-access-grants/${grant.id}` } };
    },
  });

  const revoke = defineRoute({
    method: 'delete',
    path: '/v1/support-access-grants/:id',
    tag: 'Support access',
    summary: 'Revoke a grant (the granting customer, or an administrator or legal representative)',
    roles: ['customer'],
    params: idParams,
    responses: {
      200: { description: 'Revoked', schema: z.object({ id: z.uuid(), status: z.literal('revoked') }) },
      403: { description: 'A collaborator revoking someone else’s grant', schema: problem },
      404: { description: 'No such grant in your organizations', schema: problem },
      409: { description: 'Already revoked or expired', schema: problem },
    },
    async handler({ params, principal }) {
      return { status: 200, body: await grants.revoke(principal.sub, params.id) };
    },
  });

  const get = defineRoute({
    method: 'get',
    path: '/v1/support-access-grants/:id',
    tag: 'Support access',
    summary: 'Read a grant',
    roles: ['customer', 'agent', 'system'],
    params: idParams,
    responses: { 200: { description: 'The grant', schema: grantSchema }, 404: { description: 'No such grant visible to you', schema: problem } },
    async handler({ params, principal }) {
      return { status: 200, body: await grants.read(principal, params.id) };
    },
  });

  const list = defineRoute({
    method: 'get',
    path: '/v1/support-access-grants',
    tag: 'Support access',
    summary: 'List grants: customers see their organizations’, agents their tickets’',
    roles: ['customer', 'agent', 'system'],
    query: z.strictObject({
      organizationId: uuid.optional(),
      ticketId: uuid.optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    responses: {
      200: { description: 'Newest first', schema: z.object({ items: z.array(grantSchema) }) },
      403: { description: 'An organization or ticket that is not yours', schema: problem },
    },
    async handler({ query, principal }) {
      return { status: 200, body: { items: await grants.list(principal, query) } };
    },
  });

  const accessCheck = defineRoute({
    method: 'post',
    path: '/v1/support-access-grants/:id/access-checks',
    tag: 'Support access',
    summary: 'An agent asks whether it may open a resource under a grant; every answer is audited',
    roles: ['agent'],
    params: idParams,
    body: z.strictObject({
      resourceId: z.string().trim().min(1).max(320),
      /** The kind of content the agent is about to open; a grant covers one kind only. */
      kind: z.enum(SUPPORT_ACCESS_KINDS).optional(),
    }),
    responses: {
      200: { description: 'Allowed', schema: z.object({ allowed: z.literal(true), expiresAt: z.iso.datetime() }) },
      403: { description: 'Denied, with the reason', schema: problem },
      404: { description: 'No such grant', schema: problem },
    },
    async handler({ params, body, principal }) {
      return { status: 200, body: await grants.checkAccess(principal.sub, params.id, body) };
    },
  });

  return [create, list, get, revoke, accessCheck];
}
