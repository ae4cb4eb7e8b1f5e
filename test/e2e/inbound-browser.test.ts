import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot, skipWithoutChromium, watchPage } from '../support/browser.js';
import { MARKUP, startTestService } from '../support/service.js';
import type { TestService } from '../support/service.js';
import { INBOUND_DOMAIN, INBOUND_ZONES, sendTestMessage } from '../support/inbound.js';

/**
 * The inbound test page in a real browser (Debian's Chromium through playwright-core, as in
 * browser.test.ts; skipped with a message when /usr/bin/chromium is missing): get an address,
 * send a DKIM-signed message over STARTTLS while the page waits, and watch the page turn into
 * the report by itself, with the TLS version and SPF, DKIM and DMARC in the facts and remote
 * text as text. MXDOCTOR_E2E_SCREENSHOTS=dir saves screenshots.
 */

describe('inbound test page in Chromium', { skip: skipWithoutChromium('inbound browser test') }, () => {
  let t: TestService;
  let browser: Browser;
  before(async () => {
    t = await startTestService({
      zones: INBOUND_ZONES,
      env: {
        MXDOCTOR_INBOUND_LISTEN: '127.0.0.1:0',
        MXDOCTOR_INBOUND_DOMAIN: INBOUND_DOMAIN,
        MXDOCTOR_DNSBLS: 'off',
        MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  const shot = screenshot;
  /** The value next to a label in the report's facts list. */
  const fact = (page: Page, label: string) =>
    page
      .locator('dl.facts dt', { hasText: new RegExp(`^${label.replace(/[()]/g, '\\$&')}$`) })
      .locator('+ dd');

  it('shows the address, waits live, then shows TLS, SPF, DKIM and DMARC of the message that came', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watchPage(page);

    await page.goto(`${t.url}/`);
    await page.getByRole('link', { name: 'Test your sending' }).click();
    await page.getByRole('button', { name: 'Get a test address' }).click();
    await page.waitForURL(/\/inbound\/[A-Za-z0-9_-]{22}$/);
    const address = (await page.locator('#test-address').innerText()).trim();
    assert.match(address, /^test-[a-z2-7]{26}@inbound\.example\.test$/);
    assert.match(await page.locator('#progress-message').innerText(), /Waiting for your message/);
    await shot(page, 'inbound-waiting');
    const waitingUrl = page.url();

    await sendTestMessage({
      port: t.service.inbound.receiver!.port,
      to: address,
      dkimDomain: 'good.sender.example',
      subject: `Hello ${MARKUP}`,
    });

    // The page turns into the report without a manual reload.
    const verdict = page.locator('#verdict-title');
    await verdict.waitFor({ timeout: 30_000 });
    assert.equal(page.url(), waitingUrl);
    assert.match(await verdict.innerText(), /Pass\s+Score 100\/100/);
    assert.match(await fact(page, 'TLS').innerText(), /^TLSv1\.[23], TLS_/);
    assert.match(await fact(page, 'SPF (MAIL FROM)').innerText(), /^pass for good\.sender\.example$/);
    assert.match(
      await fact(page, 'DKIM').innerText(),
      /^pass d=good\.sender\.example s=s1 \(rsa 2048 bits\)$/,
    );
    assert.match(await fact(page, 'DMARC').innerText(), /^pass, p=reject: delivered$/);
    assert.match(
      await page.locator('li.finding', { hasText: 'TLS in transit' }).innerText(),
      /Pass\s+TLS in transit\s+The sender used STARTTLS with TLSv1\.[23]/,
    );

    // The subject is text, never markup.
    assert.ok((await page.locator('.verdict .meta').innerText()).includes(`“Hello ${MARKUP}”`));
    assert.equal(await page.locator('main img').count(), 0);

    // Header names stay on one line beside a long DKIM-Signature value.
    await page.locator('details.headers summary').click();
    const row = page.locator('details.headers tr', {
      has: page.locator('th', { hasText: 'DKIM-Signature' }),
    });
    const nameBox = await row.locator('th code').boundingBox();
    const valueBox = await row.locator('td code').boundingBox();
    assert.ok(nameBox && valueBox);
    const line = await row.locator('th code').evaluate((e) => {
      // Runs in the page (the tests are compiled without the DOM's types).
      type Style = { lineHeight: string; fontSize: string };
      const style = (globalThis as unknown as { getComputedStyle(el: unknown): Style }).getComputedStyle(e);
      return parseFloat(style.lineHeight) || 1.3 * parseFloat(style.fontSize);
    });
    assert.ok(nameBox.height < 1.5 * line, `the name is on one line (${nameBox.height}px, a line ${line}px)`);
    assert.ok(valueBox.height > 2 * line, 'the value wraps');
    await shot(page, 'inbound-report');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
