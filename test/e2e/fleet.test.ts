// Issue 21, items 3 and 5: `npm run fleet` runs 2 API replicas behind a local proxy and 2 workers, on
// the test's PostgreSQL and Temporal dev server. The recovery limits (5 per login, 30 per client
// address, an hour) answer 429 at the next request exactly as one process would, though the requests
// alternate between the replicas. A replica asked to stop finishes the request it is serving, refuses
// new connections and exits 0 while the proxy sends everything to the other; Ctrl-C drains the rest.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { RECOVERY_RATE_LIMITS } from '../../lib/rules';
import { database, devServerEnv, freePort, tempDir } from '../support/fixtures';

const API_REQUEST_TIMEOUT_MS = 15_000;

describe('npm run fleet: two API replicas behind a proxy, two workers', function () {
  this.timeout(120_000);
  let fleet: ChildProcess | undefined;
  let output = '';
  let base = '';
  const replicas: { port: number; pid: number }[] = [];

  const waitForOutput = async (pattern: RegExp, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (fleet?.exitCode !== null || Date.now() > end) throw new Error(`no ${pattern} in the fleet's output:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const recover = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/recovery/password`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  before(async function () {
    this.timeout(180_000);
    const [temporal, { url }] = await Promise.all([devServerEnv(), database()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // What `npm run fleet` runs; the servers are the test's, the SMTP and SMS peers the fleet's own.
    fleet = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'scripts', 'fleet.ts')], {
      env: {
        ...process.env,
        NODE_ENV: 'development',
        DATA_DIR: tempDir('fleet'),
        PORT: String(port),
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: `fleet-${randomUUID().slice(0, 8)}`,
        DATABASE_URL: url,
        SMTP_URL: '',
        SMTP_CAPTURE_PORT: String(await freePort()),
        TWILIO_ACCOUNT_SID: '',
        TWILIO_AUTH_TOKEN: '',
        TWILIO_FROM: '',
        SMS_SINK_PORT: String(await freePort()),
        TEMPORAL_UI_PORT: '0',
        API_REQUEST_TIMEOUT_MS: String(API_REQUEST_TIMEOUT_MS),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    fleet.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    fleet.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await waitForOutput(/backoffice fleet is up[\s\S]*Stop with Ctrl-C/, 170_000);
    for (const m of output.matchAll(/API replica (\d)\s+http:\/\/127\.0\.0\.1:(\d+)\s+pid (\d+)/g))
      replicas[Number(m[1]) - 1] = { port: Number(m[2]), pid: Number(m[3]) };
    assert.equal(replicas.length, 2, output);
    assert.equal((output.match(/worker \d\s+http:\/\/127\.0\.0\.1:\d+\/metrics\s+pid \d+/g) ?? []).length, 2, output);
  });
  after(async function () {
    this.timeout(60_000);
    if (!fleet || fleet.exitCode !== null) return;
    const exited = new Promise((resolve) => fleet!.once('exit', resolve));
    fleet.kill('SIGTERM');
    await exited;
  });

  it('refuses the login’s next recovery request with 429 across both replicas, exactly where one process would', async () => {
    const login = `nobody-${randomUUID()}@example.test`;
    const answers: { status: number; replica: string | null }[] = [];
    for (let i = 0; i <= RECOVERY_RATE_LIMITS.perLogin; i++) {
      const res = await recover({ login });
      answers.push({ status: res.status, replica: res.headers.get('x-backoffice-replica') });
    }
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array<number>(RECOVERY_RATE_LIMITS.perLogin).fill(202), 429],
    );
    assert.deepEqual([...new Set(answers.map((a) => a.replica))].sort(), ['1', '2'], 'both replicas answered');
  });

  it('counts the client address the proxy passes in X-Forwarded-For, across both replicas', async () => {
    // A documentation address of this run's own: the client behind the proxy, whichever replica answers.
    const client = `2001:db8::${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const statuses: number[] = [];
    const served = new Set<string | null>();
    for (let i = 0; i <= RECOVERY_RATE_LIMITS.perClientAddress; i++) {
      const res = await recover({ login: `nobody-${randomUUID()}@example.test` }, { 'x-forwarded-for': client });
      statuses.push(res.status);
      served.add(res.headers.get('x-backoffice-replica'));
      if (res.status === 429) assert.match(((await res.json()) as { detail: string }).detail, /client address/);
    }
    assert.deepEqual(statuses, [...Array<number>(RECOVERY_RATE_LIMITS.perClientAddress).fill(202), 429]);
    assert.deepEqual([...served].sort(), ['1', '2']);
    // Another client behind the same proxy has its own budget.
    assert.equal((await recover({ login: `nobody-${randomUUID()}@example.test` }, { 'x-forwarded-for': '2001:db8::1:1' })).status, 202);
  });

  it('drains a replica asked to stop: its request in flight completes, new connections are refused, it exits 0, the proxy uses the other', async () => {
    const [first] = replicas;
    // A request in flight on replica 1: its headers and half its body sent, the rest after the SIGTERM.
    const body = JSON.stringify({ login: `slow-${randomUUID()}@example.test` });
    const socket = net.connect(first!.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `POST /v1/recovery/password HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 500));
    const stoppedAt = Date.now();
    process.kill(first!.pid, 'SIGTERM');

    // It stops accepting at once...
    const refused = async () =>
      new Promise<boolean>((resolve) => {
        const probe = net.connect(first!.port, '127.0.0.1');
        probe.once('connect', () => (probe.destroy(), resolve(false)));
        probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
      });
    while (!(await refused())) {
      assert.ok(Date.now() - stoppedAt < 5_000, 'replica 1 still accepts connections 5 s after SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answer, '', 'the request in flight is not answered before its body is in');
    // ...while the proxy sends every request to replica 2.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/health`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-backoffice-replica'), '2');
    }

    // ...and answers the request it was serving.
    socket.write(body.slice(10));
    await ended;
    assert.match(answer, /^HTTP\/1\.1 202 /, answer);
    await waitForOutput(new RegExp(`API replica 1 \\(pid ${first!.pid}\\) exited with code 0`), API_REQUEST_TIMEOUT_MS + 2_000);
    assert.ok(Date.now() - stoppedAt < API_REQUEST_TIMEOUT_MS + 2_000, 'replica 1 exited within its drain time');
    assert.match(output, /API replica 2 carries on/);
    assert.equal((await recover({ login: `nobody-${randomUUID()}@example.test` })).status, 202);
  });

  it('drains every process on Ctrl-C and exits cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => fleet!.once('exit', (code) => resolve(code)));
    const signalledAt = Date.now();
    fleet!.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
    assert.equal(code, 0, output.slice(-3000));
    assert.ok(Date.now() - signalledAt < 30_000, 'the fleet stopped within its drain time');
    assert.match(output, /fleet: SIGINT, draining/);
    for (const name of ['worker 1', 'worker 2', 'API replica 2']) assert.match(output, new RegExp(`fleet: ${name} \\(pid \\d+\\) exited with code 0`));
    assert.match(output, /fleet: stopped/);
  });
});
