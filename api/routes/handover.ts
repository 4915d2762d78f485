/**
 * P10 legal-representative handover over HTTP. A legal representative hands over to an existing
 * member or invites someone by email; the process gives the new one the role before removing the
 * former one. The invitation is accepted by the invitee signed in with the invited address.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { hashLinkToken } from '../../db/repositories/verification';
import { INVITATION_LINK_VALIDITY_MS } from '../../lib/rules';
import { acceptHandoverUpdate, cancelHandoverUpdate, handoverWorkflowId, type HandoverInput } from '../../workflows/shared/handover';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });
const handoverSchema = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    from: z.uuid(),
    to: z.uuid().nullable().describe('The new representative; null while an invitation waits'),
    invitation: z.boolean(),
    status: z.enum(['awaiting_acceptance', 'transferring', 'completed', 'lapsed', 'cancelled']),
    requestedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
    completedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'LegalRepresentativeHandover' });

export function handoverRoutes({
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
  async function present(id: string) {
    const h = await db.selectFrom('legal_rep_handovers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return {
      id: h.id,
      organizationId: h.organization_id,
      from: h.from_account_id,
      to: h.to_account_id,
      invitation: h.to_email !== null,
      status: h.status,
      requestedAt: h.requested_at.toISOString(),
      expiresAt: h.expires_at?.toISOString() ?? null,
      completedAt: h.completed_at?.toISOString() ?? null,
    };
  }
  /** Members with rights may read; only a legal representative acts. Others learn nothing. */
  async function actorIn(organizationId: string, accountId: string, act: boolean) {
    const m = await findMembership(db, organizationId, accountId);
    if (!m || m.role === 'collaborator') throw new Problem('not-found', 'No such organization');
    if (act && m.role !== 'legal_representative') throw new Problem('forbidden', 'Only a legal representative hands the representation over');
  }

  return [
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/legal-representative-handovers',
      tag: 'Organizations',
      summary: 'Hand the legal representation over to a member, or to someone invited by email (who must accept within 30 days)',
      roles: ['customer'],
      params: z.object({ id: z.uuid() }),
      body: z.object({ from: z.uuid(), to: z.union([z.object({ accountId: z.uuid() }).strict(), z.object({ email: z.email().max(254) }).strict()]) }).strict(),
      responses: {
        202: { description: 'The handover is under way', schema: handoverSchema },
        403: { description: 'Not a legal representative', schema: problem },
        409: { description: 'Another handover of this organization is under way', schema: problem },
        422: { description: '`from` is not a legal representative, or `to` is not a member / is `from`', schema: problem },
      },
      async handler({ params, body, principal }) {
        await actorIn(params.id, principal.sub, true);
        const from = await findMembership(db, params.id, body.from);
        if (from?.role !== 'legal_representative') throw new Problem('handover-invalid', '`from` is not a legal representative of this organization');
        let toAccount: string | null = null;
        let toEmail: string | null = null;
        if ('accountId' in body.to) {
          if (!(await findMembership(db, params.id, body.to.accountId))) throw new Problem('handover-invalid', '`to` is not a member: invite by email instead');
          toAccount = body.to.accountId;
        } else {
          const email = body.to.email;
          // An address that is already a member's login is that member.
          const member = await db
            .selectFrom('memberships as m')
            .innerJoin('accounts as a', 'a.id', 'm.account_id')
            .select('a.id')
            .where('m.organization_id', '=', params.id)
            .where((eb) => eb(eb.fn('lower', ['a.login_email']), '=', email.toLowerCase()))
            .executeTakeFirst();
          if (member) toAccount = member.id;
          else toEmail = email;
        }
        if (toAccount === body.from) throw new Problem('handover-invalid', '`to` is `from`');
        const id = randomUUID();
        const now = clock.now();
        try {
          await db
            .insertInto('legal_rep_handovers')
            .values({
              id,
              organization_id: params.id,
              requested_by: principal.sub,
              from_account_id: body.from,
              to_account_id: toAccount,
              to_email: toEmail,
              token_hash: null,
              status: toEmail ? 'awaiting_acceptance' : 'transferring',
              requested_at: now,
              expires_at: toEmail ? new Date(now.getTime() + INVITATION_LINK_VALIDITY_MS) : null,
            })
            .execute();
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new Problem('handover-pending');
          throw err;
        }
        try {
          await client.workflow.start('legalRepHandover', {
            workflowId: handoverWorkflowId(params.id),
            taskQueue,
            args: [{ handoverId: id, organizationId: params.id, invitation: toEmail !== null } satisfies HandoverInput],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          await db.deleteFrom('legal_rep_handovers').where('id', '=', id).execute();
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Problem('handover-pending');
          throw new Problem('unavailable', 'Could not start the handover; nothing changed', { cause: (err as Error).name });
        }
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'organization.legal_rep_handover_requested',
          subject_type: 'organization',
          subject_id: params.id,
          decision: null,
          details: { handoverId: id, from: body.from, to: toAccount, invitation: toEmail !== null },
        });
        return { status: 202, body: await present(id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/organizations/:id/legal-representative-handovers/:handoverId',
      tag: 'Organizations',
      summary: 'A handover and where it stands',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), handoverId: z.uuid() }),
      responses: { 200: { description: 'The handover', schema: handoverSchema }, 404: { description: 'No such handover of yours', schema: problem } },
      async handler({ params, principal }) {
        await actorIn(params.id, principal.sub, false);
        const h = await db
          .selectFrom('legal_rep_handovers')
          .select('id')
          .where('id', '=', params.handoverId)
          .where('organization_id', '=', params.id)
          .executeTakeFirst();
        if (!h) throw new Problem('not-found', 'No such handover');
        return { status: 200, body: await present(h.id) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/organizations/:id/legal-representative-handovers/:handoverId',
      tag: 'Organizations',
      summary: 'Cancel a handover whose invitation is not accepted yet',
      roles: ['customer'],
      params: z.object({ id: z.uuid(), handoverId: z.uuid() }),
      responses: { 200: { description: 'Cancelled', schema: handoverSchema }, 409: { description: 'Accepted or over already', schema: problem } },
      async handler({ params, principal }) {
        await actorIn(params.id, principal.sub, true);
        const h = await db
          .selectFrom('legal_rep_handovers')
          .select(['id', 'status'])
          .where('id', '=', params.handoverId)
          .where('organization_id', '=', params.id)
          .executeTakeFirst();
        if (!h) throw new Problem('not-found', 'No such handover');
        if (h.status !== 'awaiting_acceptance') throw new Problem('conflict', `The handover is ${h.status}`);
        const handle = client.workflow.getHandle(handoverWorkflowId(params.id));
        try {
          await handle.executeUpdate(cancelHandoverUpdate, { args: [{ actor: `customer:${principal.sub}` }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Problem('conflict', 'The handover is no longer waiting for acceptance');
          throw err;
        }
        // It closes its row and ends at once; answering after that lets a new handover start right away.
        await handle.result();
        return { status: 200, body: await present(h.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/legal-representative-invitations/:token/accept',
      tag: 'Organizations',
      summary: 'Accept becoming legal representative, signed in with the invited address (single use, 30 days)',
      roles: ['customer'],
      params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') }),
      responses: {
        202: { description: 'Accepted; the role is being handed over', schema: z.object({ handoverId: z.uuid(), status: z.literal('transferring') }) },
        403: { description: 'Signed in with another address than the invited one', schema: problem },
        404: { description: 'Unknown, used, cancelled or expired link', schema: problem },
      },
      async handler({ params, principal }) {
        const h = await db
          .selectFrom('legal_rep_handovers')
          .select(['id', 'organization_id', 'to_email', 'expires_at'])
          .where('token_hash', '=', hashLinkToken(params.token))
          .where('status', '=', 'awaiting_acceptance')
          .executeTakeFirst();
        if (!h || (h.expires_at && h.expires_at <= clock.now())) throw new Problem('invitation-link-invalid');
        const account = await db.selectFrom('accounts').select('login_email').where('id', '=', principal.sub).executeTakeFirst();
        if (!account || account.login_email.toLowerCase() !== h.to_email?.toLowerCase()) throw new Problem('invitation-not-for-you');
        try {
          await client.workflow.getHandle(handoverWorkflowId(h.organization_id)).executeUpdate(acceptHandoverUpdate, { args: [{ accountId: principal.sub }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Problem('invitation-link-invalid');
          throw err;
        }
        await db
          .updateTable('legal_rep_handovers')
          .set({ status: 'transferring', token_hash: null })
          .where('id', '=', h.id)
          .where('status', '=', 'awaiting_acceptance')
          .execute();
        await audit(db, {
          actor_type: 'customer',
          actor_id: principal.sub,
          action: 'organization.legal_rep_invitation_accepted',
          subject_type: 'organization',
          subject_id: h.organization_id,
          decision: null,
          details: { handoverId: h.id },
        });
        return { status: 202, body: { handoverId: h.id, status: 'transferring' as const } };
      },
    }),
  ];
}
