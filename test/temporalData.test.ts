import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devServerForData, recordDevServerForData, type ServerExecutable } from '../temporal/provision';

// A data dir keeps the Temporal CLI that wrote its SQLite file: a newer dev server cannot open it.
describe('the Temporal CLI a persistent data dir needs', () => {
  const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  function setup(cached: string[]) {
    const root = mkdtempSync(path.join(os.tmpdir(), 'backoffice-cli-data-'));
    process.env.XDG_CACHE_HOME = path.join(root, 'cache');
    delete process.env.TEMPORAL_CLI_PATH;
    const exe = (version: string) => path.join(root, 'cache', 'backoffice', 'temporal-cli', version, 'temporal');
    for (const version of cached) {
      mkdirSync(path.dirname(exe(version)), { recursive: true });
      writeFileSync(exe(version), '#!/bin/sh\n', { mode: 0o755 });
    }
    const current: ServerExecutable = { type: 'existing-path', path: exe('1.9.1') };
    return { db: path.join(root, 'data', 'temporal.sqlite'), exe, current };
  }
  const quiet = () => undefined;

  it('runs the current CLI on a new data dir and records it once started', () => {
    const { db, current } = setup(['1.9.1', 'v1.5.1']);
    assert.deepEqual(devServerForData(db, current, quiet), { executable: current, version: '1.9.1' });
    mkdirSync(path.dirname(db));
    writeFileSync(db, '');
    recordDevServerForData(db, '1.9.1');
    assert.deepEqual(devServerForData(db, current, quiet), { executable: current, version: '1.9.1' });
  });

  it('keeps v1.5.1 for a file written before the CLI was recorded, saying how to move on', () => {
    const { db, exe, current } = setup(['1.9.1', 'v1.5.1']);
    mkdirSync(path.dirname(db));
    writeFileSync(db, '');
    const said: string[] = [];
    assert.deepEqual(
      devServerForData(db, current, (line) => said.push(line)),
      { executable: { type: 'existing-path', path: exe('v1.5.1') }, version: 'v1.5.1' },
    );
    assert.match(said.join('\n'), /written by the Temporal CLI v1\.5\.1.*delete .*data to start over on CLI 1\.9\.1/);
  });

  it('refuses, naming both ways out, when the CLI that wrote the file is not in the cache', () => {
    const { db, current } = setup(['1.9.1']);
    mkdirSync(path.dirname(db));
    writeFileSync(db, '');
    assert.throws(
      () => devServerForData(db, current, quiet),
      /cannot open: delete .*data to start over on CLI 1\.9\.1, or set TEMPORAL_CLI_PATH to a CLI v1\.5\.1/,
    );
  });

  it('leaves an explicit TEMPORAL_CLI_PATH alone', () => {
    const { db, current } = setup(['1.9.1', 'v1.5.1']);
    mkdirSync(path.dirname(db));
    writeFileSync(db, '');
    process.env.TEMPORAL_CLI_PATH = current.type === 'existing-path' ? current.path : '';
    assert.equal(devServerForData(db, current, quiet).executable, current);
  });
});
