/**
 * Headless Chromium for the browser tests (Debian's, driven by
 * playwright-core). CI installs it (.ci/run); on a workstation without it the
 * browser suites are skipped, never silently in CI.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
