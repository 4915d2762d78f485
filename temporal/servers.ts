/**
 * Starts the Temporal servers for `npm start` and the tests, from the executables that
 * ./provision.ts finds or builds.
 *
 * The SDK gives a server it spawns 5 s to answer. The Go dev server answers in 0.1-1.5 s even on a
 * loaded 2-core machine, so it goes through `TestWorkflowEnvironment.createLocal`. The JVM test
 * server measured 0.3 s idle but up to 2.7 s under load (5-8 s without the class-data archive), so
 * we spawn it ourselves, wait up to 60 s for its port, and attach a time-skipping environment whose
 * teardown also stops the JVM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerForData, ensureDevServer, ensureTestServer, listening, recordDevServerForData } from './provision';

type Log = (line: string) => void;

export async function startDevServer(
  opts: { port?: number; uiPort?: number; ui?: boolean; dbFilename?: string; namespace?: string; ip?: string; log?: Log; uiCodecEndpoint?: string } = {},
): Promise<TestWorkflowEnvironment> {
  // Otherwise the SDK, which waits for the port to answer, would take another server for ours.
  if (opts.port && (await listening(opts.ip ?? '127.0.0.1', opts.port)))
    throw new Error(`port ${opts.port} is in use (another npm start, or a Temporal server): stop it or choose TEMPORAL_DEV_PORT`);
  let executable = await ensureDevServer({ log: opts.log });
  let version: string | undefined;
  if (opts.dbFilename) ({ executable, version } = devServerForData(opts.dbFilename, executable, opts.log));
  const server = {
    executable,
    ip: opts.ip ?? '127.0.0.1',
    port: opts.port,
    ui: opts.ui ?? false,
    uiPort: opts.ui ? opts.uiPort : undefined, // the SDK turns the UI on whenever uiPort is set
    dbFilename: opts.dbFilename, // persistent SQLite; in-memory when undefined
    namespace: opts.namespace ?? 'default',
    // The UI asks this endpoint to decode payloads (the API's /codec, for supervisors only).
    ...(opts.ui && opts.uiCodecEndpoint ? { extraArgs: ['--ui-codec-endpoint', opts.uiCodecEndpoint] } : {}),
  };
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({ server });
  } catch (err) {
    // The SDK's 5 s start window can still be missed on a starved machine: one more try.
    if (!/did not start within/.test(String(err))) throw err;
    (opts.log ?? console.error)(`[temporal] dev server was slow to start, retrying: ${String(err)}`);
    env = await TestWorkflowEnvironment.createLocal({ server });
  }
  if (opts.dbFilename) recordDevServerForData(opts.dbFilename, version);
  return env;
}

/**
 * A time-skipping environment attached to a test server we spawned. Its construction goes through
 * the SDK's private `create` factory (what createTimeSkipping and createFromExistingServer both
 * call), the only way to get `supportsTimeSkipping` (env.sleep, auto-skipping result()) on a
 * server the SDK did not start. `create` does `new this(...)`, so it builds this subclass.
 */
class SpawnedTimeSkippingEnvironment extends TestWorkflowEnvironment {
  child?: ChildProcess;

  override async teardown(): Promise<void> {
    // The JVM goes even when the SDK refuses to close (a worker of a timed-out test still holds the connection).
    try {
      await super.teardown();
    } finally {
      if (this.child) await stopChild(this.child);
    }
  }

  static async attach(address: string, child: ChildProcess): Promise<TestWorkflowEnvironment> {
    type Create = (opts: {
      server: { type: 'existing' };
      address: string;
      namespace: string;
      supportsTimeSkipping: boolean;
    }) => Promise<SpawnedTimeSkippingEnvironment>;
    const create = (SpawnedTimeSkippingEnvironment as unknown as { create?: Create }).create?.bind(SpawnedTimeSkippingEnvironment);
    if (!create) throw new Error('TestWorkflowEnvironment.create is gone (checked with @temporalio/testing 1.24): update temporal/servers.ts');
    const env = await create({ server: { type: 'existing' }, address, namespace: 'default', supportsTimeSkipping: true });
    env.child = child;
    return env;
  }
}

export async function startTimeSkippingServer(opts: { log?: Log } = {}): Promise<TestWorkflowEnvironment> {
  const log = opts.log ?? ((line: string) => console.error(`[temporal-test-server] ${line}`));
  const executable = await ensureTestServer({ log: opts.log });
  if (executable.type === 'cached-download') return TestWorkflowEnvironment.createTimeSkipping(); // a native binary: starts in ms

  const host = '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(host);
    const child = spawnServer(executable.path, [String(port)], log);
    try {
      await waitForPort(host, port, child, 60_000);
      return await SpawnedTimeSkippingEnvironment.attach(`${host}:${port}`, child);
    } catch (err) {
      await stopChild(child);
      // Another process may take the free port before the JVM binds it: try another one.
      if (attempt >= 3 || !(err instanceof ExitedEarly)) throw err;
      log(`${String(err)}; retrying on another port`);
    }
  }
}

class ExitedEarly extends Error {}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function spawnServer(exe: string, args: string[], log: Log): ChildProcess {
  // The wrapper `exec`s java, so this child *is* the JVM and killing it leaves nothing behind.
  const child = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  child.once('error', (err) => log(`${exe}: ${err.message}`));
  child.once('exit', (code, signal) => {
    if (!child.killed) log(`${exe} exited unexpectedly (${signal ?? `exit ${code}`}): ${tail.trim()}`);
  });
  // Best effort when the process ends without a teardown (process.exit(), an uncaught error).
  // A SIGKILL of this process still orphans the JVM: nothing in Node can prevent that.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return child;
}

// No pid: the spawn itself failed (e.g. ENOENT) and no 'exit' will follow.
const exited = (child: ChildProcess) => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(child)) throw new ExitedEarly(`the test server exited before listening on ${host}:${port}`);
    if (await listening(host, port)) return;
    if (Date.now() > deadline) throw new Error(`the test server did not listen on ${host}:${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// SIGKILL, as the SDK does for servers it spawns: the test server keeps everything in memory, and
// on SIGTERM its JVM takes ~5 s to shut gRPC down.
async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await done;
}
