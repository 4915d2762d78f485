/**
 * What the customer pages' browser tests share: Debian's chromium (never a downloaded one), a phone
 * viewport, axe-core run in the page, the screenshots under docs/screenshots/, and a page's script
 * errors and CSP violations collected so that a test fails on them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { startApi } from '../support/api';
import type { Api } from '../support/verification';

function chromiumPath(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not on PATH
  }
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/** Chromium, or a skip where it is missing; in CI a missing chromium fails the suite instead. */
export async function launchChromium(ctx: Mocha.Context): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    if (process.env.CI) throw new Error('chromium is missing (apt-get install chromium): the customer pages must be tested in CI');
    console.warn('    customer pages: skipped, no chromium binary (apt-get install chromium)');
    ctx.skip();
  }
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A phone-sized page; `faults` collects script errors and CSP violations. */
export async function phonePage(browser: Browser, faults: string[], options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ ...PHONE, locale: 'en-GB', ...options });
  const page = await context.newPage();
  page.on('pageerror', (err) => faults.push(err.message));
  page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && faults.push(m.text())));
  return page;
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core in the page (evaluated, so the page's CSP stays on): no serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] = await page.evaluate(
    'axe.run(document).then((r) => r.violations)',
  );
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `accessibility of ${what}`,
  );
}

const SCREENSHOTS = path.join(__dirname, '..', '..', 'docs', 'screenshots');

/**
 * A phone-sized screenshot of the whole page, docs/screenshots/<name>.png, when asked for
 * (`npm run screenshots`): a test run leaves the tracked pictures alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.UPDATE_SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Checks the page, then keeps its picture. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await assertAccessible(page, name);
  await screenshot(page, name);
}

/** An emailed link (the test API's public URL) on the test server. */
export const onServer = (link: string, base: string) => link.replace(/^https?:\/\/[^/]+/, base);

/**
 * The hooks every page suite shares: the API over the dev server and PostgreSQL, chromium, each
 * test's pages closed after it and their script errors and CSP violations asserted.
 */
export function pagesSuite(): { readonly api: Api; readonly browser: Browser; faults: string[]; open: (options?: BrowserContextOptions) => Promise<Page> } {
  let api: Api | undefined;
  let browser: Browser | undefined;
  const faults: string[] = [];
  const pages: Page[] = [];
  before(async function () {
    this.timeout(300_000);
    browser = await launchChromium(this);
    api = await startApi();
  });
  after(async () => {
    await browser?.close();
    await api?.stop();
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.context().close()));
    assert.deepEqual(faults.splice(0), []);
  });
  return {
    get api() {
      return api!;
    },
    get browser() {
      return browser!;
    },
    faults,
    async open(options = {}) {
      const page = await phonePage(browser!, faults, options);
      pages.push(page);
      return page;
    },
  };
}
