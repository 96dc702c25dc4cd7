import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core, for the browser tests. `npm test` and
 * `npm run test:e2e` install it first (scripts/ensure-chromium.mjs); CHROMIUM_PATH names
 * another binary.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH?.trim() || '/usr/bin/chromium';

/** Where the browser tests keep their screenshots (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

// Without the background-networking switches Chromium keeps trying to reach Google's
// services (component updates, sync, safe browsing), which on a closed network means a
// stream of failing connections for as long as it runs.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  /** Full-page screenshot to test-artifacts/<dir>/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** A fresh headless Chromium (its own new profile directory, removed on close) with one page. */
export async function launchBrowser(artifactsSubdir: string): Promise<TestBrowser> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run \`node scripts/ensure-chromium.mjs\` (npm test and npm run test:e2e do), or set CHROMIUM_PATH`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'ao-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dir = join(ARTIFACTS_DIR, artifactsSubdir);
  mkdirSync(dir, { recursive: true });
  return {
    page,
    context,
    async screenshot(name) {
      const path = join(dir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
