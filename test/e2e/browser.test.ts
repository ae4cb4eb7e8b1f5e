import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { CHECKS_WITH_HOSTILE_BANNER, MARKUP, startTestService } from '../support/service.js';
import type { TestService } from '../support/service.js';
import { ADMIN_TOKEN } from '../support/monitor.js';

/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). .ci/run installs chromium; elsewhere the test is skipped with a
 * message when /usr/bin/chromium is missing. MXDOCTOR_E2E_SCREENSHOTS=dir saves screenshots.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
const shots = process.env.MXDOCTOR_E2E_SCREENSHOTS;
if (!available && !inCi)
  console.log(`# browser test skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

describe('web UI in Chromium', { skip: !available && !inCi ? `${CHROMIUM} missing` : false }, () => {
  let t: TestService;
  let browser: Browser;
  before(async () => {
    t = await startTestService({
      checks: CHECKS_WITH_HOSTILE_BANNER,
      env: { MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    if (shots) mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  const watch = (page: Page) => {
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
  };
  const shot = async (page: Page, name: string) => {
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };

  it('submits the form, shows live progress, then the verdict, findings and remote text as text', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watch(page);
    await page.goto(`${t.url}/`);
    assert.equal(await page.title(), 'Check a mail domain · mxdoctor');
    await page.getByLabel('Domain or email address').fill('slow.example.com');
    await page.getByRole('button', { name: 'Check' }).click();

    // The slow fixture keeps the check running for ~3 s: the progress panel updates live.
    await page.waitForURL(/\/checks\/[A-Za-z0-9_-]{22}$/);
    await page.getByRole('status').waitFor();
    await page.locator('#progress-message', { hasText: /resolving|MX|Hostile/i }).waitFor();
    await shot(page, 'progress');

    // Then the page turns into the report without a manual reload.
    const verdict = page.locator('#verdict-title');
    await verdict.waitFor({ timeout: 30_000 });
    assert.match(await verdict.innerText(), /Warnings\s+Mail can be delivered/);
    const banner = page.locator('li.finding', { hasText: 'SMTP banner' });
    assert.match(await banner.innerText(), /Warning\s+SMTP banner/);
    assert.ok((await banner.innerText()).includes(`"220 ${MARKUP} ESMTP"`), 'the markup is shown as text');
    assert.ok((await banner.locator('.remedy').innerText()).startsWith('Fix: Remove'));
    assert.ok(await page.locator('li.finding', { hasText: 'MX records' }).isVisible());

    // Nothing from the remote server became an element.
    assert.equal(await page.locator('main img').count(), 0);
    await page.locator('details.transcript summary').click();
    assert.ok((await page.locator('details.transcript pre').innerText()).includes(`S: 220 ${MARKUP} ESMTP`));
    assert.ok((await page.locator('.mx-host').innerText()).includes(MARKUP));
    await page.locator('details.raw summary').click();
    await shot(page, 'report');

    // Download link and re-run.
    assert.match(
      (await page.getByRole('link', { name: 'Download JSON' }).getAttribute('href')) ?? '',
      /report\.json$/,
    );
    const firstUrl = page.url();
    await page.getByRole('button', { name: 'Run again' }).click();
    await page.waitForURL((u) => u.toString() !== firstUrl && /\/checks\//.test(u.toString()));
    await page.locator('#verdict-title').waitFor({ timeout: 30_000 });
    assert.ok(await page.getByRole('heading', { name: 'Previous checks of this domain' }).isVisible());
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows what is wrong next to the field, and works without JavaScript', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 800 },
    });
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${t.url}/`);
    await page.getByLabel('Domain or email address').fill('https://shop.example.com/');
    await page.getByRole('button', { name: 'Check' }).click();
    assert.equal(await page.title(), 'Error: Check a mail domain · mxdoctor');
    assert.match(await page.locator('#domain-error').innerText(), /is a URL, not a domain/);
    assert.equal(await page.getByLabel('Domain or email address').getAttribute('aria-invalid'), 'true');
    await shot(page, 'form-error-mobile');

    await page.getByLabel('Domain or email address').fill('nomail.example.com');
    await page.getByRole('button', { name: 'Check' }).click();
    // Without JS the page refreshes itself until the report is there.
    await page.locator('#verdict-title').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#verdict-title').innerText(), /Fail/);
    await shot(page, 'report-mobile-nojs');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('signs in, creates a monitor with the form, sees its first run and its report, and runs it again', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watch(page);
    await page.goto(`${t.url}/`);
    await page.getByRole('link', { name: 'Monitors' }).click();
    assert.equal(await page.title(), 'Sign in · Monitors · mxdoctor');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'New monitor' }).click();
    assert.equal(await page.title(), 'New monitor · mxdoctor');

    await page.getByLabel('Domain', { exact: true }).fill('shop.example.com');
    await page.getByLabel('Run every').selectOption('1h');
    await page.getByLabel('Labels').fill('e2e');
    await page.getByLabel('Webhook 1').fill('http://127.0.0.1:9/never-called');
    await shot(page, 'monitor-form');
    await page.getByRole('button', { name: 'Create monitor' }).click();
    await page.waitForURL(/\/monitors\/[A-Za-z0-9_-]{16}$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Monitor of shop.example.com');

    // The first run is queued at creation; the page shows it once it is there.
    const firstRun = page.locator('ol.timeline li.run').first();
    for (let i = 0; i < 60 && !(await firstRun.isVisible()); i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    assert.match(await firstRun.innerText(), /Warnings .*first run/s);
    assert.match(await page.locator('#state-title').innerText(), /Warnings/);
    assert.ok(await page.getByRole('button', { name: 'Send a test alert' }).isVisible());
    await shot(page, 'monitor');

    // Its report: the monitor's run page, remote text as text.
    await firstRun.getByRole('link').click();
    await page.locator('#verdict-title').waitFor();
    assert.match(
      await page.getByRole('heading', { name: 'What changed since the previous run' }).innerText(),
      /What changed/,
    );
    assert.ok((await page.locator('li.finding', { hasText: 'SMTP banner' }).innerText()).includes(MARKUP));
    assert.equal(await page.locator('main img').count(), 0);
    await shot(page, 'monitor-run');

    // Run it again: a second run appears with "no change".
    await page.locator('.breadcrumb').getByRole('link', { name: 'shop.example.com' }).click();
    await page.getByRole('button', { name: 'Run now' }).click();
    assert.match(await page.getByRole('status').innerText(), /A run is queued/);
    const runs = page.locator('ol.timeline li.run');
    for (let i = 0; i < 60 && (await runs.count()) < 2; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    assert.equal(await runs.count(), 2);
    assert.match(await runs.first().innerText(), /run now/);
    assert.match(await runs.first().innerText(), /No change since the run before/);

    // The list shows it with its trend and next run.
    await page.getByRole('link', { name: 'Monitors', exact: true }).first().click();
    const row = page.locator('table.monitors tbody tr', { hasText: 'shop.example.com' });
    assert.match(await row.innerText(), /every 1h/);
    assert.equal(await row.locator('.trend-cell').count(), 2);
    await shot(page, 'monitors');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
