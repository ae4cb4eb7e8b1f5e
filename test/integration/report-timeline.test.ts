import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mtaStsCheck } from '../../src/mta-sts/check.js';
import { mxCheck } from '../../src/mx/check.js';
import type { Report } from '../../src/report/model.js';
import type { Timeline } from '../../src/report/timeline.js';
import { smtpCheck } from '../../src/smtp/check.js';
import { runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { createCa, issueLeaf } from '../support/forge-certs.js';
import { PolicyServer } from '../support/https-policy-server.js';
import { runChecksAgainst } from '../support/run-checks.js';
import { startTestService, waitForCheck } from '../support/service.js';
import { reportValidator } from '../support/schema.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';

/**
 * The report's timeline (issue 14 §4) for a domain like most: one MX with STARTTLS and
 * PIPELINING, an MTA-STS policy on HTTPS, an address to verify. Every DNS query, every phase
 * of each SMTP session and every step of the policy fetch is in it, in ms since the check
 * started, in order, each phase inside its session; and `mxdoctor check -v` prints it.
 */
const ca = createCa('mxdoctor timeline test CA');
const mxLeaf = issueLeaf(ca, { commonName: 'mx.timed.example.com', dnsNames: ['mx.timed.example.com'] });
const stsLeaf = issueLeaf(ca, {
  commonName: 'mta-sts.timed.example.com',
  dnsNames: ['mta-sts.timed.example.com'],
});

describe('the timeline of a check', () => {
  let dns: FixtureDns;
  let https: PolicyServer;
  let fake: SmtpFake;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    const port = await freePort();
    fake = await startSmtpFake({
      host: '127.0.0.93',
      port,
      name: 'mx.timed.example.com',
      domains: ['timed.example.com'],
      users: ['alice'],
      tls: { key: mxLeaf.keyPem, cert: `${mxLeaf.certPem}${ca.certPem}` },
    });
    dns = await startFixtureDns({
      zones: {
        'timed.example.com': { MX: ['10 mx.timed.example.com'], TXT: ['v=spf1 mx -all'] },
        'mx.timed.example.com': { A: ['127.0.0.93'] },
        '_mta-sts.timed.example.com': { TXT: ['v=STSv1; id=1'] },
        'mta-sts.timed.example.com': { A: ['127.0.0.1'] },
      },
    });
    const policy = 'version: STSv1\r\nmode: testing\r\nmx: mx.timed.example.com\r\nmax_age: 86400\r\n';
    https = await new PolicyServer(
      {
        'mta-sts.timed.example.com': {
          cert: stsLeaf,
          respond: (_q: unknown, res: ServerResponse) =>
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end(policy),
        },
      },
      issueLeaf(ca, { commonName: 'fallback.invalid' }),
    ).start();
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-timeline-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    env = {
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
      MXDOCTOR_HTTPS_PORT: String(https.port),
      MXDOCTOR_EHLO_NAME: 'probe.example.org',
    };
  });
  after(async () => {
    fake?.assertNoMessageSent();
    await fake?.stop();
    await https?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = (): Promise<Report> =>
    runChecksAgainst(
      dns,
      'timed.example.com',
      [mxCheck, smtpCheck, mtaStsCheck],
      { smtp: true, verify: ['alice@timed.example.com'] },
      env,
    );

  /** [start, end] of every item, to assert nesting. */
  const span = (x: { startMs: number; ms: number }): [number, number] => [x.startMs, x.startMs + x.ms];
  const within = (inner: [number, number], outer: [number, number], what: string): void =>
    assert.ok(inner[0] >= outer[0] && inner[1] <= outer[1], `${what}: [${inner}] not within [${outer}]`);
  const ordered = (xs: { startMs: number }[], what: string): void =>
    assert.deepEqual(
      xs.map((x) => x.startMs),
      xs.map((x) => x.startMs).sort((a, b) => a - b),
      `${what} in order of start`,
    );

  it('times every DNS query, SMTP phase and HTTPS step, in order, each inside what holds it, and they add up', async () => {
    const report = await check();
    assert.deepEqual(reportValidator()(report), []);
    const t = report.timeline as Timeline;
    assert.ok(t, 'the report has a timeline');
    assert.equal(t.totalMs, report.durationMs);
    const whole: [number, number] = [0, t.totalMs];

    // DNS: every query of the DNS log, on the check's clock.
    assert.equal(t.dns.length, report.dnsLog.length);
    ordered(t.dns, 'DNS queries');
    for (const q of t.dns) within(span(q), whole, `${q.type} ${q.name}`);
    assert.ok(
      t.dns.some((q) => q.type === 'MX' && q.name === 'timed.example.com' && q.outcome === 'NOERROR'),
    );
    assert.ok(t.dns.some((q) => q.type === 'A' && q.name === 'mx.timed.example.com'));

    // SMTP: the main session (and the TLS 1.0/1.1 one beside it), phase by phase.
    ordered(t.smtp, 'SMTP sessions');
    const probe = t.smtp.find((s) => s.kind === 'probe');
    assert.ok(probe, JSON.stringify(t.smtp));
    assert.equal(probe.address, '127.0.0.93');
    assert.deepEqual(
      probe.phases.map((p) => p.phase),
      [
        'connect',
        'greeting',
        'ehlo',
        'starttls',
        'tls',
        'ehlo_tls',
        'recipients',
        'null_sender',
        'relay',
        'quit',
      ],
    );
    assert.deepEqual(
      probe.phases
        .filter((p) => p.phase !== 'quit' && p.phase !== 'tls' && p.phase !== 'connect')
        .map((p) => p.outcome),
      ['220', '250', '220', '250', '250', '250', '250'],
    );
    assert.match(probe.phases.find((p) => p.phase === 'tls')!.outcome!, /^TLSv1\.[23]$/);
    // The session starts after the MX host's address is known.
    const a = t.dns.find((q) => q.type === 'A' && q.name === 'mx.timed.example.com')!;
    assert.ok(probe.startMs >= a.startMs + a.ms - 1, 'the session starts once the address is known');
    for (const s of t.smtp) {
      within(span(s), whole, `session ${s.kind}`);
      ordered(s.phases, `phases of ${s.kind}`);
      let previousEnd = s.startMs;
      for (const p of s.phases) {
        within(span(p), span(s), `${s.kind} ${p.phase}`);
        assert.ok(p.startMs >= previousEnd, `${s.kind} ${p.phase} overlaps the phase before it`);
        previousEnd = p.startMs + p.ms;
      }
      const sum = s.phases.reduce((n, p) => n + p.ms, 0);
      assert.ok(sum <= s.ms, `the phases of ${s.kind} add up to ${sum} ms, more than the session's ${s.ms}`);
    }

    // HTTPS: the policy fetch, step by step, the steps adding up to the fetch.
    const fetch = t.https.find((f) => f.purpose === 'mta_sts_policy');
    assert.ok(fetch, JSON.stringify(t.https));
    assert.equal(fetch.outcome, 'ok');
    assert.deepEqual(
      fetch.phases.map((p) => p.phase),
      ['lookup', 'connect', 'tls', 'response'],
    );
    within(span(fetch), whole, 'the policy fetch');
    assert.equal(
      fetch.phases.reduce((n, p) => n + p.ms, 0),
      fetch.ms,
    );
    assert.equal(fetch.phases[0]!.startMs, fetch.startMs);
    for (let i = 1; i < fetch.phases.length; i++)
      assert.equal(fetch.phases[i]!.startMs, fetch.phases[i - 1]!.startMs + fetch.phases[i - 1]!.ms);
  });

  it('prints the timeline with -v: sessions, phases and fetch steps with their offsets, the slowest marked, no colour when not a terminal', async () => {
    const r = await runMxdoctor(
      ['check', 'timed.example.com', '--resolver', dns.address, '--verify', 'alice@timed.example.com', '-v'],
      { env },
    );
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const out = r.stdout;
    assert.ok(!out.includes('\u001b['), 'no colour codes when not a terminal');
    const section = out.slice(out.indexOf('\nTimeline ('), out.indexOf('\nSMTP transcript'));
    assert.match(section, /^\nTimeline \(\d+ ms;/);
    const lines = section.split('\n').filter((l) => / ms +\d+ ms /.test(l));
    const row = (label: RegExp): string => {
      const l = lines.find((x) => label.test(x));
      assert.ok(l, `no row ${label} in\n${section}`);
      return l;
    };
    row(/ DNS: \d+ queries$/);
    row(/ SMTP mx\.timed\.example\.com \[127\.0\.0\.93\]$/);
    for (const phase of [
      / {2}TCP connect$/,
      / {2}greeting \(220\)$/,
      / {2}EHLO \(250\)$/,
      / {2}STARTTLS \(220\)$/,
      / {2}TLS handshake \(TLSv1\.[23]\)$/,
      / {2}EHLO over TLS \(250\)$/,
      / {2}recipients \(MAIL FROM, RCPT TO\) \(250\)$/,
      / {2}null sender \(MAIL FROM:<>\) \(250\)$/,
      / {2}relay test \(250\)$/,
      / {2}QUIT \(.*not waited for\)$/,
    ])
      row(phase);
    row(/ HTTPS MTA-STS policy \(ok\)$/);
    for (const step of [
      / {2}address lookup$/,
      / {2}TCP connect$/,
      / {2}TLS handshake$/,
      / {2}request and response$/,
    ])
      row(step);
    assert.equal(
      lines.filter((l) => /^ +\d+ ms +\d+ ms {2}\S+ {2}\* /.test(l)).length,
      1,
      'one slowest step marked',
    );
    // Offsets as printed agree with the line's own numbers: start ≤ total.
    const total = Number(/^\nTimeline \((\d+) ms/.exec(section)![1]);
    for (const l of lines) assert.ok(Number(/^ *(\d+) ms/.exec(l)![1]) <= total, l);
    // Bars fit the default width.
    for (const l of lines) assert.ok(l.length <= 100, `longer than 100 columns: ${l}`);
  });

  it('shows the timeline on the web report: a row per session, phase and fetch step with its offsets and a bar, the slowest marked, remote text escaped', async () => {
    const t = await startTestService({ dns, checks: [mxCheck, smtpCheck, mtaStsCheck], env });
    try {
      const res = await fetch(`${t.url}/api/v1/checks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          domain: 'timed.example.com',
          verify: ['alice@timed.example.com'],
        }),
      });
      assert.equal(res.status, 202, await res.clone().text());
      const { id } = (await res.json()) as { id: string };
      const done = await waitForCheck(t.url, id);
      assert.equal(done.status, 'completed');
      const html = await (await fetch(`${t.url}/checks/${id}`)).text();
      const start = html.indexOf('<h2 id="timeline-title">Timeline</h2>');
      assert.ok(start > 0, 'the report page has a timeline section');
      const section = html.slice(start, html.indexOf('</section>', start));
      const rows = [...section.matchAll(/<tr class="tl-(\w+) tl-level-(\d)[^"]*">(.*?)<\/tr>/g)].map((m) => ({
        group: m[1],
        level: m[2],
        cells: m[3]!,
      }));
      const row = (label: string) => {
        const r = rows.find((x) => x.cells.includes(`<th scope="row">${label}`));
        assert.ok(r, `no row "${label}" in\n${section}`);
        return r;
      };
      assert.equal(row('SMTP mx.timed.example.com [127.0.0.93]').level, '0');
      assert.equal(row('TLS handshake (TLSv1.').group, 'smtp');
      row('recipients (MAIL FROM, RCPT TO) (250)');
      row('null sender (MAIL FROM:&lt;&gt;) (250)');
      row('relay test (250)');
      assert.equal(row('HTTPS MTA-STS policy (ok)').group, 'https');
      row('request and response');
      row('DNS: ');
      // Offsets in words, and a bar drawn with SVG geometry (the strict CSP forbids inline styles).
      for (const r of rows) {
        assert.match(r.cells, /<td>\d+ ms<\/td><td>\d+ ms<\/td>/);
        assert.match(r.cells, /<rect x="\d+" y="0" width="\d+" height="10"><\/rect>/);
        assert.ok(!/style=/.test(r.cells));
      }
      assert.equal(rows.filter((r) => r.cells.includes('tl-mark">slowest<')).length, 1);
      assert.equal((section.match(/class="tl-[a-z]+ tl-level-\d tl-slowest"/g) ?? []).length, 1);
    } finally {
      await t.stop();
    }
  });
});
