import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { handoverWorkflowId } from '../../workflows/shared/handover';
import { apiSuite, assertProblem } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { eventually } from '../support/renewal';

describe('legal-representative handover API (dev server + PostgreSQL)', function () {
  this.timeout(180_000);
  const suite = apiSuite();
  const LINK = /\/handover\/([A-Za-z0-9_-]{43})\b/;

  const roles = async (orgId: string) =>
    Object.fromEntries(
      (await suite.api.db.selectFrom('memberships').select(['account_id', 'role']).where('organization_id', '=', orgId).execute()).map((m) => [
        m.account_id,
        m.role,
      ]),
    );
  const start = (orgId: string, token: string, body: unknown) =>
    suite.api.call('POST', `/v1/organizations/${orgId}/legal-representative-handovers`, { token, body });
  const finished = (orgId: string, id: string, token: string) =>
    eventually(async () => {
      const r = await suite.api.call('GET', `/v1/organizations/${orgId}/legal-representative-handovers/${id}`, { token });
      assert.ok(['completed', 'lapsed', 'cancelled'].includes(r.json?.status), JSON.stringify(r.json));
      return r.json;
    });

  it('hands over to a member: the new one gets the role first, the former one leaves, the members with rights are told', async () => {
    const { org, legalRep, admin, collaborator } = suite.seed;
    const res = await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: admin.id } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.status, 'transferring');
    const done = await finished(org.id, res.json.id, suite.tokens.admin);
    assert.equal(done.to, admin.id);
    assert.deepEqual(await roles(org.id), { [admin.id]: 'legal_representative', [collaborator.id]: 'collaborator' });
    const smtp = await smtpCapture();
    assert.match(
      (await smtp.waitFor((m) => m.to.includes(admin.login_email) && /New legal representative/.test(m.subject))).text,
      /You are now the legal representative/,
    );
    assert.match(
      (await smtp.waitFor((m) => m.to.includes(legalRep.login_email) && /New legal representative/.test(m.subject))).text,
      /removed from the organization/,
    );
    assert.ok(
      !smtp.messages().some((m) => m.to.includes(collaborator.login_email) && /New legal representative/.test(m.subject)),
      'collaborators have no rights to be told about',
    );
  });

  it('keeps the former representative as a member with the role they chose, and only they choose it (issue 17, item 8)', async () => {
    const { org, legalRep, admin, collaborator } = suite.seed;
    // A second legal representative may not decide for the first that they stay.
    assert.equal(
      (
        await suite.api.call('PUT', `/v1/organizations/${org.id}/members/${admin.id}/role`, {
          token: suite.tokens.legalRep,
          body: { role: 'legal_representative' },
        })
      ).status,
      200,
    );
    const forOther = await start(org.id, suite.tokens.admin, { from: legalRep.id, to: { accountId: collaborator.id }, formerStaysAs: 'administrator' });
    assertProblem(forOther, 422, 'handover-invalid');

    const res = await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: collaborator.id }, formerStaysAs: 'collaborator' });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.formerStaysAs, 'collaborator');
    const done = await finished(org.id, res.json.id, suite.tokens.admin);
    assert.equal(done.status, 'completed');
    assert.deepEqual(await roles(org.id), { [legalRep.id]: 'collaborator', [admin.id]: 'legal_representative', [collaborator.id]: 'legal_representative' });
    const told = await (await smtpCapture()).waitFor((m) => m.to.includes(legalRep.login_email) && /New legal representative/.test(m.subject));
    assert.match(told.text, /as you chose, you stay in the organization as a collaborator/);
  });

  it('gives the role to a member without removing anyone; only a legal representative gives it, and never takes the last one away (issue 17, item 8)', async () => {
    const { org, legalRep, admin, collaborator } = suite.seed;
    const setRole = (token: string, who: string, role: string) =>
      suite.api.call('PUT', `/v1/organizations/${org.id}/members/${who}/role`, { token, body: { role } });
    assertProblem(await setRole(suite.tokens.admin, collaborator.id, 'legal_representative'), 403, 'forbidden');
    const promoted = await setRole(suite.tokens.legalRep, admin.id, 'legal_representative');
    assert.equal(promoted.status, 200, promoted.text);
    assert.deepEqual(promoted.json, { accountId: admin.id, role: 'legal_representative' });
    assert.deepEqual(await roles(org.id), { [legalRep.id]: 'legal_representative', [admin.id]: 'legal_representative', [collaborator.id]: 'collaborator' });
    // Two representatives: either may step back, but not both.
    assert.equal((await setRole(suite.tokens.admin, legalRep.id, 'administrator')).status, 200);
    assertProblem(await setRole(suite.tokens.admin, admin.id, 'collaborator'), 409, 'last-legal-representative');
    const audited = await suite.api.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'organization.member_role_changed')
      .where('subject_id', '=', org.id)
      .orderBy('at')
      .execute();
    assert.deepEqual(audited[0]?.details, { accountId: admin.id, from: 'administrator', to: 'legal_representative' });
  });

  it('invites by email: nothing changes until the invitee accepts, signed in with that address; the link works once', async () => {
    const { org, legalRep, outsider } = suite.seed;
    const invitee = {
      id: randomUUID(),
      login_email: `heir-${randomUUID().slice(0, 8)}@customer.test`,
      display_name: 'Heir',
      mobile_phone: null,
      recovery_email: null,
    };
    await suite.api.db.insertInto('accounts').values(invitee).execute();
    const res = await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { email: invitee.login_email } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual([res.json.status, res.json.invitation, res.json.to], ['awaiting_acceptance', true, null]);
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(invitee.login_email) && LINK.test(m.text));
    const token = LINK.exec(mail.text)![1]!;
    assert.equal((await roles(org.id))[legalRep.id], 'legal_representative', 'nothing moves before acceptance');

    assertProblem(
      await suite.api.call('POST', `/v1/legal-representative-invitations/${token}/accept`, { token: suite.tokens.outsider }),
      403,
      'invitation-not-for-you',
    );
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: suite.seed.admin.id } }), 409, 'handover-pending');
    const inviteeToken = await suite.api.token('customer', invitee.id);
    const accepted = await suite.api.call('POST', `/v1/legal-representative-invitations/${token}/accept`, { token: inviteeToken });
    assert.equal(accepted.status, 202, accepted.text);
    assertProblem(
      await suite.api.call('POST', `/v1/legal-representative-invitations/${token}/accept`, { token: inviteeToken }),
      404,
      'invitation-link-invalid',
    );
    const done = await finished(org.id, res.json.id, suite.tokens.admin);
    assert.equal(done.to, invitee.id);
    const after = await roles(org.id);
    assert.equal(after[invitee.id], 'legal_representative');
    assert.equal(after[legalRep.id], undefined);
    assert.equal(after[outsider.id], undefined);
  });

  it('lets only a legal representative hand over, between the right people, one handover at a time; an invitation can be cancelled', async () => {
    const { org, legalRep, admin, collaborator, outsider } = suite.seed;
    assertProblem(await start(org.id, suite.tokens.admin, { from: legalRep.id, to: { accountId: admin.id } }), 403, 'forbidden');
    assertProblem(await start(org.id, suite.tokens.collaborator, { from: legalRep.id, to: { accountId: admin.id } }), 404, 'not-found');
    assertProblem(await start(org.id, suite.tokens.outsider, { from: legalRep.id, to: { accountId: admin.id } }), 404, 'not-found');
    assertProblem(await start(org.id, suite.tokens.agent, { from: legalRep.id, to: { accountId: admin.id } }), 403, 'forbidden');
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: admin.id, to: { accountId: collaborator.id } }), 422, 'handover-invalid');
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: outsider.id } }), 422, 'handover-invalid');
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: legalRep.id } }), 422, 'handover-invalid');
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { email: 'not-an-address' } }), 400, 'validation-failed');
    assertProblem(await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: admin.id, email: 'x@y.test' } }), 400, 'validation-failed');

    const invited = await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { email: `someone-${randomUUID().slice(0, 6)}@elsewhere.test` } });
    assert.equal(invited.status, 202, invited.text);
    const path = `/v1/organizations/${org.id}/legal-representative-handovers/${invited.json.id}`;
    assertProblem(await suite.api.call('GET', path, { token: suite.tokens.collaborator }), 404, 'not-found');
    assertProblem(await suite.api.call('DELETE', path, { token: suite.tokens.admin }), 403, 'forbidden');
    const cancelled = await suite.api.call('DELETE', path, { token: suite.tokens.legalRep });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.json.status, 'cancelled');
    assert.equal((await roles(org.id))[legalRep.id], 'legal_representative');
    const next = await start(org.id, suite.tokens.legalRep, { from: legalRep.id, to: { accountId: admin.id } });
    assert.equal(next.status, 202, 'a new handover may follow a cancelled one');
    await finished(org.id, next.json.id, suite.tokens.admin);
  });

  it('never leaves an organization without a legal representative when handovers and removals race (25 rounds)', async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 25; round += 1) {
      const seed = await seedOrganization(suite.api.db);
      const second = {
        id: randomUUID(),
        login_email: `second-${randomUUID().slice(0, 8)}@customer.test`,
        display_name: 'Second',
        mobile_phone: null,
        recovery_email: null,
      };
      await suite.api.db.insertInto('accounts').values(second).execute();
      await suite.api.db.insertInto('memberships').values({ organization_id: seed.org.id, account_id: second.id, role: 'legal_representative' }).execute();
      const a = await suite.api.token('customer', seed.legalRep.id);
      const b = await suite.api.token('customer', second.id);
      // Two handovers of the same organization, and each representative removing the other, at once.
      const [h1, h2, d1, d2] = await Promise.all([
        start(seed.org.id, a, { from: seed.legalRep.id, to: { accountId: seed.admin.id } }),
        start(seed.org.id, b, { from: second.id, to: { accountId: seed.collaborator.id } }),
        suite.api.call('DELETE', `/v1/organizations/${seed.org.id}/members/${second.id}`, { token: a }),
        suite.api.call('DELETE', `/v1/organizations/${seed.org.id}/members/${seed.legalRep.id}`, { token: b }),
      ]);
      const started = [h1, h2].filter((r) => r.status === 202);
      assert.ok(started.length <= 1, 'one handover at a time per organization');
      for (const r of [h1, h2]) if (r.status !== 202) assert.ok([409, 404, 422, 403].includes(r.status), `${r.status} ${r.text}`);
      for (const d of [d1, d2]) assert.ok([204, 409, 404].includes(d.status), `${d.status} ${d.text}`);
      if (started[0])
        await eventually(async () => {
          const { status } = await suite.api.client.workflow.getHandle(handoverWorkflowId(seed.org.id)).describe();
          assert.notEqual(status.name, 'RUNNING');
        });
      const reps = Object.values(await roles(seed.org.id)).filter((r) => r === 'legal_representative').length;
      assert.ok(reps >= 1, `round ${round}: ${reps} legal representatives`);
      const key = `${[h1.status, h2.status].sort().join('/')} ${[d1.status, d2.status].sort().join('/')}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(`      race outcomes (handovers, removals → rounds): ${[...outcomes].map(([k, n]) => `${k} → ${n}`).join('; ')}`);
  });
});
