/**
 * Password login (P7): the same 401 for an unknown login and a wrong password, with the same work
 * done for both, so the answer reveals no account. Failed logins in a row lock the account; only
 * the holder giving the right password learns that it is locked. Administrators unlock.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/database';
import { audit } from '../../db/repositories/audit';
import { findMembership } from '../../db/repositories/organizations';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../lib/passwords';
import { issueToken } from '../auth';
import { Problem } from '../problems';
import { defineRoute, type AnyRoute } from '../routing';

const problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() });

export function sessionRoutes(deps: { client: Client; db: Kysely<Database>; taskQueue: string; clock: { now(): Date }; authSecret: string; lockAfterFailedLogins: number }): AnyRoute[] {
  const { client, db, taskQueue, clock } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/sessions',
      tag: 'Accounts',
      summary: 'Log in with the login email and password; failed logins in a row lock the account',
      roles: [],
      body: z.object({ login: z.string().trim().min(3).max(254), password: z.string().min(1).max(1024) }).strict(),
      responses: {
        201: { description: 'A bearer token for 12 hours', schema: z.object({ token: z.string(), expiresIn: z.number().int() }) },
        401: { description: 'Unknown login or wrong password (the same answer)', schema: problem },
        423: { description: 'The right password, but the account is locked', schema: problem },
      },
      async handler({ body }) {
        const account = await db
          .selectFrom('accounts')
          .select(['id', 'password_hash', 'locked_at'])
          .where((eb) => eb(eb.fn('lower', ['login_email']), '=', body.login.toLowerCase()))
          .executeTakeFirst();
        const ok = await verifyPassword(body.password, account?.password_hash ?? DUMMY_PASSWORD_HASH);
        if (!account || !account.password_hash) throw new Problem('invalid-credentials');
        if (!ok) {
          const now = clock.now();
          // One statement counts the failure and locks at the threshold, whatever the concurrency.
          const row = await db
            .updateTable('accounts')
            .set((eb) => ({
              failed_logins: eb('failed_logins', '+', 1),
              locked_at: sql<Date | null>`case when locked_at is null and failed_logins + 1 >= ${deps.lockAfterFailedLogins} then ${now}::timestamptz else locked_at end`,
            }))
            .where('id', '=', account.id)
            .returning(['failed_logins', 'locked_at'])
            .executeTakeFirstOrThrow();
          if (!account.locked_at && row.locked_at) {
            await audit(db, { actor_type: 'system', actor_id: 'login', action: 'account.locked', subject_type: 'account', subject_id: account.id, decision: null, details: { failedLogins: row.failed_logins } });
            await client.workflow.start('accountLocked', { workflowId: `account-locked:${account.id}:${row.locked_at.getTime()}`, taskQueue, args: [{ accountId: account.id, lockedAt: row.locked_at.toISOString() }] });
          }
          throw new Problem('invalid-credentials');
        }
        if (account.locked_at) throw new Problem('account-locked');
        await db.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', account.id).execute();
        const token = await issueToken(deps.authSecret, { sub: account.id, role: 'customer' }, '12h');
        return { status: 201, body: { token, expiresIn: 12 * 3600 } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/organizations/:id/members/:accountId/unlock',
      tag: 'Accounts',
      summary: "Unlock a member's account locked by failed logins (administrators and legal representatives)",
      roles: ['customer'],
      params: z.object({ id: z.uuid(), accountId: z.uuid() }),
      responses: { 204: { description: 'Unlocked' }, 403: { description: 'Collaborators may not', schema: problem }, 404: { description: 'No such member of yours', schema: problem } },
      async handler({ params, principal }) {
        const actor = await findMembership(db, params.id, principal.sub);
        if (!actor) throw new Problem('not-found', 'No such organization');
        if (actor.role === 'collaborator') throw new Problem('forbidden', 'Administrators and legal representatives unlock accounts');
        if (!(await findMembership(db, params.id, params.accountId))) throw new Problem('not-found', 'No such member');
        await db.updateTable('accounts').set({ failed_logins: 0, locked_at: null }).where('id', '=', params.accountId).execute();
        await audit(db, { actor_type: 'customer', actor_id: principal.sub, action: 'account.unlocked', subject_type: 'account', subject_id: params.accountId, decision: null, details: { organizationId: params.id } });
        return { status: 204 };
      },
    }),
  ];
}
