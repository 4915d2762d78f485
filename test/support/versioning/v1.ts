// Version A of a workflow that changes between deploys (test/e2e/workerVersioning.test.ts).
import { condition, defineSignal, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

export const proceed = defineSignal('proceed');

export async function versionedGreeting(): Promise<string> {
  let go = false;
  setHandler(proceed, () => void (go = true));
  await condition(() => go);
  return 'A';
}

/** Long-running: moves to the new version at its next task (auto-upgrade). */
export async function versionedLongRun(): Promise<string> {
  let go = false;
  setHandler(proceed, () => void (go = true));
  await condition(() => go);
  return 'A';
}
// As workflows/renewal.ts declares it: auto-upgrade on a versioned worker only.
setWorkflowOptions(() => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}), versionedLongRun);
