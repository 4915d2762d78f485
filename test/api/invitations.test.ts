import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { apiSuite, assertProblem } from '../support/api';
import { smtpCapture } from '../support/fixtures';
import { insertProduct } from '../support/orders';
import { eventually } from '../support/renewal';

describe('membership API: invitations, roles, details (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const LINK = /\/invitations\/([A-Za-z0-9_-]{43})\b/;
  const newAccount = async () => {
    const a = {
      id: randomUUID(),
      login_email: `new-${randomUUID().slice(0, 8)}@customer.test`,
      display_name: 'Newcomer',
      mobile_phone: null,
      recovery_email: null,
    };
    await suite.api.db.insertInto('accounts').values(a).execute();
    return a;
  };

  it('invites with a role, products and contact preferences; the invitee joins once, signed in with that address', async () => {
    const { org } = suite.seed;
    const { productId } = await insertProduct(suite.api.db, suite.seed);
    const invitee = await newAccount();
    const sent = await suite.api.call('POST', `/v1/organizations/${org.id}/invitations`, {
      token: suite.tokens.admin,
      body: { email: invitee.login_email, role: 'collaborator', productIds: [productId], contactPreferences: { technical: true } },
    });
    assert.equal(sent.status, 201, sent.text);
    assert.equal(sent.json.status, 'pending');
    const item = await eventually(async () => {
      const listed = await suite.api.call('GET', `/v1/organizations/${org.id}/invitations`, { token: suite.tokens.legalRep });
      const found = listed.json.items.find((i: { id: string }) => i.id === sent.json.id);
      assert.ok(found?.sentAt && found.expiresAt, 'pending invitations show when they were sent and when they expire');
      return found;
    });
    assert.equal(Date.parse(item.expiresAt) - Date.parse(item.sentAt) > 29 * 86_400_000, true);
    assertProblem(
      await suite.api.call('POST', `/v1/organizations/${org.id}/invitations`, {
        token: suite.tokens.admin,
        body: { email: invitee.login_email, role: 'administrator' },
      }),
      409,
      'conflict',
    );

    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && LINK.test(m.text));
    const token = LINK.exec(mail.text)![1]!;
    assertProblem(await suite.api.call('POST', `/v1/invitations/${token}/accept`, { token: suite.tokens.outsider }), 403, 'invitation-not-for-you');
    const inviteeToken = await suite.api.token('customer', invitee.id);
    const joined = await suite.api.call('POST', `/v1/invitations/${token}/accept`, { token: inviteeToken });
    assert.equal(joined.status, 200, joined.text);
    assertProblem(await suite.api.call('POST', `/v1/invitations/${token}/accept`, { token: inviteeToken }), 404, 'invitation-link-invalid');
    const m = await suite.api.db
      .selectFrom('memberships')
      .selectAll()
      .where('organization_id', '=', org.id)
      .where('account_id', '=', invitee.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([m.role, m.product_ids, m.contact_preferences], ['collaborator', [productId], { technical: true }]);
    await (await smtpCapture()).waitFor((e) => e.to.includes(suite.seed.admin.login_email) && /was accepted/.test(e.subject));
  });

  it('cancels a pending invitation: its link stops working', async () => {
    const invitee = await newAccount();
    const sent = await suite.api.call('POST', `/v1/organizations/${suite.seed.org.id}/invitations`, {
      token: suite.tokens.legalRep,
      body: { email: invitee.login_email, role: 'administrator' },
    });
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && LINK.test(m.text));
    const path = `/v1/organizations/${suite.seed.org.id}/invitations/${sent.json.id}`;
    assert.equal((await suite.api.call('DELETE', path, { token: suite.tokens.admin })).status, 204);
    assertProblem(await suite.api.call('DELETE', path, { token: suite.tokens.admin }), 409, 'conflict');
    assertProblem(await suite.api.call('POST', `${path}/resend`, { token: suite.tokens.admin }), 409, 'conflict');
    assertProblem(
      await suite.api.call('POST', `/v1/invitations/${LINK.exec(mail.text)![1]}/accept`, { token: await suite.api.token('customer', invitee.id) }),
      404,
      'invitation-link-invalid',
    );
  });

  it('refuses a resend within the hour with 429', async () => {
    const invitee = await newAccount();
    const sent = await suite.api.call('POST', `/v1/organizations/${suite.seed.org.id}/invitations`, {
      token: suite.tokens.admin,
      body: { email: invitee.login_email, role: 'collaborator' },
    });
    assertProblem(
      await suite.api.call('POST', `/v1/organizations/${suite.seed.org.id}/invitations/${sent.json.id}/resend`, { token: suite.tokens.admin }),
      429,
      'invitation-resend-limit',
    );
  });

  it('changes roles and details by the rules: administrators manage members, only a legal representative touches the details or a legal representative', async () => {
    const { org, legalRep, admin, collaborator } = suite.seed;
    const role = (who: string, token: string, r: string) =>
      suite.api.call('PUT', `/v1/organizations/${org.id}/members/${who}/role`, { token, body: { role: r } });
    assert.equal((await role(collaborator.id, suite.tokens.admin, 'administrator')).status, 200);
    assertProblem(await role(legalRep.id, suite.tokens.admin, 'collaborator'), 403, 'forbidden');
    assertProblem(await role(legalRep.id, suite.tokens.legalRep, 'administrator'), 409, 'last-legal-representative');
    const details = (token: string) => suite.api.call('PATCH', `/v1/organizations/${org.id}`, { token, body: { name: 'Renamed SA' } });
    assertProblem(await details(suite.tokens.admin), 403, 'forbidden');
    assert.equal((await details(suite.tokens.legalRep)).status, 200);
    assert.equal((await suite.api.db.selectFrom('organizations').select('name').where('id', '=', org.id).executeTakeFirstOrThrow()).name, 'Renamed SA');
    // The role is given without removing anyone (issue 17, item 8), by a legal representative only.
    assertProblem(await role(collaborator.id, suite.tokens.admin, 'legal_representative'), 403, 'forbidden');
    assert.equal((await role(admin.id, suite.tokens.legalRep, 'legal_representative')).status, 200);
  });

  it('authorization matrix of the membership routes', async () => {
    const { org, admin } = suite.seed;
    const invitee = await newAccount();
    const sent = await suite.api.call('POST', `/v1/organizations/${org.id}/invitations`, {
      token: suite.tokens.admin,
      body: { email: invitee.login_email, role: 'collaborator' },
    });
    const routes: { name: string; call: (token: string) => Promise<{ status: number; json: any }> }[] = [
      {
        name: 'invite',
        call: (t) =>
          suite.api.call('POST', `/v1/organizations/${org.id}/invitations`, {
            token: t,
            body: { email: `m-${randomUUID().slice(0, 6)}@x.test`, role: 'collaborator' },
          }),
      },
      { name: 'list', call: (t) => suite.api.call('GET', `/v1/organizations/${org.id}/invitations`, { token: t }) },
      { name: 'resend', call: (t) => suite.api.call('POST', `/v1/organizations/${org.id}/invitations/${sent.json.id}/resend`, { token: t }) },
      {
        name: 'role',
        call: (t) => suite.api.call('PUT', `/v1/organizations/${org.id}/members/${admin.id}/role`, { token: t, body: { role: 'administrator' } }),
      },
      { name: 'details', call: (t) => suite.api.call('PATCH', `/v1/organizations/${org.id}`, { token: t, body: { name: 'Same' } }) },
    ];
    // Expected status per role: legal representative, administrator, collaborator, outsider, agent, system.
    const expected: Record<string, number[]> = {
      invite: [201, 201, 403, 404, 403, 403],
      list: [200, 200, 403, 404, 403, 403],
      resend: [429, 429, 403, 404, 403, 403],
      role: [200, 200, 403, 404, 403, 403],
      details: [200, 403, 403, 404, 403, 403],
    };
    const tokens = [suite.tokens.legalRep, suite.tokens.admin, suite.tokens.collaborator, suite.tokens.outsider, suite.tokens.agent, suite.tokens.system];
    for (const route of routes) {
      const got: number[] = [];
      for (const t of tokens) got.push((await route.call(t)).status);
      assert.deepEqual(got, expected[route.name], route.name);
    }
  });
});
