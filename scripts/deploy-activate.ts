/**
 * `npm run deploy:activate -- <build id>`: the last step of a rolling deploy of workflow code
 * (temporal/deployments.ts). Once the workers of the new build are up, new processes start on it
 * and renewal runs move to it; processes pinned to earlier builds finish on their workers, which
 * stop once `temporal worker deployment describe-version` says their version has drained.
 */
import { createDataConverter } from '../temporal/dataConverter';
import { connectClient } from '../temporal/client';
import { activateBuild } from '../temporal/deployments';
import { loadKeyring } from '../temporal/keys';
import { loadConfig } from '../lib/config';

const buildId = process.argv[2];
if (!buildId || !/^[A-Za-z0-9._-]{1,100}$/.test(buildId)) {
  console.error('usage: npm run deploy:activate -- <build id of the workers just started>');
  process.exit(2);
}

(async () => {
  const config = loadConfig();
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
  const client = await connectClient({ address, namespace: config.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(loadKeyring(config)) });
  try {
    await activateBuild(client, { namespace: config.TEMPORAL_NAMESPACE, deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId });
    console.log(`build ${buildId} of deployment ${config.WORKER_DEPLOYMENT_NAME} is current: new processes start on it`);
  } finally {
    await client.connection.close();
  }
})().catch((err: unknown) => (console.error(err instanceof Error ? err.message : String(err)), process.exit(1)));
