import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApi } from '../support/api';
import { seedOrganization } from '../support/fixtures';
import { openSubmittedCase, type Api } from '../support/verification';

// Debian's chromium (installed by .ci/run), not a browser downloaded by playwright.
function chromiumPath(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not on PATH
  }
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/** What the test reads of an <img> in the page (the project compiles without the DOM types). */
interface RenderedImage {
  naturalWidth: number;
  decode(): Promise<void>;
  getAttribute(name: string): string | null;
}

// The agents' page at /desk in a real browser, over the whole API: the customer's steps go through
// the API, the agent's through the page only.
describe('review desk in chromium (dev server + PostgreSQL)', function () {
  this.timeout(180_000);
  const executablePath = chromiumPath();
  let api: Api;
  let browser: Browser | undefined;
  const pages: Page[] = [];
  // Script errors and Content-Security-Policy violations, which the page would otherwise survive silently.
  const faults: string[] = [];

  before(async function () {
    if (!executablePath) {
      console.warn('    review desk: skipped, no chromium binary (apt-get install chromium)');
      this.skip();
    }
    this.timeout(300_000);
    [api, browser] = await Promise.all([startApi(), chromium.launch({ executablePath, args: ['--no-sandbox'] })]);
  });
  after(async () => {
    await browser?.close();
    await api?.stop();
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.context().close()));
    assert.deepEqual(faults.splice(0), []);
  });

  const caseRow = (page: Page, caseId: string) => page.locator(`#queue-rows tr[data-case-id="${caseId}"]`);

  async function signIn(token: string): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    pages.push(page);
    page.on('pageerror', (err) => faults.push(err.message));
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && faults.push(m.text())));
    page.on('request', (r) => void (r.url().includes(token) && faults.push(`token in a URL: ${r.url()}`)));
    await page.goto(`${api.base}/desk/`);
    await page.getByLabel('Agent token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return page;
  }

  it('serves the page under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${api.base}/desk/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "img-src 'self' blob:", "style-src 'self'", "script-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(await res.text(), /<script>|\son[a-z]+=/i, 'no inline script or handler');
  });

  it('answers an unknown path under /desk with 404 problem+json, not 401 (issue 18, item 2)', async () => {
    for (const path of ['/desk/nope', '/desk/cases/123', '/desk/assets/missing.js']) {
      const res = await fetch(`${api.base}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(((await res.json()) as { type: string }).type, '/problems/not-found');
    }
  });

  it('lets an agent sign in, claim a submitted case, see its documents and approve it', async () => {
    const seed = await seedOrganization(api.db);
    await api.db.updateTable('accounts').set({ country: 'CH' }).where('id', '=', seed.legalRep.id).execute();
    const token = await api.token('agent', seed.agent.id);
    const { caseId, documentIds } = await openSubmittedCase(api, seed.legalRep.id);

    const page = await signIn(token);
    const row = caseRow(page, caseId);
    await row.waitFor();
    assert.match(await row.locator('.time-left').innerText(), /^(\d+ (d|h|min) )+left$/);
    assert.equal(await page.evaluate('sessionStorage.length + ":" + localStorage.length'), '1:0', 'the token is kept for the tab only');

    await row.getByRole('button', { name: 'Claim' }).click();
    await page.getByRole('status').filter({ hasText: 'Case claimed.' }).waitFor();
    // Who the agent is verifying (issue 18, item 2): the holder's name to compare with the card, the login masked, the four-eyes rule.
    const facts = page.locator('#case-facts');
    await facts.getByText(seed.legalRep.display_name, { exact: true }).waitFor();
    await facts.getByText('Switzerland (CH)').waitFor();
    assert.ok(!(await facts.innerText()).includes(seed.legalRep.login_email), 'the login email is masked');
    await facts.getByText(/Approve only on the reviewed document/).waitFor();
    const images = page.locator('#documents img');
    await images.nth(documentIds.length - 1).waitFor();
    // decode() rejects for an image the browser cannot render.
    const rendered = await images.evaluateAll((imgs) =>
      Promise.all(
        imgs.map(async (i) => {
          const img = i as unknown as RenderedImage;
          await img.decode();
          return { src: img.getAttribute('src') ?? '', naturalWidth: img.naturalWidth };
        }),
      ),
    );
    assert.equal(rendered.length, documentIds.length);
    for (const img of rendered) {
      assert.match(img.src, /^blob:/);
      assert.ok(img.naturalWidth > 0, 'the image renders');
    }

    await page.getByLabel('Approve').check();
    await page.getByLabel('Reason', { exact: true }).fill('The identity card and the selfie match the account holder.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.getByRole('status').filter({ hasText: 'Case approved.' }).waitFor();
    await row.waitFor({ state: 'detached' });

    const decided = await api.call('GET', `/v1/verification-cases/${caseId}`, { token });
    assert.equal(decided.status, 200, decided.text);
    assert.equal(decided.json.status, 'approved');
  });

  it("shows another agent's claim as a conflict, with the API's explanation", async () => {
    const seed = await seedOrganization(api.db);
    const [firstToken, secondToken] = await Promise.all([api.token('agent', seed.agent.id), api.token('agent', seed.otherAgent.id)]);
    const { caseId } = await openSubmittedCase(api, seed.legalRep.id);

    // Both desks list the case as unassigned; the first agent claims it before the second does.
    const [first, second] = await Promise.all([signIn(firstToken), signIn(secondToken)]);
    await Promise.all([first, second].map((page) => caseRow(page, caseId).getByRole('button', { name: 'Claim' }).waitFor()));
    await caseRow(first, caseId).getByRole('button', { name: 'Claim' }).click();
    await first.getByRole('status').filter({ hasText: 'Case claimed.' }).waitFor();

    await caseRow(second, caseId).getByRole('button', { name: 'Claim' }).click();
    const alert = second.getByRole('alert');
    await alert.waitFor();
    const conflict = await api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: secondToken });
    assert.equal(conflict.status, 409, conflict.text);
    assert.equal(conflict.json.type, '/problems/case-already-claimed');
    const shown = await alert.innerText();
    assert.ok(shown.includes(conflict.json.title), shown);
    if (conflict.json.detail) assert.ok(shown.includes(conflict.json.detail), shown);
    await caseRow(second, caseId).getByRole('cell', { name: 'Another agent' }).waitFor();
    assert.equal(await caseRow(second, caseId).getByRole('button').count(), 0, 'no claim button on a case someone else holds');
  });

  it('lets a supervisor list overdue cases and give one held by an absent agent to another agent; others may not (issue 18, item 2)', async () => {
    const seed = await seedOrganization(api.db);
    const supervisor = {
      id: randomUUID(),
      email: `lead-${seed.org.id.slice(0, 8)}@support.test`,
      display_name: `Lead ${seed.org.id.slice(0, 8)}`,
      is_supervisor: true,
    };
    await api.db.insertInto('agents').values(supervisor).execute();
    const [agentToken, supervisorToken] = await Promise.all([api.token('agent', seed.agent.id), api.token('agent', supervisor.id)]);
    const { caseId: overdueId } = await openSubmittedCase(api, seed.legalRep.id);
    const { caseId: onTimeId } = await openSubmittedCase(api, seed.admin.id);
    assert.equal((await api.call('POST', `/v1/verification-cases/${overdueId}/claim`, { token: agentToken })).status, 200);
    await api.db
      .updateTable('verification_cases')
      .set({ due_at: new Date(Date.now() - 60_000) })
      .where('id', '=', overdueId)
      .execute();

    // Only a supervisor reassigns.
    const refused = await api.call('PUT', `/v1/verification-cases/${overdueId}/assignment`, { token: agentToken, body: { agentId: seed.otherAgent.id } });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.type, '/problems/supervisor-required');

    const page = await signIn(supervisorToken);
    // Both cases show in the whole queue; the Overdue filter leaves the late one only.
    await caseRow(page, onTimeId).waitFor();
    await page.getByLabel('Overdue').check();
    await caseRow(page, onTimeId).waitFor({ state: 'detached' });
    const row = caseRow(page, overdueId);
    await row.waitFor();
    await row.getByRole('cell', { name: new RegExp(seed.agent.display_name) }).waitFor();
    await row.getByLabel('Reassign to').selectOption({ label: `${seed.otherAgent.display_name} (0 held)` });
    await row.getByRole('button', { name: 'Reassign' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Case given to ${seed.otherAgent.display_name}.` })
      .waitFor();

    const moved = await api.call('GET', `/v1/verification-cases/${overdueId}`, { token: agentToken });
    assert.equal(moved.json.assigneeId, seed.otherAgent.id);
    const audited = await api.db
      .selectFrom('audit_log')
      .select(['actor_id', 'details'])
      .where('action', '=', 'verification.reassigned')
      .where('subject_id', '=', overdueId)
      .executeTakeFirstOrThrow();
    assert.equal(audited.actor_id, supervisor.id);
    assert.deepEqual(audited.details, { from: seed.agent.id, to: seed.otherAgent.id });
    const unknown = await api.call('PUT', `/v1/verification-cases/${overdueId}/assignment`, { token: supervisorToken, body: { agentId: randomUUID() } });
    assert.equal(unknown.status, 422, unknown.text);
  });
});
