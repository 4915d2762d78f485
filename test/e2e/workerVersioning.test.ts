// Issue 21, item 4: a deploy of changed workflow code never breaks a running process. Version A's
// workers run; a process starts on A; version B (the same workflow types, changed code) is
// deployed next to A and made current: the pinned process finishes on A's code, new processes run
// B's, and a process declared auto-upgrade moves to B at its next task.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createDataConverter } from '../../temporal/dataConverter';
import { activateBuild, deploymentOptions } from '../../temporal/deployments';
import { bundleWorkflows, createWorker } from '../../temporal/worker';
import { devServerEnv, fixtureKeyring } from '../support/fixtures';
import { realActivities } from '../support/worker';

describe('worker versioning: a rolling deploy of workflow code (dev server)', function () {
  this.timeout(180_000);
  const running: { worker: Worker; run: Promise<void> }[] = [];
  after(async () => {
    for (const r of running) r.worker.shutdown();
    await Promise.all(running.map((r) => r.run));
  });

  it('versions a worker only with a build id, pinning its processes by default', () => {
    assert.equal(deploymentOptions({ WORKER_DEPLOYMENT_NAME: 'backoffice', WORKER_BUILD_ID: undefined }), undefined, 'unversioned without a build id');
    assert.deepEqual(deploymentOptions({ WORKER_DEPLOYMENT_NAME: 'backoffice', WORKER_BUILD_ID: 'abc123' }), {
      version: { deploymentName: 'backoffice', buildId: 'abc123' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
  });

  it('finishes a process started on A with A’s code while new processes take B, and moves an auto-upgrade process to B', async () => {
    const env = await devServerEnv();
    const dataConverter = createDataConverter(fixtureKeyring());
    const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter });
    const namespace = env.namespace ?? 'default';
    const taskQueue = `versioning-${randomUUID()}`;
    const config = { WORKER_DEPLOYMENT_NAME: `backoffice-${randomUUID().slice(0, 8)}` };
    const start = async (buildId: string, file: string) => {
      const worker = await createWorker({
        connection: env.nativeConnection,
        namespace,
        taskQueue,
        dataConverter,
        activities: await realActivities(),
        workflowBundle: await bundleWorkflows(require.resolve(file)),
        deployment: deploymentOptions({ ...config, WORKER_BUILD_ID: buildId })!,
      });
      running.push({ worker, run: worker.run() });
    };

    await start('build-a', '../support/versioning/v1');
    await activateBuild(client, { namespace, deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: 'build-a' });
    const begun = await client.workflow.start('versionedGreeting', { taskQueue, workflowId: `pinned-${randomUUID()}` });
    const longRun = await client.workflow.start('versionedLongRun', { taskQueue, workflowId: `long-${randomUUID()}` });
    // Both have run their first task on A before B exists.
    for (const h of [begun, longRun]) for (let i = 0; (await h.describe()).historyLength < 4 && i < 100; i++) await new Promise((r) => setTimeout(r, 100));

    await start('build-b', '../support/versioning/v2');
    await activateBuild(client, { namespace, deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: 'build-b' });
    const after = await client.workflow.start('versionedGreeting', { taskQueue, workflowId: `new-${randomUUID()}` });

    for (const h of [begun, longRun, after]) await h.signal('proceed');
    assert.equal(await begun.result(), 'A', 'the process started on A finishes on A');
    assert.equal(await after.result(), 'B', 'a new process takes B');
    assert.equal(await longRun.result(), 'B', 'the auto-upgrade process moved to B');
    const pinned = (await begun.describe()).raw.workflowExecutionInfo?.versioningInfo;
    assert.equal(pinned?.deploymentVersion?.buildId ?? pinned?.version?.split('.').pop(), 'build-a');
  });
});
