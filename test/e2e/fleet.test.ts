// Issue 21, items 3 and 5: `npm run fleet` runs 2 API replicas behind a local proxy and 2 workers.
// The recovery limit (5 per login and hour) answers 429 at the 6th request exactly as one process
// would, though the requests alternate between the replicas; Ctrl-C drains every process and exits.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { RECOVERY_RATE_LIMITS } from '../../lib/rules';
import { freePort, tempDir } from '../support/fixtures';

describe('npm run fleet: two API replicas behind a proxy, two workers', function () {
  this.timeout(240_000);
  let fleet: ChildProcess | undefined;
  let output = '';
  let base = '';

  before(async function () {
    this.timeout(240_000);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fleet = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'scripts', 'fleet.ts')], {
      env: {
        ...process.env,
        DATA_DIR: tempDir('fleet'),
        PORT: String(port),
        TEMPORAL_DEV_PORT: String(await freePort()),
        TEMPORAL_UI_PORT: '0',
        EMBEDDED_POSTGRES_PORT: String(await freePort()),
        SMTP_CAPTURE_PORT: String(await freePort()),
        SMS_SINK_PORT: String(await freePort()),
        WORKER_METRICS_PORT: '0',
        TEMPORAL_ADDRESS: '',
        DATABASE_URL: '',
        SMTP_URL: '',
        TWILIO_ACCOUNT_SID: '',
        TWILIO_AUTH_TOKEN: '',
        TWILIO_FROM: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    fleet.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    fleet.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const end = Date.now() + 200_000;
    while (!output.includes('backoffice fleet is up')) {
      if (fleet.exitCode !== null || Date.now() > end) throw new Error(`the fleet did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(() => {
    if (fleet && fleet.exitCode === null) fleet.kill('SIGKILL');
  });

  it('refuses the recovery limit’s next request with 429 across both replicas, exactly where one process would', async () => {
    const login = `nobody-${randomUUID()}@example.test`;
    const answers: { status: number; replica: string | null }[] = [];
    for (let i = 0; i <= RECOVERY_RATE_LIMITS.perLogin; i++) {
      const res = await fetch(`${base}/v1/recovery/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login }),
      });
      answers.push({ status: res.status, replica: res.headers.get('x-backoffice-replica') });
    }
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array<number>(RECOVERY_RATE_LIMITS.perLogin).fill(202), 429],
    );
    assert.deepEqual([...new Set(answers.map((a) => a.replica))].sort(), ['1', '2'], 'both replicas answered');
  });

  it('drains every process on Ctrl-C and exits cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => fleet!.once('exit', (code) => resolve(code)));
    fleet!.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 90_000))]);
    assert.equal(code, 0, output.slice(-2000));
    assert.match(output, /fleet: SIGINT, draining/);
  });
});
