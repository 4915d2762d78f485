// `npm start` in a terminal, stopped with Ctrl-C. The terminal signals its whole foreground process
// group: the embedded PostgreSQL and Temporal server used to stop at once, under the requests and
// activities being drained ("terminating connection due to administrator command"). Run here in a
// real pseudo-terminal (util-linux `script`), Ctrl-C typed into it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { embeddedStackSettings, tempDir, workflowBundle } from '../support/fixtures';

const root = path.join(__dirname, '..', '..');

const listening = (port: string) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('npm start in a terminal, stopped with Ctrl-C', function () {
  this.timeout(300_000);

  it('stops in order: the API and the worker first, then the database and the Temporal server; no connection is cut under the stack', async () => {
    await workflowBundle();
    const settings = await embeddedStackSettings(tempDir('terminal'));
    const child = spawn('script', ['-qfec', 'npm start', '/dev/null'], { cwd: root, env: { ...process.env, ...settings, LOG_LEVEL: 'debug' } });
    let output = '';
    const seen = (text: string) => output.includes(text);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      for (const deadline = Date.now() + 240_000; !seen('backoffice is up');) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `npm start did not come up:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      child.stdin.write('\x03');
      await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`not stopped:\n${output.slice(-3000)}`)), 60_000))]);
    } finally {
      child.kill('SIGKILL');
    }
    const lines = output.split(/\r?\n/);
    const stopped = (part: string) => lines.findIndex((l) => l.includes('"msg":"stopping"') && l.includes(`"part":"${part}"`));
    assert.ok(seen('"msg":"shutting down"'), output.slice(-3000));
    assert.ok(!seen('terminating connection due to administrator command'), `PostgreSQL went down under the stack:\n${output.slice(-3000)}`);
    assert.ok(!seen('"level":"error"'), output.slice(-3000));
    for (const [first, then] of [
      ['api server', 'database pool'],
      ['worker', 'database pool'],
      ['database pool', 'postgres'],
      ['worker', 'temporal dev server'],
    ]) {
      assert.ok(stopped(first!) >= 0 && stopped(first!) < stopped(then!), `${first} stopped before ${then}:\n${output.slice(-3000)}`);
    }
    assert.equal(await listening(settings.EMBEDDED_POSTGRES_PORT!), false, 'PostgreSQL is gone');
    assert.equal(await listening(settings.TEMPORAL_DEV_PORT!), false, 'the Temporal server is gone');
    assert.equal(await listening(settings.PORT!), false, 'the API is gone');
  });
});
