// Version B of the same workflows: the code after the wait changed (test/e2e/workerVersioning.test.ts).
import { condition, defineSignal, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

export const proceed = defineSignal('proceed');

export async function versionedGreeting(): Promise<string> {
  let go = false;
  setHandler(proceed, () => void (go = true));
  await condition(() => go);
  return 'B';
}

export async function versionedLongRun(): Promise<string> {
  let go = false;
  setHandler(proceed, () => void (go = true));
  await condition(() => go);
  return 'B';
}
// As workflows/renewal.ts declares it: auto-upgrade on a versioned worker only.
setWorkflowOptions(() => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}), versionedLongRun);
