import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../lib/config';

describe('loadConfig', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.TEMPORAL_ADDRESS, undefined);
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(config.TEMPORAL_NAMESPACE, 'default');
  });

  it('names the variable of every bad value', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', AUTH_SECRET: 'short', PAYLOAD_ENCRYPTION_KEY: 'abc' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.variable).sort(), ['AUTH_SECRET', 'DATABASE_URL', 'PAYLOAD_ENCRYPTION_KEY', 'PORT']);
        return true;
      },
    );
  });

  it('wants the three Twilio variables together, and real services in production', () => {
    assert.throws(() => loadConfig({ TWILIO_ACCOUNT_SID: 'AC1' }), /TWILIO_ACCOUNT_SID/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /AUTH_SECRET: is required in production/);
  });

  it('answers every request within API_REQUEST_TIMEOUT_MS (15 s), longer than a payment waits for its process', () => {
    assert.equal(loadConfig({}).API_REQUEST_TIMEOUT_MS, 15_000);
    assert.throws(
      () => loadConfig({ API_REQUEST_TIMEOUT_MS: '5000', PAYMENT_SETTLE_WAIT_MS: '5000' }),
      /PAYMENT_SETTLE_WAIT_MS: must be shorter than API_REQUEST_TIMEOUT_MS/,
    );
  });

  it('serves the worker metrics on 9464 and the SDK exporter on 9465 by default; 0 turns each off', () => {
    const config = loadConfig({});
    assert.equal(config.WORKER_METRICS_PORT, 9464);
    assert.equal(config.TEMPORAL_METRICS_PORT, 9465);
    assert.equal(loadConfig({ WORKER_METRICS_PORT: '0' }).WORKER_METRICS_PORT, 0);
    assert.throws(() => loadConfig({ WORKER_METRICS_PORT: '70000' }), /WORKER_METRICS_PORT/);
  });

  it('makes an entry point exit non-zero naming the variable', () => {
    const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const run = spawnSync(tsx, [path.join(__dirname, '..', 'scripts', 'start.ts')], { env: { ...process.env, PORT: '-1' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /PORT: /);
  });
});
