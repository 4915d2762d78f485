/**
 * P11 partner program over HTTP: applications, client invitations (only a partner's legal
 * representatives invite; the client grants the same or narrower rights), and ending a partnership
 * from either side, which ends the partner's access at once.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { queueWorkflowCommands } from '../../db/repositories/workflowCommands';
import { sendCommitted } from '../../temporal/workflowCommands';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { hashLinkToken } from '../../db/repositories/verification';
import { widerThanRequested } from '../../lib/partnerRights';
import { INVITATION_LINK_VALIDITY_MS, PARTNER_MIN_YEARLY_VOLUME } from '../../lib/rules';
import { FailureType } from '../../workflows/shared/failures';
import {
  acceptClientInvitationUpdate,
  cancelClientInvitationUpdate,
  partnerInvitationWorkflowId,
  resendClientInvitationUpdate,
  type ClientInvitationInput,
} from '../../workflows/shared/partners';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const rightsSchema = z
  .object({
    access: z.enum(['full', 'restricted']),
    productIds: z.array(z.uuid()).max(500).optional().describe('Restricted access: the products'),
    billing: z.enum(['client', 'partner']),
  })
  .strict()
  .refine((r) => r.access === 'full' || (r.productIds?.length ?? 0) > 0, { message: 'restricted access names at least one product', path: ['productIds'] })
  .meta({ id: 'PartnerRights' });
const invitationSchema = z
  .object({
    id: z.uuid(),
    partnerOrganizationId: z.uuid(),
    clientEmail: z.string(),
    requested: rightsSchema,
    granted: rightsSchema.nullable(),
    status: z.enum(['pending', 'accepted', 'cancelled', 'expired']),
    sends: z.number().int(),
    sentAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'ClientInvitation' });

export function partnerRoutes({
  client,
  db,
  taskQueue,
  clock,
}: {
  client: Client;
  db: Kysely<Database>;
  taskQueue: string;
  clock: { now(): Date };
}): AnyRoute[] {
  async function member(organizationId: string, accountId: string, roles: readonly string[], what: string) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m) throw new Problem('not-found', 'No such organization');
    if (!roles.includes(m.role)) throw new Problem('forbidden', what);
    return m;
  }
  async function partnerOrg(id: string, accountId: string, roles: readonly string[]) {
    await member(
      id,
      accountId,
      roles,
      roles.length === 1 ? 'Only the legal representatives of the partner organization invite clients' : 'Administrators and legal representatives only',
    );
    const org = await db.selectFrom('organizations').select('program').where('id', '=', id).executeTakeFirstOrThrow();
    if (org.program !== 'partner') throw new Problem('not-a-partner');
  }
  async function present(id: string) {
    const i = await db.selectFrom('client_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return {
      id: i.id,
      partnerOrganizationId: i.partner_organization_id,
      clientEmail: i.client_email,
      requested: i.requested,
      granted: i.granted,
      status: i.status,
      sends: i.sends,
      sentAt: i.sent_at?.toISOString() ?? null,
      expiresAt: i.expires_at.toISOString(),
    };
  }
  async function pendingOf(partnerId: string, invitationId: string) {
    const i = await db
      .selectFrom('client_invitations')
      .select('status')
      .where('id', '=', invitationId)
      .where('partner_organization_id', '=', partnerId)
      .executeTakeFirst();
    if (!i) throw new Problem('not-found', 'No such invitation');
    if (i.status !== 'pending') throw new Problem('conflict', `The invitation is ${i.status}`);
  }
  const updateFailure = (err: unknown) => {
    if (!(err instanceof WorkflowUpdateFailedError)) return err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    if (cause?.type === FailureType.ResendLimitReached) return new Problem('invitation-resend-limit', cause.message);
    return new Problem('conflict', 'The invitation is no longer pending');
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/partner-applications',
      tag: 'Partners',
      summary: 'Apply to the partner program: a registered company with a website managing at least CHF 2000 / EUR 1800 a year, not an Affiliate',
      roles: ['customer'],
      body: z
        .object({
          organizationId: z.uuid(),
          registryNumber: z.string().trim().max(40).describe('Commercial register, SIRET or equivalent'),
          website: z.string().max(300),
          // The column is a PostgreSQL integer: a larger amount used to answer 500.
          yearlyVolume: z.object({ amountCents: z.number().int().min(0).max(2_147_483_647), currency: z.enum(['CHF', 'EUR']) }).strict(),
        })
        .strict(),
      responses: {
        201: { description: 'Accepted: the organization is a partner', schema: z.object({ applicationId: z.uuid(), decision: z.literal('accepted') }) },
        403: { description: 'Not a legal representative', schema: problem },
        409: { description: 'Already a partner', schema: problem },
        422: { description: 'Refused, with every reason', schema: problem },
      },
      async handler({ body, principal }) {
        await member(body.organizationId, principal.sub, ['legal_representative'], 'Only a legal representative applies for the organization');
        const org = await db.selectFrom('organizations').select('program').where('id', '=', body.organizationId).executeTakeFirstOrThrow();
        if (org.program === 'partner') throw new Problem('conflict', 'The organization is a partner already');
        const reasons: string[] = [];
        if (!/^[A-Za-z0-9][A-Za-z0-9 .\-/]{4,39}$/.test(body.registryNumber)) reasons.push('a company registry number is required');
        let site: URL | undefined;
        try {
          site = new URL(body.website);
        } catch {
          site = undefined;
        }
        if (!site || !['http:', 'https:'].includes(site.protocol) || !site.hostname.includes('.')) reasons.push('a website address is required');
        const minimum = PARTNER_MIN_YEARLY_VOLUME[body.yearlyVolume.currency] * 100;
        if (body.yearlyVolume.amountCents < minimum)
          reasons.push(`the products managed under the program must reach ${minimum / 100} ${body.yearlyVolume.currency} a year`);
        if (org.program === 'affiliate') reasons.push('an Affiliate cannot also be a Partner');
        const id = randomUUID();
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('partner_applications')
            .values({
              id,
              organization_id: body.organizationId,
              submitted_by: principal.sub,
              registry_number: body.registryNumber,
              website: body.website,
              yearly_volume_cents: body.yearlyVolume.amountCents,
              currency: body.yearlyVolume.currency,
              decision: reasons.length ? 'refused' : 'accepted',
              reasons,
            })
            .execute();
          if (!reasons.length)
            await trx.updateTable('organizations').set({ program: 'partner' }).where('id', '=', body.organizationId).where('program', 'is', null).execute();
          await audit(trx, {
            actor_type: 'customer',
            actor_id: principal.sub,
            action: reasons.length ? 'partner.application_refused' : 'partner.application_accepted',
            subject_type: 'organization',
            subject_id: body.organizationId,
            decision: null,
            details: { applicationId: id, reasons },
          });
        });
        if (reasons.length) throw new Problem('partner-application-refused', reasons.join('; '), { reasons });
        return { status: 201, body: { applicationId: id, decision: 'accepted' as const } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/partners/:id/client-invitations',
      tag: 'Partners',
      summary: "Invite a client: they receive the requested rights and may grant the same or narrower ones (partner's legal representatives only)",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ clientEmail: z.email().max(254), requested: rightsSchema }).strict(),
      responses: {
        201: { description: 'Sent', schema: invitationSchema },
        403: { description: 'Not a legal representative of the partner', schema: problem },
        409: { description: 'Not a partner', schema: problem },
      },
      async handler({ params, body, principal }) {
        await partnerOrg(params.id, principal.sub, ['legal_representative']);
        const id = randomUUID();
        await db
          .insertInto('client_invitations')
          .values({
            id,
            partner_organization_id: params.id,
            invited_by: principal.sub,
            client_email: body.clientEmail,
            requested: JSON.stringify(body.requested),
            granted: null,
            client_organization_id: null,
            token_hash: null,
            sent_at: null,
            expires_at: new Date(clock.now().getTime() + INVITATION_LINK_VALIDITY_MS),
          })
          .execute();
        try {
          await client.workflow.start('partnerInvitation', {
            workflowId: partnerInvitationWorkflowId(id),
            taskQueue,
            args: [{ invitationId: id } satisfies ClientInvitationInput],
          });
        } catch (err) {
          await db.deleteFrom('client_invitations').where('id', '=', id).execute();
          throw new Problem('unavailable', 'Could not send the invitation; nothing changed', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'partner.client_invited',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { invitationId: id, requested: body.requested },
        });
        return { status: 201, body: await present(id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/partners/:id/client-invitations',
      tag: 'Partners',
      summary: 'Client invitations with their status and the rights granted',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'Newest first', schema: z.object({ items: z.array(invitationSchema) }) } },
      async handler({ params, principal }) {
        await partnerOrg(params.id, principal.sub, ['legal_representative', 'administrator']);
        const rows = await db
          .selectFrom('client_invitations')
          .select('id')
          .where('partner_organization_id', '=', params.id)
          .orderBy('created_at', 'desc')
          .limit(500)
          .execute();
        return { status: 200, body: { items: await Promise.all(rows.map((r) => present(r.id))) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/partners/:id/client-invitations/:invitationId/resend',
      tag: 'Partners',
      summary: 'Send a client invitation again (3 times at most, an hour apart); the previous link stops working',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 200: { description: 'Sent again', schema: invitationSchema }, 429: { description: 'Too often or too soon', schema: problem } },
      async handler({ params, principal }) {
        await partnerOrg(params.id, principal.sub, ['legal_representative']);
        await pendingOf(params.id, params.invitationId);
        try {
          await client.workflow
            .getHandle(partnerInvitationWorkflowId(params.invitationId))
            .executeUpdate(resendClientInvitationUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } catch (err) {
          throw updateFailure(err);
        }
        return { status: 200, body: await present(params.invitationId) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/partners/:id/client-invitations/:invitationId',
      tag: 'Partners',
      summary: 'Cancel a pending client invitation',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), invitationId: z.uuid() }),
      responses: { 204: { description: 'Cancelled' }, 409: { description: 'Not pending', schema: problem } },
      async handler({ params, principal }) {
        await partnerOrg(params.id, principal.sub, ['legal_representative']);
        await pendingOf(params.id, params.invitationId);
        const handle = client.workflow.getHandle(partnerInvitationWorkflowId(params.invitationId));
        try {
          await handle.executeUpdate(cancelClientInvitationUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } catch (err) {
          throw updateFailure(err);
        }
        await handle.result();
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/client-invitations/:token/accept',
      tag: 'Partners',
      summary: 'Accept a partner, granting the requested rights or narrower ones (signed in with the invited address, for an organization you manage)',
      roles: ['customer'],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') }),
      body: z.object({ organizationId: z.uuid(), granted: rightsSchema }).strict(),
      responses: {
        200: { description: 'The partnership', schema: z.object({ partnershipId: z.uuid(), granted: rightsSchema }) },
        403: { description: 'Another address, or not a manager of that organization', schema: problem },
        404: { description: 'Unknown, used, cancelled or expired link', schema: problem },
        422: { description: 'Wider rights than requested, or products of another organization', schema: problem },
      },
      async handler({ params, body, principal }) {
        const inv = await db
          .selectFrom('client_invitations')
          .select(['id', 'partner_organization_id', 'client_email', 'requested', 'expires_at'])
          .where('token_hash', '=', hashLinkToken(params.token))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (!inv || inv.expires_at <= clock.now()) throw new Problem('invitation-link-invalid');
        const account = await db.selectFrom('accounts').select('login_email').where('id', '=', principal.sub).executeTakeFirst();
        if (!account || account.login_email.toLowerCase() !== inv.client_email.toLowerCase()) throw new Problem('invitation-not-for-you');
        await member(
          body.organizationId,
          principal.sub,
          ['legal_representative', 'administrator'],
          'Only a legal representative or administrator grants rights on the organization',
        );
        if (body.organizationId === inv.partner_organization_id) throw new Problem('unprocessable', 'A partner cannot be its own client');
        const wider = widerThanRequested(body.granted, inv.requested);
        if (wider) throw new Problem('rights-wider-than-requested', wider);
        if (body.granted.access === 'restricted') {
          const owned = await db
            .selectFrom('products')
            .select('id')
            .where('organization_id', '=', body.organizationId)
            .where('id', 'in', body.granted.productIds!)
            .execute();
          if (owned.length !== new Set(body.granted.productIds).size)
            throw new Problem('unprocessable', 'Every granted product must belong to your organization');
        }
        const active = await db
          .selectFrom('partnerships')
          .select('id')
          .where('partner_organization_id', '=', inv.partner_organization_id)
          .where('client_organization_id', '=', body.organizationId)
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        if (active) throw new Problem('conflict', 'This partner already manages your organization');
        const granted = body.granted.access === 'full' ? { access: 'full' as const, billing: body.granted.billing } : body.granted;
        await db
          .updateTable('client_invitations')
          .set({ granted: JSON.stringify(granted), client_organization_id: body.organizationId })
          .where('id', '=', inv.id)
          .where('status', '=', 'pending')
          .execute();
        const handle = client.workflow.getHandle(partnerInvitationWorkflowId(inv.id));
        try {
          await handle.executeUpdate(acceptClientInvitationUpdate, { args: [{ clientOrganizationId: body.organizationId, accountId: principal.sub }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Problem('invitation-link-invalid');
          throw err;
        }
        await handle.result();
        return { status: 200, body: { partnershipId: inv.id, granted } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/partnerships/:id',
      tag: 'Partners',
      summary: "End a partnership, from either side: the partner's access ends at once and both are emailed",
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      responses: {
        204: { description: 'Ended' },
        404: { description: 'No such partnership of yours', schema: problem },
        409: { description: 'Ended already', schema: problem },
      },
      async handler({ params, principal }) {
        const p = await db
          .selectFrom('partnerships')
          .select(['id', 'partner_organization_id', 'client_organization_id', 'ended_at'])
          .where('id', '=', params.id)
          .executeTakeFirst();
        const side =
          p && ((await findMembership(db, p.partner_organization_id, principal.sub)) ?? (await findMembership(db, p.client_organization_id, principal.sub)));
        if (!p || !side) throw new Problem('not-found', 'No such partnership');
        if (side.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives only');
        // The emails' process commits with the end: a retry after a lost start answers 409 (issue 15).
        const commands = await db.transaction().execute(async (trx) => {
          const ended = await trx
            .updateTable('partnerships')
            .set({ ended_at: clock.now(), ended_by: principal.sub })
            .where('id', '=', p.id)
            .where('ended_at', 'is', null)
            .returning('id')
            .executeTakeFirst();
          if (!ended) throw new Problem('conflict', 'The partnership has ended already');
          await audit(trx, {
            actor_type: 'customer',
            actor_id: principal.sub,
            action: 'partner.partnership_ended',
            subject_type: 'organization',
            subject_id: p.client_organization_id,
            decision: null,
            details: { partnershipId: p.id },
          });
          return queueWorkflowCommands(trx, [
            { kind: 'start', workflowType: 'partnershipEnded', workflowId: `partnership-ended:${p.id}`, taskQueue, args: [{ partnershipId: p.id }] },
          ]);
        });
        await sendCommitted({ client, db }, commands);
        return { status: 204 };
      },
    }),
  ];
}
