// Issue 19, item 5: npm start's embedded Temporal UI shows a supervisor the decoded workflow inputs
// and everyone else the ciphertext. The stack as npm start runs it (its UI on a free port, started
// with --ui-codec-endpoint <API>/codec), seeded as a newcomer seeds it; Anna (supervisor) and Tom
// (not one) sign in at /desk. The UI sends the desk's codec cookie only with the browser-local codec
// setting ("use my browser setting", the endpoint, "include cross-origin credentials": the localStorage
// keys the UI's persisted stores read), set here as docs/operations.md tells a supervisor to set it.
// `npm run screenshots` renews docs/screenshots/temporal-ui-decoded.png (and -ciphertext).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../lib/config';
import { silentLogger } from '../../lib/logger';
import { startStack, type Stack } from '../../scripts/stack';
import { supportAccessWorkflowId } from '../../workflows/shared/supportAccess';
import { embeddedStackSettings, tempDir, workflowBundle } from '../support/fixtures';
import { launchChromium, screenshot } from './browser';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');

describe('the embedded Temporal UI decodes workflow inputs for supervisors only', function () {
  this.timeout(120_000);
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let connection: Connection | undefined;
  const contexts: BrowserContext[] = [];
  const env: Record<string, string> = {};
  let api = '';
  let ui = '';

  before(async function () {
    this.timeout(300_000);
    browser = await launchChromium(this);
    const settings = await embeddedStackSettings(tempDir('temporal-ui'), { ui: true });
    const config = loadConfig(settings);
    stack = await startStack({ config, log: silentLogger, roles: { api: true, worker: true }, workflowBundle: await workflowBundle() });
    api = stack.urls['API']!;
    ui = stack.urls['Temporal UI']!;
    assert.ok(ui, 'npm start’s stack has its Temporal UI');
    const seeded = await run(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'seed.ts')], { env: { ...process.env, ...settings }, cwd: root });
    for (const line of seeded.stdout.split('\n').filter((l) => l.startsWith('export ')))
      for (const [, name, value] of line.matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
    assert.ok(env.ALICE && env.ANNA && env.TOM, 'the seed printed its tokens');
    connection = await Connection.connect({ address: stack.urls['Temporal gRPC']! });
  });
  afterEach(async () => Promise.all(contexts.splice(0).map((c) => c.close())));
  after(async () => {
    await browser?.close();
    await connection?.close();
    await stack?.stop();
  });

  /** A support-access grant of the seed (Alice lets the ticket's agents into a mailbox): its workflow's page in the UI. */
  async function grantWorkflowPath(): Promise<{ path: string; grantId: string }> {
    const res = await fetch(`${api}/v1/support-access-grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ organizationId: env.ORG, ticketId: env.TICKET, kind: 'mail', resourceIds: ['info@shop.example'] }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const grantId = ((await res.json()) as { id: string }).id;
    const workflowId = supportAccessWorkflowId(grantId);
    const { runId } = await new Client({ connection: connection! }).workflow.getHandle(workflowId).describe();
    return { path: `/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`, grantId };
  }

  /** An agent signed in at /desk, with the UI's browser-local codec setting on: the page and every codec answer. */
  async function agentBrowser(token: string): Promise<{ context: BrowserContext; desk: Page; codecStatuses: number[] }> {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-GB' });
    contexts.push(context);
    const codecStatuses: number[] = [];
    context.on('response', (r) => void (r.url().startsWith(`${api}/codec/decode`) && codecStatuses.push(r.status())));
    // A string: the tests compile without the DOM's types.
    await context.addInitScript(
      `localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
       localStorage.setItem('endpoint', ${JSON.stringify(JSON.stringify(`${api}/codec`))});
       localStorage.setItem('includeCredentials', 'true');`,
    );
    const desk = await context.newPage();
    await desk.goto(`${api}/desk`);
    await desk.fill('#token', token);
    await desk.click('#sign-in-form button[type=submit]');
    await desk.locator('#queue-title').waitFor();
    return { context, desk, codecStatuses };
  }

  it('shows Anna, a supervisor, the decoded input once she pressed the desk’s button', async () => {
    const { path: workflowPath, grantId } = await grantWorkflowPath();
    const { context, desk, codecStatuses } = await agentBrowser(env.ANNA!);
    await desk.click('#codec-session');
    await desk.getByText('the Temporal UI decodes workflow payloads for you').waitFor();

    const page = await context.newPage();
    await page.goto(`${ui}${workflowPath}`);
    // The input, as JSON: its key and the grant's id, which only the codec can give.
    await page.getByText('"grantId"').first().waitFor({ timeout: 30_000 });
    await page.getByText(`"${grantId}"`).first().waitFor();
    assert.ok(codecStatuses.includes(200), `the codec answered ${codecStatuses.join(', ')}`);
    assert.equal(await page.getByText('Codec Server could not connect').count(), 0);
    await screenshot(page, 'temporal-ui-decoded');
  });

  it('shows Tom, who is no supervisor, only ciphertext: the desk offers him nothing and the codec refuses him', async () => {
    const { path: workflowPath } = await grantWorkflowPath();
    const { context, desk, codecStatuses } = await agentBrowser(env.TOM!);
    assert.equal(await desk.locator('#codec-session').isVisible(), false, 'the desk hides the button from him');
    // Asked anyway, from the desk's page: refused, and no cookie is set.
    const asked = await desk.evaluate(
      async (token) => (await fetch('/codec/session', { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
      env.TOM!,
    );
    assert.equal(asked, 403);
    assert.deepEqual(
      (await context.cookies(api)).map((c) => c.name),
      [],
    );

    const page = await context.newPage();
    const refused = page.waitForResponse((r) => r.url().startsWith(`${api}/codec/decode`), { timeout: 30_000 });
    await page.goto(`${ui}${workflowPath}`);
    assert.equal((await refused).status(), 401);
    // The UI says so above the workflow (a hidden copy of the words sits in its navigation).
    await page.locator('#content').getByText('Codec Server could not connect').waitFor();
    assert.ok(codecStatuses.length > 0 && codecStatuses.every((s) => s === 401), `the codec answered ${codecStatuses.join(', ')}`);
    assert.equal(await page.getByText('grantId').count(), 0, 'no plaintext of the input');
    await screenshot(page, 'temporal-ui-ciphertext');
  });
});
