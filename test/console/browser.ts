// A real browser for the console's tests: Debian's Chromium driven by playwright-core, each page's
// screenshots saved as test artifacts, and every page error, failed request or request to another
// origin recorded so a test can assert there were none.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** CHROMIUM_PATH, else Debian's package. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CONSOLE_BUILD = resolve('dist/console/index.html');
export const ARTIFACTS = resolve('test-artifacts/console');

/** Why the built console cannot be tested (missing, or older than a source file), or null. */
export function consoleBuildProblem(): string | null {
  if (!existsSync(CONSOLE_BUILD)) return `${CONSOLE_BUILD} is missing: the console is not built; run npm run build before this test`;
  const built = statSync(CONSOLE_BUILD).mtimeMs;
  const newer = sourceFiles(resolve('console')).find((f) => statSync(f).mtimeMs > built);
  return newer === undefined ? null : `${newer} changed after the console was built: run npm run build before this test`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? (e.name === 'node_modules' ? [] : sourceFiles(p)) : [p];
  });
}
/** `ADBFLEET_UPDATE_SCREENSHOTS=1` also copies the screenshots docs/CONSOLE.md shows into docs/images. */
const DOC_IMAGES: Readonly<Record<string, string>> = { instances: 'console-instances.png', task: 'console-task.png' };

export interface ConsoleBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** page errors, console errors (a CSP violation is one), failed requests, requests elsewhere */
  problems: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openConsoleBrowser(origin: string): Promise<ConsoleBrowser> {
  // As root (CI containers) Chromium refuses to start without --no-sandbox.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  // A laptop screen (the 1280x800).
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    // Leaving a page aborts its open event stream: not a fault.
    if (!r.url().endsWith('/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:')) problems.push(`request to another origin: ${r.url()}`);
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    context,
    page,
    problems,
    async shot(name) {
      const file = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const doc = DOC_IMAGES[name];
      if (doc !== undefined && process.env.ADBFLEET_UPDATE_SCREENSHOTS === '1') copyFileSync(file, resolve('docs/images', doc));
    },
    close: () => browser.close(),
  };
}

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
}
