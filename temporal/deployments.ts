/**
 * Safe deploys of workflow code (issue 21, item 4), on Temporal's worker deployments. A worker
 * started with WORKER_BUILD_ID polls as that version of the deployment WORKER_DEPLOYMENT_NAME; new
 * processes go to the deployment's current version, which an operator sets once the new workers are
 * up (`npm run deploy:activate -- <build id>`).
 *
 * Pinned by default: a process runs to its end on the code it started with, so its history never
 * meets other code; the old workers stay up until their pinned processes have drained (30 days for
 * an invitation). The renewal run is the exception: it lives as long as its product, so on a
 * versioned worker it is auto-upgrade (workflows/renewal.ts) and follows the current build at its
 * next task, its changes going behind patched(). It declares that only on a versioned worker: the
 * server refuses the task of a workflow declaring a behavior on an unversioned one (npm start).
 * Without WORKER_BUILD_ID (development), workers are unversioned.
 */
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

export function deploymentOptions(config: { WORKER_DEPLOYMENT_NAME: string; WORKER_BUILD_ID?: string | undefined }): WorkerDeploymentOptions | undefined {
  if (!config.WORKER_BUILD_ID) return undefined;
  return {
    version: { deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: config.WORKER_BUILD_ID },
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'PINNED',
  };
}

const COMPLETED = temporal.api.enums.v1.RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED;

/**
 * Makes `buildId` the current version: new processes start on it, auto-upgrade ones move to it.
 * Waits until a worker of that version has polled (the server refuses an unknown version) and the
 * routing has reached every task queue, so a process started right after lands on it.
 */
export async function activateBuild(client: Client, opts: { namespace: string; deploymentName: string; buildId: string; timeoutMs?: number }): Promise<void> {
  const until = Date.now() + (opts.timeoutMs ?? 60_000);
  const wait = () => new Promise((resolve) => setTimeout(resolve, 250));
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: opts.namespace, deploymentName: opts.deploymentName, buildId: opts.buildId });
      break;
    } catch (err) {
      if (Date.now() > until) throw new Error(`no worker of build ${opts.buildId} has polled yet: ${(err as Error).message}`);
      await wait();
    }
  }
  for (;;) {
    const d = await client.workflowService.describeWorkerDeployment({ namespace: opts.namespace, deploymentName: opts.deploymentName });
    const info = d.workerDeploymentInfo;
    const current = info?.routingConfig?.currentDeploymentVersion?.buildId;
    if (current === opts.buildId && (info?.routingConfigUpdateState ?? COMPLETED) === COMPLETED) return;
    if (Date.now() > until) throw new Error(`the routing to build ${opts.buildId} did not complete in time`);
    await wait();
  }
}
