/** A real browser for the dashboard tests: Debian's chromium driven by playwright-core (no download). */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { TOKEN } from './server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As root in a container, chromium needs --no-sandbox; the rest keeps it off the (closed) network.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** One chromium for the calling test file: launched before its tests, closed after them. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('the browser is launched in beforeAll: call it inside a test');
    return browser;
  };
}

export interface OpenDashboardOptions {
  /** Sign in with this token (default the test server's own: the bootstrap admin). */
  token?: string;
  /** Console errors the page expects (chromium logs every 4xx response as one) and that are not problems. */
  expectedConsole?: RegExp;
  /** The window height (default 860; the width is 1280). */
  height?: number;
}

/**
 * A new page of `browser` signed in to the dashboard at `url`, with `problems` collecting its
 * uncaught errors and console errors (but those matching `expectedConsole`).
 */
export async function openDashboard(
  browser: Browser,
  url: string,
  options: OpenDashboardOptions = {},
): Promise<{ page: Page; problems: string[] }> {
  const { token = TOKEN, expectedConsole, height = 860 } = options;
  const page = await browser.newPage({ viewport: { width: 1280, height } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !expectedConsole?.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  await signIn(page, url, token);
  return { page, problems };
}

/** Sign the page in with `token` (traded for a session), then go to `hash` if given. */
export async function signIn(page: Page, url: string, token: string, hash = ''): Promise<void> {
  await page.goto(`${url}/login?token=${token}`);
  await expect.poll(() => page.url()).toBe(`${url}/`);
  if (hash) await page.goto(`${url}/${hash}`);
}
