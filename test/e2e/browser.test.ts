import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshot, skipWithoutChromium, watchPage } from '../support/browser.js';
import { CHECKS_WITH_HOSTILE_BANNER, MARKUP, startTestService } from '../support/service.js';
import type { TestService } from '../support/service.js';
import { postfixDsn, received } from '../fixtures/bounce-messages.js';
import { SENDER_IPS, senderZones } from '../fixtures/zones/bounce-followups.js';
import { ADMIN_TOKEN } from '../support/monitor.js';

/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). .ci/run installs chromium; elsewhere the test is skipped with a
 * message when /usr/bin/chromium is missing. MXDOCTOR_E2E_SCREENSHOTS=dir saves screenshots.
 */

describe('web UI in Chromium', { skip: skipWithoutChromium('browser test') }, () => {
  let t: TestService;
  let browser: Browser;
  before(async () => {
    t = await startTestService({
      checks: CHECKS_WITH_HOSTILE_BANNER,
      zones: senderZones(),
      env: { MXDOCTOR_DNSBLS: 'zen.spamhaus.org', MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  const watch = watchPage;
  const shot = screenshot;

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
  /** A Postfix report about a listed sending IP, with markup in the refusal and the subject. */
  const hostileBounce = (): string =>
    postfixDsn(
      'mail.shop.example',
      [
        {
          recipient: 'ivan@example.net',
          remote: 'mx.example.net[93.184.216.10]',
          reply: `554 5.7.1 Service unavailable; Client host [${SENDER_IPS.listed}] blocked using zen.spamhaus.org; ${MARKUP}`,
          status: '5.7.1',
          command: 'RCPT TO',
        },
      ],
      {
        from: 'news@shop.example',
        returnPath: 'bounces@shop.example',
        to: 'ivan@example.net',
        subject: `Sale ${MARKUP}`,
        received: [
          received('mail.shop.example', 'mail.shop.example', SENDER_IPS.listed, 'relay.example.net'),
        ],
      },
    );

  it('pastes a bounce and shows the diagnosis, with hostile markup from the bounce as text', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watch(page);
    await page.goto(`${t.url}/`);
    await page.getByRole('link', { name: 'Diagnose a bounce' }).click();
    assert.equal(await page.title(), 'Diagnose a bounce · mxdoctor');
    await page.getByLabel('The bounce', { exact: true }).fill(hostileBounce());
    await page.getByRole('button', { name: 'Diagnose' }).click();
    await page.waitForURL(/\/bounces\/[A-Za-z0-9_-]{22}$/);

    // The progress page turns into the diagnosis without a manual reload.
    const heading = page.getByRole('heading', { name: 'Bounce diagnosis', level: 1 });
    await heading.waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#summary-title').innerText(), /1 recipient: 1 soft/);
    const row = page.locator('table.recipients tbody tr');
    assert.equal(await row.count(), 1);
    assert.match(
      await row.innerText(),
      /ivan@example\.net\s+Soft\s+blocked Sending IP or host refused\s+554 5\.7\.1/,
    );
    assert.ok(await page.getByRole('heading', { name: 'Hard or soft: why it matters' }).isVisible());
    const record = page.locator('section.record');
    assert.match(await record.innerText(), /Whose side: sender’s reputation/);
    const listed = page.locator('li.followup', { hasText: 'Blocklists for 93.184.216.66' });
    assert.match(
      await listed.innerText(),
      /Confirmed\s+Blocklists for 93\.184\.216\.66\s+confirmed: 93\.184\.216\.66 is listed on zen\.spamhaus\.org/,
    );

    // The markup from the bounce is shown as text, and nothing from it became an element.
    const diagnostic = record.locator('dl.dsn dd', { hasText: 'blocked using' });
    assert.ok((await diagnostic.innerText()).includes(MARKUP), 'the refusal’s markup is shown as text');
    await page.getByText(/All \d+ header fields of the original message/).click();
    assert.ok((await page.locator('details.headers pre').innerText()).includes(`Subject: Sale ${MARKUP}`));
    assert.equal(await page.locator('main img').count(), 0);
    await shot(page, 'bounce-diagnosis');
    assert.match(
      (await page.getByRole('link', { name: 'Download JSON' }).getAttribute('href')) ?? '',
      /diagnosis\.json$/,
    );
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('diagnoses an uploaded bounce without JavaScript, and says what is wrong next to the field', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 800 },
    });
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${t.url}/bounces`);
    await page.getByRole('button', { name: 'Diagnose' }).click();
    assert.equal(await page.title(), 'Error: Diagnose a bounce · mxdoctor');
    assert.match(await page.locator('#message-error').innerText(), /Paste the bounce into the box/);
    assert.equal(await page.getByLabel('The bounce', { exact: true }).getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Or upload the saved message').setInputFiles({
      name: 'bounce.eml',
      mimeType: 'message/rfc822',
      buffer: Buffer.from(hostileBounce()),
    });
    await page.getByText('More options').click();
    await page.getByLabel('Do not contact mail servers (DNS follow-ups only)').check();
    await page.getByRole('button', { name: 'Diagnose' }).click();
    // Without JS the page refreshes itself until the diagnosis is there.
    await page.getByRole('heading', { name: 'Bounce diagnosis', level: 1 }).waitFor({ timeout: 30_000 });
    assert.match(await page.locator('.bounce-summary .meta').innerText(), /DNS follow-ups only/);
    assert.equal(await page.locator('main img').count(), 0);
    await shot(page, 'bounce-diagnosis-mobile-nojs');
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
