/**
 * `npm run record-histories`: runs each process through a representative path on the time-skipping
 * server and saves its event history to test/histories/, encrypted with the committed test key.
 * The replay test then replays them on every CI run: a workflow change that would break running
 * workflows fails the build. Re-record only on purpose, when a change is meant to be incompatible
 * (and shipped behind a patch or a new workflow type).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { SUPPORT_ACCESS_EXPIRY_MS } from '../lib/rules';
import { revokeUpdate, supportAccessWorkflowId } from '../workflows/shared/supportAccess';
import { database, insertActiveGrant, testClient, seedOrganization, teardownAll, timeSkippingEnv } from '../test/support/fixtures';
import { testWorker } from '../test/support/worker';

const out = (name: string) => path.join(__dirname, '..', 'test', 'histories', `${name}.json`);

(async () => {
  process.env.TEMPORAL_PROVISION_NO_DOWNLOAD ??= '1';
  const env = await timeSkippingEnv();
  const { db } = await database();
  const client = testClient(env);
  const { worker, taskQueue } = await testWorker(env);
  await worker.runUntil(async () => {
    const seed = await seedOrganization(db);

    const expiring = await insertActiveGrant(db, seed, 'mail');
    const a = await client.workflow.start('supportAccess', { workflowId: supportAccessWorkflowId(expiring.id), taskQueue, args: [{ grantId: expiring.id }] });
    await env.sleep(SUPPORT_ACCESS_EXPIRY_MS);
    await a.result();
    writeFileSync(out('support-access-expired'), historyToJSON(await a.fetchHistory()));

    const revoked = await insertActiveGrant(db, seed, 'kdrive');
    const b = await client.workflow.start('supportAccess', { workflowId: supportAccessWorkflowId(revoked.id), taskQueue, args: [{ grantId: revoked.id }] });
    await env.sleep('1 day');
    await b.executeUpdate(revokeUpdate, { args: [{ actor: `customer:${seed.legalRep.id}` }] });
    await b.result();
    writeFileSync(out('support-access-revoked'), historyToJSON(await b.fetchHistory()));
  });
  console.log('recorded test/histories/support-access-expired.json and support-access-revoked.json');
})()
  .catch((err: Error) => (console.error(err), (process.exitCode = 1)))
  .finally(() => teardownAll());
