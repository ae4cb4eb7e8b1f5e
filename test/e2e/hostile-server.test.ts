import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium, skipWithoutChromium, watchPage } from '../support/browser.js';
import { freePort, scriptedMta, startPlaybook } from '../support/smtp-fakes.js';
import type { Playbook } from '../support/smtp-fakes.js';
import { startTestService } from '../support/service.js';
import type { TestService } from '../support/service.js';

/**
 * A hostile mail server, probed by the real SMTP check: its greeting, EHLO reply and RCPT
 * replies carry markup and script. The report page must show all of it as text — no element,
 * no dialog, no CSP violation — in Debian's Chromium.
 */
const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';

describe(
  'web UI shows a hostile server as text',
  { skip: skipWithoutChromium('hostile-server browser test') },
  () => {
    let t: TestService;
    let mx: Playbook;
    let browser: Browser;
    before(async () => {
      const port = await freePort();
      mx = await startPlaybook(
        '127.0.0.62',
        port,
        scriptedMta({
          name: 'mx.hostile.example.com',
          greeting: [`220 mx.hostile.example.com ESMTP ${IMG} ${SCRIPT}`],
          extensions: ['PIPELINING', `X-EVIL ${IMG}`],
          reply: (line) => (/^RCPT/i.test(line) ? `550 5.1.1 ${SCRIPT} no such user ${IMG}` : undefined),
        }),
      );
      t = await startTestService({
        zones: {
          'hostile.example.com': { MX: ['10 mx.hostile.example.com'] },
          'mx.hostile.example.com': { A: ['127.0.0.62'] },
        },
        env: { MXDOCTOR_SMTP_PORT: String(port), MXDOCTOR_SMTP_LEGACY_TLS: 'false' },
      });
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await t?.stop();
      await mx?.stop();
    });

    it('renders the banner, EHLO and RCPT replies as text', async () => {
      const page = await browser.newPage();
      const problems = watchPage(page);
      await page.goto(`${t.url}/`);
      await page.getByLabel('Domain or email address').fill('hostile.example.com');
      await page.getByRole('button', { name: 'Check' }).click();
      await page.locator('#verdict-title').waitFor({ timeout: 30_000 });

      const servers = await page.locator('.mx-host').innerText();
      assert.ok(servers.includes(`ESMTP ${IMG} ${SCRIPT}`), 'the banner is printed as text');
      await page.locator('details.transcript summary').first().click();
      const transcript = await page.locator('details.transcript pre').first().innerText();
      assert.ok(transcript.includes(`S: 220 mx.hostile.example.com ESMTP ${IMG} ${SCRIPT}`));
      assert.ok(transcript.includes(`X-EVIL ${IMG}`));
      assert.ok(transcript.includes(`550 5.1.1 ${SCRIPT} no such user`));
      // Nothing the server sent became an element.
      assert.equal(await page.locator('main img').count(), 0);
      assert.equal(await page.locator('main script').count(), 0);
      assert.deepEqual(problems, []);
      mx.assertNoMessageSent();
      await page.close();
    });
  },
);
