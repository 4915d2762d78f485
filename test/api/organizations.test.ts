import { strict as assert } from 'node:assert';
import { seedOrganization } from '../support/fixtures';
import { apiSuite, assertProblem } from '../support/api';

describe('organization members API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const remove = (orgId: string, accountId: string, token: string) => suite.api.call('DELETE', `/v1/organizations/${orgId}/members/${accountId}`, { token });
  const legalReps = async (orgId: string) =>
    (
      await suite.api.db
        .selectFrom('memberships')
        .select('account_id')
        .where('organization_id', '=', orgId)
        .where('role', '=', 'legal_representative')
        .execute()
    ).length;

  it('lets members leave and managers remove, but never the last legal representative', async () => {
    const { seed, tokens } = suite;
    assertProblem(await remove(seed.org.id, seed.legalRep.id, tokens.legalRep), 409, 'last-legal-representative');
    assertProblem(await remove(seed.org.id, seed.legalRep.id, tokens.admin), 403, 'forbidden');
    assertProblem(await remove(seed.org.id, seed.admin.id, tokens.collaborator), 403, 'forbidden');
    assertProblem(await remove(seed.org.id, seed.admin.id, tokens.outsider), 404, 'not-found');
    assert.equal((await remove(seed.org.id, seed.collaborator.id, tokens.collaborator)).status, 204, 'a collaborator leaves');
    assert.equal((await remove(seed.org.id, seed.admin.id, tokens.legalRep)).status, 204);
    assert.equal(await legalReps(seed.org.id), 1);
  });

  it('never ends with zero legal representatives when both leave, or remove each other, at once (20 rounds each)', async () => {
    for (let round = 0; round < 40; round++) {
      const seed = await seedOrganization(suite.api.db);
      await suite.api.db
        .updateTable('memberships')
        .set({ role: 'legal_representative' })
        .where('organization_id', '=', seed.org.id)
        .where('account_id', '=', seed.admin.id)
        .execute();
      const [a, b] = [await suite.api.token('customer', seed.legalRep.id), await suite.api.token('customer', seed.admin.id)];
      const mutual = round % 2 === 1;
      const results = await Promise.all(
        mutual
          ? [remove(seed.org.id, seed.admin.id, a), remove(seed.org.id, seed.legalRep.id, b)]
          : [remove(seed.org.id, seed.legalRep.id, a), remove(seed.org.id, seed.admin.id, b)],
      );
      const statuses = results.map((r) => r.status).sort();
      // Leaving together: the database refuses the second. Removing each other: the second remover
      // may already be gone (404) or be refused (409). Never both.
      const allowed = mutual
        ? [
            [204, 404],
            [204, 409],
          ]
        : [[204, 409]];
      assert.ok(
        allowed.some((x) => x.join() === statuses.join()),
        `round ${round}: ${results.map((r) => r.text).join(' | ')}`,
      );
      assert.equal(await legalReps(seed.org.id), 1, `round ${round}`);
    }
  });

  it('holds in the database whoever writes: demoting the last legal representative is refused', async () => {
    const seed = await seedOrganization(suite.api.db);
    await assert.rejects(
      suite.api.db
        .updateTable('memberships')
        .set({ role: 'administrator' })
        .where('organization_id', '=', seed.org.id)
        .where('account_id', '=', seed.legalRep.id)
        .execute(),
      /must keep at least one legal representative/,
    );
    // Deleting the organization takes its memberships with it.
    await suite.api.db.deleteFrom('support_tickets').where('organization_id', '=', seed.org.id).execute();
    await suite.api.db.deleteFrom('organizations').where('id', '=', seed.org.id).execute();
  });

  it('refuses to let a member leave while their login address is hosted by the organization, or while they hold a kSuite seat', async () => {
    const { org, admin, collaborator } = suite.seed;
    const domain = admin.login_email.split('@')[1]!;
    await suite.api.db.insertInto('organization_mail_domains').values({ organization_id: org.id, domain }).execute();
    assertProblem(
      await suite.api.call('DELETE', `/v1/organizations/${org.id}/members/${admin.id}`, { token: suite.tokens.admin }),
      409,
      'login-address-hosted',
    );
    await suite.api.db.deleteFrom('organization_mail_domains').where('organization_id', '=', org.id).execute();
    await suite.api.db
      .updateTable('memberships')
      .set({ in_ksuite: true })
      .where('organization_id', '=', org.id)
      .where('account_id', '=', collaborator.id)
      .execute();
    assertProblem(
      await suite.api.call('DELETE', `/v1/organizations/${org.id}/members/${collaborator.id}`, { token: suite.tokens.collaborator }),
      409,
      'part-of-ksuite',
    );
    assert.equal(
      (await suite.api.call('DELETE', `/v1/organizations/${org.id}/members/${admin.id}`, { token: suite.tokens.admin })).status,
      204,
      'free to leave once nothing holds them',
    );
  });
});
