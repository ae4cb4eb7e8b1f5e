import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '../../../src/report/model.js';
import type { SmtpData } from '../../../src/smtp/model.js';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';
import { reportValidator } from '../../support/schema.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/**
 * A greylisting MX (Postfix with postgrey, say): every new (sender, recipient) pair gets
 * "450 4.7.1 greylisted, try again later" until a retry some time after the first attempt.
 * The check cannot wait; the service stores the report with the planned retry, asks again in
 * a delayed job, and replaces the recipient findings — only those of the greylisted addresses.
 */
describe('service: greylisted recipients are asked again by a delayed job', () => {
  let t: TestService;
  let mx: SmtpFake;

  before(async () => {
    const port = await freePort();
    mx = await startSmtpFake({
      host: '127.0.0.61',
      port,
      name: 'mx.grey.example.com',
      users: ['alice'],
      domains: ['grey.example.com'],
      greylistMs: 1500,
    });
    t = await startTestService({
      zones: {
        'grey.example.com': { MX: ['10 mx.grey.example.com'], TXT: ['v=spf1 mx -all'] },
        'mx.grey.example.com': { A: ['127.0.0.61'] },
      },
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_SMTP_LEGACY_TLS: 'false',
        MXDOCTOR_GREYLIST_REPROBE: '2500ms',
        MXDOCTOR_SMTP_COMMAND_TIMEOUT: '3s',
        MXDOCTOR_SMTP_RCPT_TIMEOUT: '3s',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await mx?.stop();
  });

  const rcpt = (report: Report) =>
    report.checks
      .filter((f) => f.id === 'rcpt.verify')
      .map((f) => `${f.subject?.name}:${f.status}`)
      .sort();

  it('shows "greylisted — re-trying at …", then the new answers', async () => {
    const res = await fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        domain: 'grey.example.com',
        verify: ['alice@grey.example.com', 'bob@grey.example.com'],
      }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const first = (await waitForCheck(t.url, id)).report as Report;
    assert.deepEqual(rcpt(first), ['alice@grey.example.com:error', 'bob@grey.example.com:error']);
    const planned = (first.data.smtp as SmtpData).reprobe!;
    assert.deepEqual(planned.addresses.sort(), ['alice@grey.example.com', 'bob@grey.example.com']);
    assert.equal(planned.attempt, 1);
    const wait = Date.parse(planned.scheduledAt) - Date.parse(first.finishedAt);
    assert.ok(wait >= 2000 && wait <= 4000, `scheduled ${wait} ms after the check`);
    assert.deepEqual(reportValidator()(first), []);

    const page = await (await fetch(`${t.url}/checks/${id}`)).text();
    assert.match(page, /greylisted — re-trying at <time datetime="[^"]+">\d\d:\d\d UTC<\/time>/);

    // The delayed job runs, asks again (now past the greylisting delay) and updates the report.
    let after: Report | undefined;
    for (const until = Date.now() + 20_000; Date.now() < until;) {
      const body = (await (await fetch(`${t.url}/api/v1/checks/${id}`)).json()) as { report: Report };
      if (!(body.report.data.smtp as SmtpData).reprobe) {
        after = body.report;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(after, 'the re-probe ran within 20 s');
    assert.deepEqual(rcpt(after), ['alice@grey.example.com:pass', 'bob@grey.example.com:fail']);
    const smtp = after.data.smtp as SmtpData;
    assert.ok(smtp.reprobedAt);
    assert.equal(after.verdict, 'fail', 'bob does not exist, which the user asked about');
    assert.equal(after.counts.fail, after.checks.filter((f) => f.status === 'fail').length);
    assert.deepEqual(reportValidator()(after), []);
    const updated = await (await fetch(`${t.url}/checks/${id}`)).text();
    assert.doesNotMatch(updated, /re-trying at/);
    assert.match(updated, /Greylisted addresses were asked again at/);
    mx.assertNoMessageSent();
    // The retry asked only about the recipients: one RCPT per address and catch-all probe.
    const retried = mx.rcpts.filter((r) => r.to === 'bob@grey.example.com').map((r) => r.code);
    assert.deepEqual(retried.slice(-1), [550]);
  });
});
