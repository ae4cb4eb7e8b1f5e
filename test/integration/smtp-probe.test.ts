import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { runMxdoctor } from '../support/cli.js';
import { reportValidator } from '../support/schema.js';
import type { FakeBase } from '../support/smtp-fakes.js';
import { startSmtpFixtures } from '../fixtures/smtp-servers.js';
import type { SmtpFixtures } from '../fixtures/smtp-servers.js';
import { SMTP_HOSTS as H, smtpZones } from '../fixtures/zones/smtp.js';
import type { Report } from '../../src/report/model.js';
import type { SmtpData } from '../../src/smtp/model.js';

/**
 * `mxdoctor check --json` against fake MX servers on 127.0.0.x (and ::1), one fixture domain
 * per real-world case, all on one port. Every fake fails the test if it ever receives DATA
 * or BDAT. Timeouts are shortened through the environment, so the tarpit and the silent
 * server cost seconds.
 */
describe('mxdoctor check: SMTP and TLS probe', { concurrency: 3 }, () => {
  let dns: FixtureDns;
  let fx: SmtpFixtures;
  let ipv6 = false;
  let fakes: FakeBase[] = [];
  const validate = reportValidator();

  before(async () => {
    fx = await startSmtpFixtures();
    ({ ipv6, fakes } = fx);
    dns = await startFixtureDns({ zones: smtpZones(ipv6) });
  });

  after(async () => {
    await fx?.stop();
    await dns?.stop();
  });

  const ENV = () => fx.env();

  async function check(
    domain: string,
    extra: string[] = [],
  ): Promise<{ code: number | null; report: Report; smtp: SmtpData; stdout: string }> {
    const result = await runMxdoctor(
      ['check', domain, '--json', '--resolver', dns.address, '--dns-timeout', '500ms', ...extra],
      { env: ENV() },
    );
    let report: Report;
    try {
      report = JSON.parse(result.stdout) as Report;
    } catch {
      assert.fail(
        `stdout is not JSON (exit ${result.code}): ${result.stdout.slice(0, 500)}\n${result.stderr}`,
      );
    }
    assert.deepEqual(validate(report), [], 'report matches docs/report.schema.json');
    for (const f of fakes) f.assertNoMessageSent();
    return { code: result.code, report, smtp: report.data.smtp as SmtpData, stdout: result.stdout };
  }

  /** "id:status@host" of the SMTP/TLS/recipient findings, sorted. */
  function findings(report: Report): string[] {
    return report.checks
      .filter((f) => /^(smtp|tls|rcpt|probe)\./.test(f.id))
      .map(
        (f) =>
          `${f.id}:${f.status}${f.subject?.host ? `@${f.subject.host}` : ''}${f.subject?.name ? `<${f.subject.name}>` : ''}`,
      )
      .sort();
  }

  function finding(report: Report, id: string) {
    const f = report.checks.find((x) => x.id === id);
    assert.ok(f, `finding ${id} present`);
    return f;
  }

  it('passes a well-configured server and verifies recipients without sending', async () => {
    const { code, report, smtp } = await check('good.test', [
      '--verify',
      'alice@good.test',
      '--verify',
      'bob@GOOD.test',
    ]);
    assert.equal(code, 1, 'bob is undeliverable, which fails');
    const h = '@mx.good.test';
    assert.deepEqual(
      findings(report),
      [
        'probe.identity:info',
        'rcpt.catch_all:pass@mx.good.test',
        `rcpt.verify:fail${h}<bob@good.test>`,
        `rcpt.verify:pass${h}<alice@good.test>`,
        `smtp.banner:pass${h}`,
        `smtp.banner_hostname:pass${h}`,
        `smtp.connect:pass${h}`,
        ipv6 ? 'smtp.consistency:pass' : 'smtp.consistency:info',
        `smtp.ehlo:pass${h}`,
        `smtp.extensions:info${h}`,
        `smtp.null_sender:pass${h}`,
        `smtp.open_relay:pass${h}`,
        `smtp.postmaster:pass${h}`,
        `smtp.starttls:pass${h}`,
        `tls.certificate.expiry:pass${h}`,
        `tls.certificate.hostname:pass${h}`,
        `tls.certificate.key:pass${h}`,
        `tls.certificate.signature:pass${h}`,
        `tls.certificate.trust:pass${h}`,
        `tls.legacy_protocols:pass${h}`,
        `tls.version:pass${h}`,
      ].sort(),
    );
    assert.deepEqual(report.options.verify, ['alice@good.test', 'bob@good.test']);
    assert.deepEqual(
      smtp.recipients.map((r) => [r.address, r.verdict]),
      [
        ['postmaster@good.test', 'deliverable'],
        ['alice@good.test', 'deliverable'],
        ['bob@good.test', 'undeliverable'],
      ],
    );
    assert.equal(smtp.catchAll.state, 'no');
    // What DANE and MTA-STS read.
    const tls = smtp.tls.find((t) => t.address === H.good)!;
    assert.equal(tls.starttls, 'offered');
    assert.equal(tls.handshake, 'ok');
    assert.equal(tls.trusted, true);
    assert.equal(tls.hostnameMatches, true);
    assert.match(tls.protocol!, /^TLSv1\.[23]$/);
    assert.equal(tls.chain.length, 2, 'leaf and intermediate, as presented');
    assert.match(tls.chain[0]!.spkiSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(tls.chain[0]!.sans, ['mx.good.test']);
    const session = smtp.sessions.find((s) => s.kind === 'probe' && s.address === H.good)!;
    assert.equal(session.bannerHostname, 'mx.good.test');
    assert.equal(session.ehloHostname, 'mx.good.test');
    assert.ok(session.transcript.some((l) => l.dir === 'C' && l.line === 'STARTTLS'));
    assert.ok(session.transcript.some((l) => l.dir === '*' && /^TLS handshake: TLSv1\.[23]/.test(l.line)));
    // Never DATA or BDAT, and the session ended politely.
    const sent = smtp.sessions.flatMap((s) =>
      s.transcript.filter((l) => l.dir === 'C').map((l) => l.line.split(' ')[0]),
    );
    assert.ok(!sent.some((v) => /^(DATA|BDAT)$/i.test(v!)));
    assert.ok(session.quit);
    if (ipv6) {
      assert.ok(smtp.tested.some((t) => t.address === '::1'));
      assert.match(finding(report, 'smtp.starttls').summary, /all 2 addresses/);
    }
  });

  it('prints the SMTP transcript with -v', async () => {
    const result = await runMxdoctor(['check', 'good.test', '--resolver', dns.address, '-v'], { env: ENV() });
    assert.match(result.stdout, /SMTP transcript mx\.good\.test 127\.0\.0\.2/);
    assert.match(result.stdout, /\d+ C: EHLO probe\.mxdoctor\.test/);
    assert.match(result.stdout, /\d+ S: 220 mx\.good\.test/);
    assert.match(result.stdout, /TLS handshake: TLSv1\.[23]/);
  });

  it('warns about a catch-all and calls accepted addresses risky', async () => {
    const { report, smtp } = await check('catchall.test', ['--verify', 'nobody@catchall.test']);
    assert.deepEqual(
      findings(report).filter((f) => f.startsWith('rcpt.')),
      ['rcpt.catch_all:warn@mx.catchall.test', 'rcpt.verify:warn@mx.catchall.test<nobody@catchall.test>'],
    );
    assert.equal(smtp.catchAll.state, 'yes');
    assert.equal(smtp.catchAll.confidence, 'high', 'two random addresses accepted');
    assert.equal(smtp.recipients.find((r) => r.address === 'nobody@catchall.test')!.verdict, 'risky');
  });

  it('fails a server without STARTTLS, and says so only because EHLO was answered', async () => {
    const { report, smtp } = await check('nostarttls.test');
    const f = finding(report, 'smtp.starttls');
    assert.equal(f.status, 'fail');
    assert.equal(f.subject?.host, 'mx.nostarttls.test');
    assert.match(f.summary, /EHLO was answered without STARTTLS/);
    assert.ok(!report.checks.some((x) => x.id.startsWith('tls.')));
    assert.equal(smtp.tls[0]!.starttls, 'not_offered');
    assert.equal(finding(report, 'smtp.postmaster').status, 'pass');
  });

  it('fails STARTTLS that is advertised but broken, with the exact error, and still verifies recipients', async () => {
    const { report, smtp } = await check('brokentls.test', ['--verify', 'alice@brokentls.test']);
    const f = finding(report, 'smtp.starttls');
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /handshake failed: .*(wrong version number|packet length|unexpected|record)/i);
    assert.equal(smtp.tls[0]!.handshake, 'failed');
    assert.ok(smtp.sessions.some((s) => s.kind === 'plain_fallback'));
    assert.equal(finding(report, 'rcpt.verify').status, 'pass');
    assert.equal(finding(report, 'smtp.postmaster').status, 'pass');
    assert.ok(!report.checks.some((x) => x.id.startsWith('tls.')), 'no TLS: nothing to say about versions');
  });

  it('fails an expired certificate but passes STARTTLS itself', async () => {
    const { report } = await check('expired.test');
    assert.equal(finding(report, 'smtp.starttls').status, 'pass');
    assert.equal(finding(report, 'tls.certificate.expiry').status, 'fail');
    assert.match(finding(report, 'tls.certificate.expiry').summary, /expired on/);
    assert.equal(finding(report, 'tls.certificate.trust').status, 'pass');
    assert.equal(finding(report, 'tls.certificate.hostname').status, 'pass');
  });

  it('fails a certificate that is not yet valid', async () => {
    const { report } = await check('notyet.test');
    assert.equal(finding(report, 'tls.certificate.expiry').status, 'fail');
    assert.match(finding(report, 'tls.certificate.expiry').summary, /not valid before/);
  });

  it('warns about a self-signed certificate, explaining opportunistic TLS', async () => {
    const { report, smtp } = await check('selfsigned.test');
    const trust = finding(report, 'tls.certificate.trust');
    assert.equal(trust.status, 'warn');
    assert.match(trust.summary, /self-signed/);
    assert.match(trust.summary, /opportunistic TLS.*MTA-STS/);
    assert.equal(finding(report, 'smtp.starttls').status, 'pass');
    assert.equal(smtp.tls[0]!.chain[0]!.selfSigned, true);
    assert.equal(smtp.tls[0]!.trusted, false);
  });

  it('warns about a certificate for another name', async () => {
    const { report, smtp } = await check('wrongname.test');
    const f = finding(report, 'tls.certificate.hostname');
    assert.equal(f.status, 'warn');
    assert.match(f.summary, /not valid for the MX name mx\.wrongname\.test: it names other\.example\.test/);
    assert.equal(smtp.tls[0]!.hostnameMatches, false);
    assert.equal(finding(report, 'tls.certificate.trust').status, 'pass');
  });

  it('reports a 554 at the banner as could-not-test, quoting the reason', async () => {
    const { code, report } = await check('banner554.test');
    assert.equal(code, 0, 'could not test is not fail');
    assert.deepEqual(findings(report), [
      'probe.identity:info',
      'smtp.banner:error@mx.banner554.test',
      'smtp.connect:pass@mx.banner554.test',
      'smtp.consistency:info',
    ]);
    assert.match(finding(report, 'smtp.banner').summary, /554 5\.7\.1 .*listed at bl\.example\.test/);
    assert.equal(report.complete, false);
  });

  it('reports a 421 at connect as could-not-test, never as "no STARTTLS"', async () => {
    const { report } = await check('busy.test');
    assert.equal(finding(report, 'smtp.banner').status, 'error');
    assert.match(finding(report, 'smtp.banner').summary, /421 4\.7\.0 .*Too many connections/);
    assert.ok(!report.checks.some((f) => f.id === 'smtp.starttls' && f.status !== 'error'));
    assert.equal(report.verdict, 'pass');
  });

  it('gives up on a tarpit greeting at the banner timeout', async () => {
    const t0 = Date.now();
    const { report, smtp } = await check('tarpit.test');
    const f = finding(report, 'smtp.banner');
    assert.equal(f.status, 'error');
    assert.match(f.summary, /no complete banner reply within 2000 ms; received so far: "22/);
    assert.ok(Date.now() - t0 < 15_000, 'finished in seconds');
    assert.equal(smtp.sessions[0]!.error?.code, 'ETIMEDOUT');
  });

  it('reports a server that never answers EHLO as could-not-test', async () => {
    const { report } = await check('silentehlo.test');
    assert.deepEqual(findings(report), [
      'probe.identity:info',
      'smtp.banner:pass@mx.silentehlo.test',
      'smtp.banner_hostname:pass@mx.silentehlo.test',
      'smtp.connect:pass@mx.silentehlo.test',
      'smtp.consistency:info',
      'smtp.ehlo:error@mx.silentehlo.test',
      'smtp.starttls:error@mx.silentehlo.test',
    ]);
    assert.match(finding(report, 'smtp.ehlo').summary, /no complete ehlo reply within 2000 ms/);
  });

  it('stops reading an endless reply line at the line limit', async () => {
    const { report, smtp } = await check('endless.test');
    const f = finding(report, 'smtp.ehlo');
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /longer than 4096 bytes/);
    assert.ok(smtp.sessions[0]!.bytesIn < 64 * 1024, 'stopped reading early');
  });

  it('reports a drop after MAIL FROM as unknown answers, not undeliverable', async () => {
    const { report, smtp } = await check('dropmail.test', ['--verify', 'alice@dropmail.test']);
    assert.equal(finding(report, 'rcpt.verify').status, 'error');
    assert.equal(finding(report, 'smtp.postmaster').status, 'error');
    assert.equal(finding(report, 'rcpt.catch_all').status, 'error');
    assert.equal(smtp.recipients.find((r) => r.address === 'alice@dropmail.test')!.verdict, 'unknown');
    assert.equal(finding(report, 'smtp.starttls').status, 'fail', 'EHLO was answered without STARTTLS');
  });

  it('reports greylisting, and with --greylist-retry asks again and gets the real answer', async () => {
    const first = await check('greylist.test', ['--verify', 'alice@greylist.test']);
    assert.equal(finding(first.report, 'smtp.greylisting').status, 'info');
    assert.equal(finding(first.report, 'rcpt.verify').status, 'error');
    assert.match(finding(first.report, 'rcpt.verify').summary, /greylisted.*--greylist-retry/);

    const second = await check('greylist.test', [
      '--verify',
      'bob@greylist.test',
      '--greylist-retry',
      '1500ms',
    ]);
    assert.equal(finding(second.report, 'rcpt.verify').status, 'fail', 'bob does not exist');
    assert.equal(finding(second.report, 'smtp.postmaster').status, 'pass');
    assert.equal(finding(second.report, 'rcpt.catch_all').status, 'pass');
    assert.match(finding(second.report, 'smtp.greylisting').summary, /Asked again after 1\.5 s/);
    assert.ok(second.smtp.sessions.some((s) => s.kind === 'greylist_retry'));
    assert.equal(second.smtp.recipients.find((r) => r.address === 'bob@greylist.test')!.retried, true);
  });

  it('reports a refused probe sender as blocked, never as undeliverable', async () => {
    const { code, report, smtp } = await check('rejectsender.test', ['--verify', 'alice@rejectsender.test']);
    assert.equal(code, 0);
    assert.equal(finding(report, 'rcpt.verify').status, 'error');
    assert.match(finding(report, 'rcpt.verify').summary, /refused the probe itself.*5\.7\.1/);
    assert.equal(
      smtp.recipients.find((r) => r.address === 'alice@rejectsender.test')!.verdict,
      'blocked_probe',
    );
    assert.equal(finding(report, 'smtp.postmaster').status, 'error');
    assert.equal(finding(report, 'smtp.open_relay').status, 'error');
    assert.equal(finding(report, 'smtp.null_sender').status, 'pass');
  });

  it('names the backup MX that lacks STARTTLS and accepts every address', async () => {
    const { report } = await check('multi.test');
    const starttls = report.checks
      .filter((f) => f.id === 'smtp.starttls')
      .map((f) => `${f.status}@${f.subject?.host}`);
    assert.deepEqual(starttls.sort(), ['fail@mx2.multi.test', 'pass@mx1.multi.test']);
    const c = finding(report, 'smtp.consistency');
    assert.equal(c.status, 'warn');
    assert.match(
      c.summary,
      /STARTTLS works on mx1\.multi\.test 127\.0\.0\.17 but not on mx2\.multi\.test 127\.0\.0\.18/,
    );
    assert.match(c.summary, /backup MX mx2\.multi\.test accepts every address while the primary rejects/);
    assert.equal(finding(report, 'rcpt.catch_all').status, 'pass', 'the primary decides');
  });

  it('fails an open relay (and AUTH offered without TLS), without sending anything', async () => {
    const { report } = await check('openrelay.test');
    assert.equal(finding(report, 'smtp.open_relay').status, 'fail');
    assert.match(finding(report, 'smtp.open_relay').summary, /nothing was relayed/);
    assert.equal(finding(report, 'smtp.extensions').status, 'warn');
    assert.match(
      finding(report, 'smtp.extensions').summary,
      /AUTH \(PLAIN, LOGIN\) is offered before STARTTLS/,
    );
  });

  it('fails a server that only speaks TLS 1.0/1.1', async () => {
    const { report } = await check('legacy.test');
    assert.equal(finding(report, 'smtp.starttls').status, 'fail');
    assert.match(
      finding(report, 'smtp.starttls').summary,
      /protocol version|unsupported protocol|no protocols/i,
    );
    assert.equal(finding(report, 'tls.version').status, 'fail');
    assert.equal(finding(report, 'tls.legacy_protocols').status, 'warn');
    assert.match(finding(report, 'tls.legacy_protocols').summary, /TLSv1\.1/);
  });

  it('never connects for a null MX, a domain without addresses, or one that does not exist', async () => {
    for (const domain of ['nullmx.test', 'noaddress.test', 'implicit-none.test', 'nxdomain.test']) {
      const { report } = await check(domain);
      assert.deepEqual(findings(report), ['smtp.connect:info'], domain);
      assert.equal(report.data.smtp, undefined);
    }
  });

  it('refuses --verify addresses at another domain', async () => {
    const result = await runMxdoctor(
      ['check', 'good.test', '--verify', 'alice@example.com', '--resolver', dns.address],
      { env: ENV() },
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /only addresses at good\.test/);
  });

  it('skips SMTP entirely with --no-smtp', async () => {
    const { report } = await check('good.test', ['--no-smtp']);
    assert.equal(report.options.smtp, false);
    assert.ok(!report.checks.some((f) => f.check === 'smtp'));
  });
});
