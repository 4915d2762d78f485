import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { apiSuite } from '../support/api';
import { seedOrganization } from '../support/fixtures';
import { insertProduct } from '../support/orders';

/**
 * Issue 6's routes against every kind of caller, in one table. A 422 means the caller got past
 * authorization (the body is deliberately refused there, so the table changes nothing it should not).
 */
describe('authorization matrix: organizations, handover, partners (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const WHO = ['legalRep', 'admin', 'collaborator', 'outsider', 'partner', 'agent', 'system'] as const;

  it('answers each caller as the rules say', async () => {
    const { api, seed } = suite;
    const partnerOrg = await seedOrganization(api.db);
    await api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partnerOrg.org.id).execute();
    const partnerToken = await api.token('customer', partnerOrg.legalRep.id);
    const tokens: Record<(typeof WHO)[number], string> = { ...suite.tokens, partner: partnerToken };
    const { productId } = await insertProduct(api.db, seed);
    const activePartnership = async () => {
      const open = await api.db
        .selectFrom('partnerships')
        .select('id')
        .where('partner_organization_id', '=', partnerOrg.org.id)
        .where('client_organization_id', '=', seed.org.id)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (open) return open.id;
      const id = randomUUID();
      await api.db
        .insertInto('partnerships')
        .values({
          id,
          partner_organization_id: partnerOrg.org.id,
          client_organization_id: seed.org.id,
          invitation_id: null,
          access: 'full',
          billing: 'client',
          started_at: new Date(),
        })
        .execute();
      return id;
    };
    await activePartnership();
    const freshMember = async () => {
      const a = {
        id: randomUUID(),
        login_email: `extra-${randomUUID().slice(0, 8)}@customer.test`,
        display_name: 'Extra',
        mobile_phone: null,
        recovery_email: null,
      };
      await api.db.insertInto('accounts').values(a).execute();
      await api.db.insertInto('memberships').values({ organization_id: seed.org.id, account_id: a.id, role: 'collaborator' }).execute();
      return a.id;
    };
    const org = `/v1/organizations/${seed.org.id}`;
    const rows: { route: string; call: (token: string) => Promise<{ status: number }>; expect: number[] }[] = [
      {
        route: 'POST invitations',
        call: (t) => api.call('POST', `${org}/invitations`, { token: t, body: { email: `m-${randomUUID().slice(0, 8)}@x.test`, role: 'collaborator' } }),
        expect: [201, 201, 403, 404, 404, 403, 403],
      },
      { route: 'GET invitations', call: (t) => api.call('GET', `${org}/invitations`, { token: t }), expect: [200, 200, 403, 404, 404, 403, 403] },
      {
        route: 'PUT member role',
        call: (t) => api.call('PUT', `${org}/members/${seed.collaborator.id}/role`, { token: t, body: { role: 'collaborator' } }),
        expect: [200, 200, 403, 404, 404, 403, 403],
      },
      { route: 'PATCH organization', call: (t) => api.call('PATCH', org, { token: t, body: { name: 'Org' } }), expect: [200, 403, 403, 404, 404, 403, 403] },
      {
        route: 'DELETE member',
        call: async (t) => api.call('DELETE', `${org}/members/${await freshMember()}`, { token: t }),
        expect: [204, 204, 403, 404, 404, 403, 403],
      },
      {
        route: 'POST handover (to a non-member: 422 once authorized)',
        call: (t) =>
          api.call('POST', `${org}/legal-representative-handovers`, { token: t, body: { from: seed.legalRep.id, to: { accountId: seed.outsider.id } } }),
        expect: [422, 403, 404, 404, 404, 403, 403],
      },
      {
        route: 'POST partner application (refused: 422 once authorized)',
        call: (t) =>
          api.call('POST', '/v1/partner-applications', {
            token: t,
            body: { organizationId: seed.org.id, registryNumber: '', website: 'x', yearlyVolume: { amountCents: 0, currency: 'CHF' } },
          }),
        expect: [422, 403, 403, 404, 404, 403, 403],
      },
      {
        route: 'POST client invitation (for the partner)',
        call: (t) =>
          api.call('POST', `/v1/partners/${partnerOrg.org.id}/client-invitations`, {
            token: t,
            body: { clientEmail: `c-${randomUUID().slice(0, 6)}@x.test`, requested: { access: 'full', billing: 'client' } },
          }),
        expect: [404, 404, 404, 404, 201, 403, 403],
      },
      {
        route: 'GET client invitations (for the partner)',
        call: (t) => api.call('GET', `/v1/partners/${partnerOrg.org.id}/client-invitations`, { token: t }),
        expect: [404, 404, 404, 404, 200, 403, 403],
      },
      { route: "GET a client's product", call: (t) => api.call('GET', `/v1/products/${productId}`, { token: t }), expect: [200, 200, 200, 404, 200, 200, 200] },
      {
        route: "POST a client's product cancellation",
        call: (t) => api.call('POST', `/v1/products/${productId}/cancellation-requests`, { token: t }),
        expect: [202, 409, 403, 404, 404, 403, 403],
      },
      {
        route: 'DELETE partnership',
        call: async (t) => api.call('DELETE', `/v1/partnerships/${await activePartnership()}`, { token: t }),
        expect: [204, 204, 403, 404, 204, 403, 403],
      },
      {
        route: 'POST request for proposal',
        call: (t) =>
          api.call('POST', '/v1/requests-for-proposal', {
            token: t,
            body: { organizationId: seed.org.id, title: 'Need', summary: 'A need to fulfil', details: 'Long enough details' },
          }),
        expect: [201, 201, 403, 404, 404, 403, 403],
      },
    ];
    const mismatches: string[] = [];
    for (const row of rows) {
      const got: number[] = [];
      for (const who of WHO) got.push((await row.call(tokens[who])).status);
      if (got.join() !== row.expect.join()) mismatches.push(`${row.route}: got ${got.join(' ')} expected ${row.expect.join(' ')} (${WHO.join(' ')})`);
    }
    assert.deepEqual(mismatches, []);
  });
});
