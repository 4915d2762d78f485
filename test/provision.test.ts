// Provisioning of the Temporal servers and the environments started from them (temporal/provision.ts, temporal/servers.ts).
import { execFileSync } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import { ensureDevServer, ensureTestServer } from '../temporal/provision';
import { startDevServer, startTimeSkippingServer } from '../temporal/servers';

const quiet = () => undefined;

/** Pids of this process's `java` children (the wrapper execs java, so the JVM is our direct child). */
function javaChildren(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', 'java'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('provisioning of the Temporal servers', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['TEMPORAL_CLI_PATH', 'TEMPORAL_TEST_SERVER_PATH']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('fails naming the variable when an explicit path is missing', async () => {
    process.env.TEMPORAL_CLI_PATH = '/nonexistent/temporal';
    await assert.rejects(ensureDevServer({ log: quiet }), /TEMPORAL_CLI_PATH=\/nonexistent\/temporal is not an executable file/);
    process.env.TEMPORAL_TEST_SERVER_PATH = '/nonexistent/test-server';
    await assert.rejects(ensureTestServer({ log: quiet }), /TEMPORAL_TEST_SERVER_PATH=\/nonexistent\/test-server is not an executable file/);
  });

  it('returns cached executables, the same on a second call', async function () {
    this.timeout(30 * 60_000); // builds from the registries on a machine that has no cache yet
    delete process.env.TEMPORAL_CLI_PATH;
    delete process.env.TEMPORAL_TEST_SERVER_PATH;
    for (const ensure of [ensureDevServer, ensureTestServer]) {
      const first = await ensure();
      if (first.type === 'cached-download') continue; // a machine that uses the SDK's own download
      assert.ok(existsSync(first.path), first.path);
      assert.deepEqual(await ensure({ log: () => assert.fail('a cached executable needs no provisioning') }), first);
    }
  });

  it('gives a time-skipping environment that skips time and stops its JVM on teardown', async function () {
    this.timeout(120_000);
    const before = javaChildren();
    const jvm = (await ensureTestServer()).type === 'existing-path'; // else the SDK's native download
    const env = await startTimeSkippingServer();
    try {
      assert.equal(env.supportsTimeSkipping, true);
      if (jvm) assert.equal(javaChildren().length, before.length + 1, 'the JVM runs as our child');
      const start = await env.currentTimeMs();
      await env.sleep('7 days');
      assert.ok((await env.currentTimeMs()) - start >= 7 * 24 * 3600_000, 'env.sleep skipped a week');
      // Awaiting a result unlocks skipping: the server jumps over the start delay at once. (With no
      // worker the run then waits for a workflow task, which locks time again, so we terminate it.)
      const handle = await env.client.workflow.start('noSuchWorkflow', {
        taskQueue: 'provision-test-no-worker',
        workflowId: `provision-test-${Date.now()}`,
        startDelay: '30 days',
      });
      const result = handle.result().then(
        () => assert.fail('the workflow cannot complete without a worker'),
        (err: Error) => err,
      );
      const deadline = Date.now() + 30_000;
      while ((await env.currentTimeMs()) - start < 37 * 24 * 3600_000) {
        assert.ok(Date.now() < deadline, 'awaiting the result skips the 30-day start delay');
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.terminate('provision test done');
      const failure = await result;
      assert.ok(failure instanceof WorkflowFailedError && failure.cause instanceof TerminatedFailure, String(failure));
    } finally {
      await env.teardown();
    }
    assert.deepEqual(javaChildren(), before, 'no JVM left behind');
  });

  it('starts a dev server that answers', async function () {
    this.timeout(120_000);
    const env = await startDevServer({ ui: false });
    try {
      const info = await env.connection.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion, 'the server reports its version');
      await env.connection.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await env.teardown();
    }
  });
});
