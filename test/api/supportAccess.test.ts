import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ServiceError, type Client } from '@temporalio/client';
import { SignJWT } from 'jose';
import type { Problem } from '../../api/problems';
import { supportAccessService } from '../../api/services/supportAccess';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../../lib/rules';
import { statusQuery, supportAccessWorkflowId } from '../../workflows/shared/supportAccess';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { AUTH_SECRET, startApi } from '../support/api';

describe('support access API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let seed: Awaited<ReturnType<typeof seedOrganization>>;
  const tokens: Record<string, string> = {};

  before(async function () {
    this.timeout(300_000);
    api = await startApi();
  });
  after(async () => api?.stop());

  beforeEach(async () => {
    seed = await seedOrganization(api.db);
    tokens.legalRep = await api.token('customer', seed.legalRep.id);
    tokens.admin = await api.token('customer', seed.admin.id);
    tokens.collaborator = await api.token('customer', seed.collaborator.id);
    tokens.outsider = await api.token('customer', seed.outsider.id);
    tokens.agent = await api.token('agent', seed.agent.id);
    tokens.otherAgent = await api.token('agent', seed.otherAgent.id);
    tokens.system = await api.token('system', 'scheduler');
  });

  const grantBody = (overrides: Record<string, unknown> = {}) => ({
    organizationId: seed.org.id,
    ticketId: seed.ticket.id,
    kind: 'mail',
    resourceIds: ['info@shop.test', 'sales@shop.test'],
    ...overrides,
  });
  const createGrant = async (token = tokens.collaborator!, overrides: Record<string, unknown> = {}) => {
    const res = await api.call('POST', '/v1/support-access-grants', { token, body: grantBody(overrides) });
    assert.equal(res.status, 201, res.text);
    return res.json as { id: string; status: string; grantedAt: string; expiresAt: string };
  };
  const assertProblem = (res: { status: number; headers: Headers; json: any }, status: number, type: string) => {
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.json.type, `/problems/${type}`);
    assert.equal(res.json.status, status);
  };

  describe('granting', () => {
    it('creates an active grant that expires exactly 7 days after it was granted, backed by a running workflow', async () => {
      const res = await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: grantBody() });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('location'), `/v1/support-access-grants/${res.json.id}`);
      assert.equal(res.json.status, 'active');
      assert.equal(res.json.kind, 'mail');
      assert.equal(res.json.ticketId, seed.ticket.id);
      assert.deepEqual(res.json.resourceIds, ['info@shop.test', 'sales@shop.test']);
      assert.equal(Date.parse(res.json.expiresAt) - Date.parse(res.json.grantedAt), SUPPORT_ACCESS_EXPIRY_MS);
      const state = await api.client.workflow.getHandle(supportAccessWorkflowId(res.json.id)).query(statusQuery);
      assert.deepEqual(state, { grantId: res.json.id, state: 'active' });
      const audit = await api.db.selectFrom('audit_log').selectAll().where('subject_id', '=', res.json.id).execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ['support_access.granted'],
      );
    });

    it('grants nothing when the process cannot start: no row is left, and the audit says it failed after the grant', async () => {
      // Temporal refusing the start (fault injected at the client): everything else is the real database.
      const client = {
        workflow: {
          start: async () => {
            throw new ServiceError('Temporal is unreachable');
          },
        },
      } as unknown as Client;
      const grants = supportAccessService({ client, db: api.db, taskQueue: 'none', clock: { now: () => new Date() } });
      const input = { organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail' as const, resourceIds: ['info@shop.test'] };
      await assert.rejects(grants.grant(seed.legalRep.id, input), (err: Problem) => err.slug === 'unavailable' && /nothing was granted/.test(err.message));
      const rows = await api.db.selectFrom('support_access_grants').select('id').where('ticket_id', '=', seed.ticket.id).execute();
      assert.deepEqual(rows, []);
      const audit = await api.db.selectFrom('audit_log').select(['action', 'details']).where('actor_id', '=', seed.legalRep.id).orderBy('id').execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ['support_access.granted', 'support_access.grant_failed'],
      );
      assert.deepEqual(audit[1]!.details, { cause: 'ServiceError' });
    });

    it('refuses a closed ticket with 422 and inserts nothing', async () => {
      await api.db.updateTable('support_tickets').set({ status: 'closed' }).where('id', '=', seed.ticket.id).execute();
      const res = await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: grantBody() });
      assertProblem(res, 422, 'unprocessable');
      assert.match(res.json.detail, /closed/);
      assert.equal(res.json.errors?.[0]?.pointer ?? res.json.pointer ?? '/ticketId', '/ticketId');
      const rows = await api.db.selectFrom('support_access_grants').select('id').where('ticket_id', '=', seed.ticket.id).execute();
      assert.deepEqual(rows, []);
      const audit = await api.db.selectFrom('audit_log').select('action').where('actor_id', '=', seed.legalRep.id).execute();
      assert.deepEqual(audit, []);
    });

    it('refuses a customer of another organization (403) and an unknown ticket (422)', async () => {
      assertProblem(await api.call('POST', '/v1/support-access-grants', { token: tokens.outsider, body: grantBody() }), 403, 'forbidden');
      const other = await seedOrganization(api.db);
      assertProblem(
        await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: grantBody({ ticketId: other.ticket.id }) }),
        422,
        'unprocessable',
      );
      assertProblem(
        await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: grantBody({ ticketId: randomUUID() }) }),
        422,
        'unprocessable',
      );
    });

    it('validates the body and names each bad field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ kind: 'calendar' }, '/kind'],
        [{ organizationId: 'not-a-uuid' }, '/organizationId'],
        [{ resourceIds: [] }, '/resourceIds'],
        [{ resourceIds: ['a', 'a'] }, '/resourceIds'],
        [{ extra: true }, '/'],
      ];
      for (const [overrides, pointer] of cases) {
        const res = await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: grantBody(overrides) });
        assertProblem(res, 400, 'validation-failed');
        assert.ok(
          res.json.errors.some((e: { pointer: string }) => e.pointer === pointer),
          `${pointer} in ${JSON.stringify(res.json.errors)}`,
        );
      }
      const missing = await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, body: { organizationId: seed.org.id } });
      assertProblem(missing, 400, 'validation-failed');
      assertProblem(
        await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, raw: '{"kind":', headers: { 'content-type': 'application/json' } }),
        400,
        'malformed-json',
      );
      assertProblem(
        await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, raw: 'kind=mail', headers: { 'content-type': 'text/plain' } }),
        415,
        'unsupported-media-type',
      );
      const count = await api.db
        .selectFrom('support_access_grants')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('organization_id', '=', seed.org.id)
        .executeTakeFirstOrThrow();
      assert.equal(count.n, '0', 'a rejected request creates nothing');
    });

    it('is for customers only', async () => {
      assertProblem(await api.call('POST', '/v1/support-access-grants', { token: tokens.agent, body: grantBody() }), 403, 'forbidden');
    });
  });

  describe('authentication', () => {
    it('rejects a missing, malformed, forged or expired token with 401', async () => {
      assertProblem(await api.call('GET', '/v1/support-access-grants'), 401, 'unauthenticated');
      assertProblem(await api.call('GET', '/v1/support-access-grants', { headers: { authorization: 'Basic abc' } }), 401, 'unauthenticated');
      const forged = await new SignJWT({ role: 'system' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('x')
        .setIssuer('backoffice')
        .setAudience('backoffice-api')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-of-at-least-32-characters!!'));
      assertProblem(await api.call('GET', '/v1/support-access-grants', { token: forged }), 401, 'unauthenticated');
      const expired = await new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(seed.legalRep.id)
        .setIssuer('backoffice')
        .setAudience('backoffice-api')
        .setIssuedAt(1_000)
        .setExpirationTime(2_000)
        .sign(new TextEncoder().encode(AUTH_SECRET));
      assertProblem(await api.call('GET', '/v1/support-access-grants', { token: expired }), 401, 'unauthenticated');
      const badRole = await new SignJWT({ role: 'root' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('x')
        .setIssuer('backoffice')
        .setAudience('backoffice-api')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(AUTH_SECRET));
      assertProblem(await api.call('GET', '/v1/support-access-grants', { token: badRole }), 401, 'unauthenticated');
    });

    it('answers unknown paths with a problem, not an HTML page', async () => {
      assertProblem(await api.call('GET', '/v1/nothing-here', { token: tokens.system }), 404, 'not-found');
    });
  });

  describe('revoking', () => {
    it('lets the granting collaborator revoke, emails them, and refuses a second revoke with 409', async () => {
      const grant = await createGrant(tokens.collaborator);
      const res = await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.collaborator });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { id: grant.id, status: 'revoked' });
      const read = await api.call('GET', `/v1/support-access-grants/${grant.id}`, { token: tokens.legalRep });
      assert.equal(read.json.status, 'revoked');
      assert.ok(read.json.endedAt);
      assertProblem(await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.collaborator }), 409, 'grant-not-active');
      const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(seed.collaborator.login_email));
      assert.match(mail.text, /was revoked/);
    });

    it('lets an administrator revoke someone else’s grant, but not a collaborator', async () => {
      const grant = await createGrant(tokens.legalRep);
      assertProblem(await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.collaborator }), 403, 'forbidden');
      assertProblem(await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.outsider }), 404, 'not-found');
      assert.equal((await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.admin })).status, 200);
    });

    it('returns 404 for an unknown grant and 400 for a malformed id', async () => {
      assertProblem(await api.call('DELETE', `/v1/support-access-grants/${randomUUID()}`, { token: tokens.legalRep }), 404, 'not-found');
      assertProblem(await api.call('DELETE', '/v1/support-access-grants/42', { token: tokens.legalRep }), 400, 'validation-failed');
    });

    it('answers 409 once the grant has expired', async () => {
      const grant = await createGrant(tokens.legalRep);
      // Expiry as the workflow records it, without waiting 7 days on a real server.
      await api.db
        .updateTable('support_access_grants')
        .set({ granted_at: new Date(Date.now() - 8 * 86_400_000), expires_at: new Date(Date.now() - 86_400_000) })
        .where('id', '=', grant.id)
        .execute();
      assertProblem(await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.legalRep }), 409, 'grant-not-active');
      assert.equal((await api.call('GET', `/v1/support-access-grants/${grant.id}`, { token: tokens.legalRep })).json.status, 'expired');
    });
  });

  describe('reading', () => {
    it('shows customers their organization’s grants and agents their tickets’ grants only', async () => {
      const grant = await createGrant(tokens.legalRep);
      const byOrg = await api.call('GET', `/v1/support-access-grants?organizationId=${seed.org.id}`, { token: tokens.collaborator });
      assert.deepEqual(
        byOrg.json.items.map((g: { id: string }) => g.id),
        [grant.id],
      );
      const byTicket = await api.call('GET', `/v1/support-access-grants?ticketId=${seed.ticket.id}`, { token: tokens.agent });
      assert.deepEqual(
        byTicket.json.items.map((g: { id: string }) => g.id),
        [grant.id],
      );
      assert.equal((await api.call('GET', `/v1/support-access-grants/${grant.id}`, { token: tokens.agent })).status, 200);

      assertProblem(await api.call('GET', `/v1/support-access-grants?organizationId=${seed.org.id}`, { token: tokens.outsider }), 403, 'forbidden');
      assertProblem(await api.call('GET', `/v1/support-access-grants?ticketId=${seed.ticket.id}`, { token: tokens.otherAgent }), 403, 'forbidden');
      assertProblem(await api.call('GET', `/v1/support-access-grants/${grant.id}`, { token: tokens.outsider }), 404, 'not-found');
      assertProblem(await api.call('GET', `/v1/support-access-grants/${grant.id}`, { token: tokens.otherAgent }), 404, 'not-found');
      const unfiltered = await api.call('GET', '/v1/support-access-grants', { token: tokens.otherAgent });
      assert.ok(!unfiltered.json.items.some((g: { id: string }) => g.id === grant.id));
      assertProblem(await api.call('GET', '/v1/support-access-grants?limit=1000', { token: tokens.legalRep }), 400, 'validation-failed');
      assertProblem(await api.call('GET', '/v1/support-access-grants?organizationId=x', { token: tokens.legalRep }), 400, 'validation-failed');
    });
  });

  describe('access checks', () => {
    const check = (grantId: string, token: string, body: Record<string, unknown>) =>
      api.call('POST', `/v1/support-access-grants/${grantId}/access-checks`, { token, body });
    const audits = (grantId: string) =>
      api.db
        .selectFrom('audit_log')
        .select(['actor_id', 'decision', 'details'])
        .where('subject_id', '=', grantId)
        .where('action', '=', 'support_access.checked')
        .orderBy('id')
        .execute();

    it('allows the assigned agent on a named resource of the granted kind, and audits every answer', async () => {
      const grant = await createGrant(tokens.legalRep);
      const ok = await check(grant.id, tokens.agent!, { resourceId: 'info@shop.test', kind: 'mail' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.allowed, true);

      const wrongResource = await check(grant.id, tokens.agent!, { resourceId: 'ceo@shop.test' });
      assertProblem(wrongResource, 403, 'access-denied');
      assert.equal(wrongResource.json.reason, 'resource_not_granted');
      const wrongKind = await check(grant.id, tokens.agent!, { resourceId: 'info@shop.test', kind: 'kdrive' });
      assert.equal(wrongKind.json.reason, 'kind_not_granted');
      const wrongAgent = await check(grant.id, tokens.otherAgent!, { resourceId: 'info@shop.test' });
      assertProblem(wrongAgent, 403, 'access-denied');
      assert.equal(wrongAgent.json.reason, 'not_ticket_assignee');
      assertProblem(await check(grant.id, tokens.legalRep!, { resourceId: 'info@shop.test' }), 403, 'forbidden');

      assert.deepEqual(
        (await audits(grant.id)).map((a) => [a.actor_id, a.decision, (a.details as { reason?: string }).reason ?? null]),
        [
          [seed.agent.id, 'allowed', null],
          [seed.agent.id, 'denied', 'resource_not_granted'],
          [seed.agent.id, 'denied', 'kind_not_granted'],
          [seed.otherAgent.id, 'denied', 'not_ticket_assignee'],
        ],
      );
    });

    it('denies every check once the grant is revoked', async () => {
      const grant = await createGrant(tokens.legalRep);
      await api.call('DELETE', `/v1/support-access-grants/${grant.id}`, { token: tokens.legalRep });
      const res = await check(grant.id, tokens.agent!, { resourceId: 'info@shop.test' });
      assertProblem(res, 403, 'access-denied');
      assert.equal(res.json.reason, 'grant_revoked');
    });

    it('never opens another kind: a kDrive grant does not cover the mail of the same ticket', async () => {
      const drive = await createGrant(tokens.legalRep, { kind: 'kdrive', resourceIds: ['folder-1'] });
      const res = await check(drive.id, tokens.agent!, { resourceId: 'info@shop.test', kind: 'mail' });
      assertProblem(res, 403, 'access-denied');
      assertProblem(await check(randomUUID(), tokens.agent!, { resourceId: 'x' }), 404, 'not-found');
    });
  });
});
