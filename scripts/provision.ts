// `npm run provision`: makes sure both Temporal servers are available (cached, downloadable or built)
// and prints where they are. Env: TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH, TEMPORAL_PROVISION_NO_DOWNLOAD=1.
import { cacheRoot, ensureDevServer, ensureTestServer, type ServerExecutable } from '../temporal/provision';

const show = (exe: ServerExecutable) => (exe.type === 'existing-path' ? exe.path : 'downloaded by the Temporal SDK on first use');

(async () => {
  const dev = await ensureDevServer();
  const test = await ensureTestServer();
  console.log(`Temporal CLI (dev server):            ${show(dev)}\nTemporal time-skipping test server:   ${show(test)}\ncache: ${cacheRoot()}`);
})().catch((err: unknown) => {
  console.error(`provisioning failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
