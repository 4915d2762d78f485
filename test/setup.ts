// Mocha root hooks: stop every shared server the tests started, so the run leaves no process behind.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { teardownAll } from './support/fixtures';

// Workers log state changes at INFO; tests want only what went wrong.
Runtime.install({ logger: new DefaultLogger('WARN') });

process.env.TEMPORAL_PROVISION_NO_DOWNLOAD ??= '1';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await teardownAll();
  },
};
