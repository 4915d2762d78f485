/**
 * The Temporal server on PostgreSQL, the engine production runs (the compose file's
 * `temporalio/auto-setup`), for `TEMPORAL_PERSISTENCE=postgres npm start` and the test that runs
 * every process against it. The dev server's single SQLite connection is not what a growing user
 * runs, so this is the path to prove and to measure (issue 20).
 *
 * Three steps, each saying what it does and how long it takes:
 * 1. Provision: `go install go.temporal.io/server/cmd/server@v1.32.0` and its SQL tool into
 *    ${XDG_CACHE_HOME:-~/.cache}/backoffice/temporal-server/1.32.0/, with the PostgreSQL schema and the
 *    config template copied next to them from Go's module cache (so `go clean -modcache` does not
 *    break the cache). About 4 minutes the first time, then nothing. v1.32.0 is the newest tag the
 *    installed Go (1.26.8) builds, and it has no `replace` directive, so `go install` takes it.
 *    TEMPORAL_SERVER_PATH points at an existing server binary instead (its SQL tool, `schema/` and
 *    `config/` next to it, else the module cache).
 * 2. Schema, by the server's own SQL tool, on any PostgreSQL: databases `temporal` and
 *    `temporal_visibility` are created when missing, set up at version 0.0 only when fresh (on a set-up
 *    database that would reset the recorded version), then updated to the versioned dir (idempotent).
 * 3. Start: a config from the module's `development-postgres12.yaml` with the connection, the ports and
 *    the dynamic-config path changed; `server start`; wait until the frontend answers; register the
 *    namespace and wait until the frontend knows it (its namespace cache refreshes every 10 s).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import pg from 'pg';
import { bindable, freePort as pickPort } from '../lib/ports';
import { buildInto, cacheRoot, isExecutable, listening, ProvisionError, requireTool, run, withLock, withProgress } from './provision';

type Log = (line: string) => void;

export const TEMPORAL_SERVER_VERSION = '1.32.0';
const MODULE = 'go.temporal.io/server';
const defaultLog: Log = (line) => console.error(`[temporal-postgres] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** What the server needs besides PostgreSQL. */
export interface PostgresServerFiles {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12, holding temporal/versioned and visibility/versioned */
  schemaDir: string;
  /** config/development-postgres12.yaml */
  configTemplate: string;
  /** config/dynamicconfig/development-sql.yaml */
  dynamicConfigTemplate: string;
}

const filesIn = (dir: string, server: string, sqlTool: string): PostgresServerFiles => ({
  server,
  sqlTool,
  schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  configTemplate: path.join(dir, 'config', 'development-postgres12.yaml'),
  dynamicConfigTemplate: path.join(dir, 'config', 'dynamicconfig', 'development-sql.yaml'),
});

const complete = (f: PostgresServerFiles) =>
  isExecutable(f.server) &&
  isExecutable(f.sqlTool) &&
  existsSync(path.join(f.schemaDir, 'temporal', 'versioned')) &&
  existsSync(path.join(f.schemaDir, 'visibility', 'versioned')) &&
  existsSync(f.configTemplate) &&
  existsSync(f.dynamicConfigTemplate);

const goModuleDir = async () => {
  const { stdout } = await promisify(execFile)('go', ['env', 'GOMODCACHE']);
  return path.join(stdout.trim(), `${MODULE}@v${TEMPORAL_SERVER_VERSION}`);
};

/** Finds or builds the server, its SQL tool, the schema and the config template. */
export async function ensurePostgresServer(opts: { log?: Log } = {}): Promise<PostgresServerFiles> {
  const log = opts.log ?? defaultLog;
  const explicit = process.env.TEMPORAL_SERVER_PATH;
  if (explicit) return explicitServer(explicit);

  const dir = path.join(cacheRoot(), 'temporal-server', TEMPORAL_SERVER_VERSION);
  const files = filesIn(dir, path.join(dir, 'server'), path.join(dir, 'sql'));
  if (complete(files)) return files;
  await withLock(dir, log, async () => {
    if (complete(files)) return; // built by another process while we waited
    requireTool('go', 'install Go 1.26.8+ (https://go.dev/dl/) or set TEMPORAL_SERVER_PATH to a Temporal server binary');
    rmSync(dir, { recursive: true, force: true }); // an incomplete dir is a leftover
    await buildInto(dir, async (tmp) => {
      await goInstall(`${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`, tmp, 'the Temporal server (several minutes, once)', log);
      await goInstall(`${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`, tmp, 'its SQL schema tool', log);
      const moduleDir = await goModuleDir();
      copyTree(path.join(moduleDir, 'schema', 'postgresql', 'v12'), path.join(tmp, 'schema', 'postgresql', 'v12'));
      for (const file of ['development-postgres12.yaml', path.join('dynamicconfig', 'development-sql.yaml')])
        copyTree(path.join(moduleDir, 'config', file), path.join(tmp, 'config', file));
    });
  });
  if (!complete(files)) throw new ProvisionError(`${dir} is incomplete after the build: delete it and retry`);
  log(`Temporal server ${TEMPORAL_SERVER_VERSION} ready: ${files.server}`);
  return files;
}

function explicitServer(server: string): PostgresServerFiles {
  if (!isExecutable(server)) throw new ProvisionError(`TEMPORAL_SERVER_PATH=${server} is not an executable file`);
  const dir = path.dirname(path.resolve(server));
  const sqlTool = ['temporal-sql-tool', 'sql'].map((name) => path.join(dir, name)).find(isExecutable);
  if (!sqlTool) throw new ProvisionError(`no temporal-sql-tool (or sql) next to TEMPORAL_SERVER_PATH=${server}`);
  const files = filesIn(dir, path.resolve(server), sqlTool);
  if (!complete(files))
    throw new ProvisionError(
      `TEMPORAL_SERVER_PATH=${server}: schema/postgresql/v12 and config/ (from ${MODULE}@v${TEMPORAL_SERVER_VERSION}) must be next to it`,
    );
  return files;
}

/** `go install -v` names every package it compiles: the count says how far the build is. */
async function goInstall(pkg: string, gobin: string, what: string, log: Log): Promise<void> {
  const started = Date.now();
  let downloaded = 0;
  let compiled = 0;
  const status = () => `${downloaded} modules downloaded, ${compiled} packages compiled, ${seconds(started)}`;
  log(`building ${what}: go install ${pkg}…`);
  const timer = setInterval(() => log(`building ${what}… ${status()}`), 10_000);
  try {
    await run('go', ['install', '-v', '-ldflags=-s -w', pkg], {
      env: { GOBIN: gobin },
      onLine: (line) => (line.startsWith('go: downloading') ? downloaded++ : compiled++),
    });
  } finally {
    clearInterval(timer);
  }
  log(`built ${what} in ${seconds(started)} (${downloaded} modules downloaded, ${compiled} packages compiled)`);
}

/** Copies files out of Go's module cache, whose read-only modes would make the copy undeletable. */
function copyTree(from: string, to: string): void {
  if (statSync(from).isDirectory()) {
    for (const name of readdirSync(from)) copyTree(path.join(from, name), path.join(to, name));
    return;
  }
  mkdirSync(path.dirname(to), { recursive: true });
  writeFileSync(to, readFileSync(from));
}

interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

function parseDatabaseUrl(url: string): PgTarget {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

async function withPg<T>(target: PgTarget, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...target, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const TEMPORAL_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;

/** Creates (when missing) and updates the two databases with the server's own SQL tool. */
export async function setupTemporalSchemas(files: PostgresServerFiles, databaseUrl: string, opts: { log?: Log } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const target = parseDatabaseUrl(databaseUrl);
  const env = { SQL_PLUGIN: 'postgres12', SQL_HOST: target.host, SQL_PORT: String(target.port), SQL_USER: target.user, SQL_PASSWORD: target.password };
  const sql = (database: string, ...args: string[]) => run(files.sqlTool, ['--db', database, ...args], { env });
  for (const [kind, database] of Object.entries(TEMPORAL_DATABASES)) {
    await withProgress(`Temporal schema in database ${database} on ${target.host}:${target.port}`, log, async () => {
      const exists = await withPg(target, 'postgres', async (c) => (await c.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1);
      if (!exists) await sql(database, 'create-database');
      const fresh = await withPg(
        target,
        database,
        async (c) => (await c.query("select 1 from information_schema.tables where table_schema = 'public' and table_name = 'schema_version'")).rowCount === 0,
      );
      if (fresh) await sql(database, 'setup-schema', '-v', '0.0');
      await sql(database, 'update-schema', '-d', path.join(files.schemaDir, kind, 'versioned'));
    });
  }
}

/**
 * Membership ports are recorded in a PostgreSQL smallint (cluster_membership.rpc_port): one above
 * 32767 stops the server at start, and the system picks its ports from 32768 up. So: 20000-32767.
 */
async function freeMembershipPort(host: string, taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (taken.has(port)) continue;
    if (await bindable(port, host)) return port;
  }
  throw new ProvisionError(`no free port between 20000 and 32767 on ${host}`);
}

/** Replaces every occurrence of `from`, failing when the template no longer has exactly `count`. */
function replaceExactly(text: string, from: string, to: string, count = 1): string {
  const parts = text.split(from);
  if (parts.length - 1 !== count)
    throw new ProvisionError(`the config template of Temporal ${TEMPORAL_SERVER_VERSION} has ${parts.length - 1} × ${JSON.stringify(from)}, expected ${count}`);
  return parts.join(to);
}

/** The module's development-postgres12.yaml with our connection, ports and dynamic-config path. */
function writeConfig(files: PostgresServerFiles, root: string, target: PgTarget, ports: Record<string, number>): void {
  const configDir = path.join(root, 'config');
  mkdirSync(path.join(configDir, 'dynamicconfig'), { recursive: true });
  const dynamicConfig = path.join(configDir, 'dynamicconfig', 'development-sql.yaml');
  writeFileSync(
    dynamicConfig,
    replaceExactly(readFileSync(files.dynamicConfigTemplate, 'utf8'), 'http://localhost:7243/', `http://127.0.0.1:${ports.frontendHttp}/`),
  );
  let text = readFileSync(files.configTemplate, 'utf8');
  text = replaceExactly(text, 'connectAddr: "127.0.0.1:5432"', `connectAddr: ${JSON.stringify(`${target.host}:${target.port}`)}`, 2);
  text = replaceExactly(text, 'user: "temporal"', `user: ${JSON.stringify(target.user)}`, 2);
  text = replaceExactly(text, 'password: "temporal"', `password: ${JSON.stringify(target.password)}`, 2);
  text = replaceExactly(text, 'port: 7936', 'port: 0'); // pprof off
  text = replaceExactly(text, 'listenAddress: "127.0.0.1:8000"', `listenAddress: "127.0.0.1:${ports.metrics}"`);
  const services: [string, number, number][] = [
    ['frontend', 7233, 6933],
    ['history', 7234, 6934],
    ['matching', 7235, 6935],
    ['worker', 7239, 6939],
  ];
  for (const [name, grpc, membership] of services) {
    text = replaceExactly(text, `grpcPort: ${grpc}\n`, `grpcPort: ${ports[`${name}Grpc`]}\n`);
    text = replaceExactly(text, `membershipPort: ${membership}\n`, `membershipPort: ${ports[`${name}Membership`]}\n`);
  }
  text = replaceExactly(text, 'httpPort: 7243', `httpPort: ${ports.frontendHttp}`);
  text = replaceExactly(text, 'rpcAddress: "localhost:7233"', `rpcAddress: "127.0.0.1:${ports.frontendGrpc}"`);
  text = replaceExactly(text, 'filepath: "config/dynamicconfig/development-sql.yaml"', `filepath: ${JSON.stringify(dynamicConfig)}`);
  writeFileSync(path.join(configDir, 'development.yaml'), text);
}

export interface PostgresTemporalServer {
  /** host:port of the frontend */
  address: string;
  namespace: string;
  /** Prometheus metrics of the server */
  metricsUrl: string;
  /** Where the server writes its log */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Provisions, sets up the schema and starts a Temporal server on the PostgreSQL of `databaseUrl`
 * (any database of that server: Temporal uses its own two). `root` holds the config and the log.
 */
export async function startPostgresServer(opts: {
  databaseUrl: string;
  root: string;
  port?: number;
  namespace?: string;
  log?: Log;
}): Promise<PostgresTemporalServer> {
  const log = opts.log ?? defaultLog;
  const namespace = opts.namespace ?? 'default';
  if (opts.port && (await listening('127.0.0.1', opts.port)))
    throw new ProvisionError(`port ${opts.port} is in use (another npm start, or a Temporal server): stop it or choose TEMPORAL_DEV_PORT`);
  const files = await ensurePostgresServer({ log });
  await setupTemporalSchemas(files, opts.databaseUrl, { log });

  const host = '127.0.0.1';
  const ports: Record<string, number> = { frontendGrpc: opts.port ?? (await pickPort(host)) };
  for (const name of ['frontendHttp', 'historyGrpc', 'matchingGrpc', 'workerGrpc', 'metrics']) ports[name] = await pickPort(host);
  const taken = new Set<number>();
  for (const name of ['frontend', 'history', 'matching', 'worker']) taken.add((ports[`${name}Membership`] = await freeMembershipPort(host, taken)));
  const root = path.resolve(opts.root);
  writeConfig(files, root, parseDatabaseUrl(opts.databaseUrl), ports);
  const address = `${host}:${ports.frontendGrpc}`;
  const logFile = path.join(root, 'server.log');

  const started = Date.now();
  const child = spawn(files.server, ['--root', root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(logFile);
  let tail = '';
  const keep = (chunk: Buffer) => {
    out.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // Best effort when this process ends without stop() (process.exit(), an uncaught error).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopping = false;
  child.once('exit', (code, signal) => {
    process.off('exit', killOnExit);
    out.end();
    if (!stopping) log(`the Temporal server exited unexpectedly (${signal ?? `exit ${code}`}); its log: ${logFile}`);
  });
  const stop = async () => {
    stopping = true;
    await stopChild(child);
  };

  try {
    await withProgress(`starting the Temporal server on PostgreSQL (frontend ${address}, log ${logFile})`, log, async () => {
      const connection = await waitForFrontend(address, child, () => tail, 120_000);
      try {
        await registerNamespace(connection, namespace, log);
      } finally {
        await connection.close();
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Temporal server on PostgreSQL ready at ${address} in ${seconds(started)}`);
  return { address, namespace, metricsUrl: `http://${host}:${ports.metrics}/metrics`, logFile, stop };
}

const exited = (child: ChildProcess) => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

async function waitForFrontend(address: string, child: ChildProcess, tail: () => string, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(child)) throw new ProvisionError(`the Temporal server exited while starting:\n${tail().trim()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return connection;
      } catch (err) {
        await connection.close();
        throw err;
      }
    } catch (err) {
      if (Date.now() > deadline) throw new ProvisionError(`the Temporal server did not answer on ${address} within ${timeoutMs / 1000} s: ${String(err)}`);
      await sleep(500);
    }
  }
}

const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

/** Registers the namespace (kept when it exists) and waits until the frontend serves it. */
async function registerNamespace(connection: Connection, namespace: string, log: Log): Promise<void> {
  try {
    // One day of history after a run closes, as the compose file's temporalio/auto-setup does.
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    log(`registered the namespace ${namespace}`);
  } catch (err) {
    if (!(isGrpcServiceError(err) && err.code === ALREADY_EXISTS)) throw err;
  }
  // The frontend's namespace cache refreshes every 10 s: until then the namespace is "not found".
  for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (err) {
      if (!(isGrpcServiceError(err) && err.code === NOT_FOUND) || Date.now() > deadline) throw err;
    }
  }
}

/** SIGTERM lets the server leave its membership ring and close its PostgreSQL connections. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(timer);
}
