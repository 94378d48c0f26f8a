/**
 * Headless Chromium for the browser tests (Debian's, driven by
 * playwright-core). CI installs it (.ci/run); on a workstation without it the
 * browser suites are skipped, never silently in CI.
 */
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The `skip` option of a browser suite: a reason on a machine without Chromium outside CI, else false. */
export const skipWithoutChromium: string | false = !fs.existsSync(CHROMIUM) && process.env.CI !== 'true' ? `no Chromium at ${CHROMIUM}` : false;

/** A headless Chromium that makes no connection of its own (no updates, sync or background fetches). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Opens the admin UI at `origin`, signed out (the key lives in the tab's sessionStorage), and signs in with `key`. */
export async function signInAdmin(page: Page, origin: string, key: string): Promise<void> {
  await page.goto(`${origin}/orchestration/admin/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.fill('#key', key);
  await page.click('#login button[type=submit]');
}

/**
 * A new tab for an admin UI test, with room for a loaded machine (60 s per
 * action) and every page error and console error collected in `errors`.
 */
export async function openAdminTab(browser: Browser, options: Parameters<Browser['newPage']>[0] = {}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage(options);
  const errors: string[] = [];
  // The whole suite shares two cores: give the page room before calling it stuck.
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return { page, errors };
}

/** The errors a tab collected beyond the expected ones: refused sign-ins (401/403) and the failed loads they log. */
export function unexpectedPageErrors(errors: string[]): string[] {
  return errors.filter((e) => !/401|403|Failed to load resource/.test(e));
}
