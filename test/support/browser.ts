import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

/**
 * The browser tests' shared parts: Debian's Chromium through playwright-core (never a
 * downloaded browser), skipped with a message when it is missing outside CI, and a watch on
 * each page for what a strict page must never do (dialogs, CSP refusals, script errors).
 * MXDOCTOR_E2E_SCREENSHOTS=dir saves screenshots.
 */
export const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
const shots = process.env.MXDOCTOR_E2E_SCREENSHOTS;

/** The `skip` option of a browser suite: false, or why it is skipped (said once on the console). */
export function skipWithoutChromium(suite: string): string | false {
  if (available || inCi) return false;
  console.log(`# ${suite} skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return `${CHROMIUM} missing`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
}

/** Collects what the page must never do: dialogs (dismissed), CSP refusals, script errors. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/** A full-page screenshot into MXDOCTOR_E2E_SCREENSHOTS, when it is set. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
