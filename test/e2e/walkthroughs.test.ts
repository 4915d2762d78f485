// Issue 19, item 8: the walkthroughs are scripts (docs/walkthroughs/*.sh) run here against a started
// stack on embedded defaults, chained from the seed data as a newcomer runs them (npm start, then
// eval "$(npm run -s seed)"), so a walkthrough cannot drift from the code unnoticed.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../lib/config';
import { silentLogger } from '../../lib/logger';
import { startStack, type Stack } from '../../scripts/stack';
import { embeddedStackSettings, tempDir, workflowBundle } from '../support/fixtures';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const scriptsDir = path.join(root, 'docs', 'walkthroughs');
const scripts = readdirSync(scriptsDir).filter((f) => /^p\d.*\.sh$/.test(f));

describe('the walkthroughs of docs/walkthroughs, run against npm start’s stack', function () {
  this.timeout(240_000);
  let stack: Stack | undefined;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    this.timeout(300_000);
    const settings = await embeddedStackSettings(tempDir('walkthroughs'));
    const config = loadConfig(settings);
    stack = await startStack({ config, log: silentLogger, roles: { api: true, worker: true }, workflowBundle: await workflowBundle() });
    env = { ...process.env, ...settings, BASE: stack.urls['API'] };
    // The seed as a newcomer runs it: a separate process on the same data directory and database.
    const seeded = await run(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'seed.ts')], { env, cwd: root });
    // Its `export NAME=value` lines, some with several variables.
    for (const line of seeded.stdout.split('\n').filter((l) => l.startsWith('export ')))
      for (const [, name, value] of line.matchAll(/(\w+)=(\S+)/g)) env[name!] = value;
    assert.ok(env.ALICE && env.SYSTEM && env.ORG, 'the seed printed its tokens');
  });
  after(async () => stack?.stop());

  it('has walkthrough scripts', () => assert.ok(scripts.length >= 13, scripts.join(', ')));

  for (const script of scripts) {
    it(script, async () => {
      try {
        await run('bash', [path.join(scriptsDir, script)], { env, cwd: root, timeout: 120_000 });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        assert.fail(`${script} failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`);
      }
    });
  }
});
