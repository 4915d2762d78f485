import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { lockOrganization } from '../../db/repositories/organizations';
import { database, seedOrganization } from '../support/fixtures';
import { realActivities } from '../support/worker';

// The handover's transfer (promote the new representative, remove the former, one transaction)
// racing with direct removals of every representative: PostgreSQL keeps at least one, every time.
describe('legal representatives under racing handover transfers and removals (PostgreSQL)', function () {
  this.timeout(120_000);

  it('never reaches zero legal representatives (40 rounds)', async () => {
    const { db } = await database();
    const acts = await realActivities();
    let refusedRemovals = 0;
    for (let round = 0; round < 40; round += 1) {
      const seed = await seedOrganization(db);
      const second = {
        id: randomUUID(),
        login_email: `second-${randomUUID().slice(0, 8)}@customer.test`,
        display_name: 'Second',
        mobile_phone: null,
        recovery_email: null,
      };
      await db.insertInto('accounts').values(second).execute();
      await db.insertInto('memberships').values({ organization_id: seed.org.id, account_id: second.id, role: 'legal_representative' }).execute();
      const handoverId = randomUUID();
      await db
        .insertInto('legal_rep_handovers')
        .values({
          id: handoverId,
          organization_id: seed.org.id,
          requested_by: seed.legalRep.id,
          from_account_id: seed.legalRep.id,
          to_account_id: seed.admin.id,
          to_email: null,
          token_hash: null,
          status: 'transferring',
          requested_at: new Date(),
          expires_at: null,
        })
        .execute();
      // Removals as the API makes them (the organization locked first, then the row).
      const remove = (accountId: string) =>
        db
          .transaction()
          .execute(async (trx) => {
            await lockOrganization(trx, seed.org.id);
            await trx.deleteFrom('memberships').where('organization_id', '=', seed.org.id).where('account_id', '=', accountId).execute();
          })
          .then(
            () => 'removed',
            (err: { constraint?: string; code?: string }) => {
              assert.equal(err.constraint, 'memberships_legal_representative_required', `refused otherwise: ${err.code}`);
              refusedRemovals += 1;
              return 'refused';
            },
          );
      const [transfer] = await Promise.all([
        acts.transferLegalRepresentation({ handoverId, acceptedBy: null }).then(
          () => 'done',
          (err: Error) => err.message,
        ),
        remove(second.id),
        remove(seed.admin.id),
        remove(seed.legalRep.id),
      ]);
      const reps = await db
        .selectFrom('memberships')
        .select('account_id')
        .where('organization_id', '=', seed.org.id)
        .where('role', '=', 'legal_representative')
        .execute();
      assert.ok(reps.length >= 1, `round ${round}: no legal representative left (transfer: ${transfer})`);
    }
    assert.ok(refusedRemovals > 0, 'the races did reach the last representative');
  });
});
