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
 * The exact SMTP/TLS/recipient findings ("id:status@host<address>") each fixture must produce
 * (checked by `check()` for these domains).
 */
const EXPECTED: Record<string, string[]> = {
  'catchall.test': [
    'probe.identity:info',
    'rcpt.catch_all:warn@mx.catchall.test',
    'rcpt.verify:warn@mx.catchall.test<nobody@catchall.test>',
    'smtp.banner:pass@mx.catchall.test',
    'smtp.banner_hostname:pass@mx.catchall.test',
    'smtp.connect:pass@mx.catchall.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.catchall.test',
    'smtp.extensions:info@mx.catchall.test',
    'smtp.null_sender:pass@mx.catchall.test',
    'smtp.open_relay:pass@mx.catchall.test',
    'smtp.postmaster:pass@mx.catchall.test',
    'smtp.starttls:pass@mx.catchall.test',
    'tls.certificate.expiry:pass@mx.catchall.test',
    'tls.certificate.hostname:pass@mx.catchall.test',
    'tls.certificate.key:pass@mx.catchall.test',
    'tls.certificate.signature:pass@mx.catchall.test',
    'tls.certificate.trust:pass@mx.catchall.test',
    'tls.legacy_protocols:pass@mx.catchall.test',
    'tls.version:pass@mx.catchall.test',
  ],
  'nostarttls.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.nostarttls.test',
    'smtp.banner:pass@mx.nostarttls.test',
    'smtp.banner_hostname:pass@mx.nostarttls.test',
    'smtp.connect:pass@mx.nostarttls.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.nostarttls.test',
    'smtp.extensions:info@mx.nostarttls.test',
    'smtp.null_sender:pass@mx.nostarttls.test',
    'smtp.open_relay:pass@mx.nostarttls.test',
    'smtp.postmaster:pass@mx.nostarttls.test',
    'smtp.starttls:fail@mx.nostarttls.test',
  ],
  'brokentls.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.brokentls.test',
    'rcpt.verify:pass@mx.brokentls.test<alice@brokentls.test>',
    'smtp.banner:pass@mx.brokentls.test',
    'smtp.banner_hostname:pass@mx.brokentls.test',
    'smtp.connect:pass@mx.brokentls.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.brokentls.test',
    'smtp.extensions:info@mx.brokentls.test',
    'smtp.null_sender:pass@mx.brokentls.test',
    'smtp.open_relay:pass@mx.brokentls.test',
    'smtp.postmaster:pass@mx.brokentls.test',
    'smtp.starttls:fail@mx.brokentls.test',
  ],
  'expired.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.expired.test',
    'smtp.banner:pass@mx.expired.test',
    'smtp.banner_hostname:pass@mx.expired.test',
    'smtp.connect:pass@mx.expired.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.expired.test',
    'smtp.extensions:info@mx.expired.test',
    'smtp.null_sender:pass@mx.expired.test',
    'smtp.open_relay:pass@mx.expired.test',
    'smtp.postmaster:pass@mx.expired.test',
    'smtp.starttls:pass@mx.expired.test',
    'tls.certificate.expiry:fail@mx.expired.test',
    'tls.certificate.hostname:pass@mx.expired.test',
    'tls.certificate.key:pass@mx.expired.test',
    'tls.certificate.signature:pass@mx.expired.test',
    'tls.certificate.trust:pass@mx.expired.test',
    'tls.legacy_protocols:pass@mx.expired.test',
    'tls.version:pass@mx.expired.test',
  ],
  'notyet.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.notyet.test',
    'smtp.banner:pass@mx.notyet.test',
    'smtp.banner_hostname:pass@mx.notyet.test',
    'smtp.connect:pass@mx.notyet.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.notyet.test',
    'smtp.extensions:info@mx.notyet.test',
    'smtp.null_sender:pass@mx.notyet.test',
    'smtp.open_relay:pass@mx.notyet.test',
    'smtp.postmaster:pass@mx.notyet.test',
    'smtp.starttls:pass@mx.notyet.test',
    'tls.certificate.expiry:fail@mx.notyet.test',
    'tls.certificate.hostname:pass@mx.notyet.test',
    'tls.certificate.key:pass@mx.notyet.test',
    'tls.certificate.signature:pass@mx.notyet.test',
    'tls.certificate.trust:pass@mx.notyet.test',
    'tls.legacy_protocols:pass@mx.notyet.test',
    'tls.version:pass@mx.notyet.test',
  ],
  'selfsigned.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.selfsigned.test',
    'smtp.banner:pass@mx.selfsigned.test',
    'smtp.banner_hostname:pass@mx.selfsigned.test',
    'smtp.connect:pass@mx.selfsigned.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.selfsigned.test',
    'smtp.extensions:info@mx.selfsigned.test',
    'smtp.null_sender:pass@mx.selfsigned.test',
    'smtp.open_relay:pass@mx.selfsigned.test',
    'smtp.postmaster:pass@mx.selfsigned.test',
    'smtp.starttls:pass@mx.selfsigned.test',
    'tls.certificate.expiry:pass@mx.selfsigned.test',
    'tls.certificate.hostname:pass@mx.selfsigned.test',
    'tls.certificate.key:pass@mx.selfsigned.test',
    'tls.certificate.signature:pass@mx.selfsigned.test',
    'tls.certificate.trust:warn@mx.selfsigned.test',
    'tls.legacy_protocols:pass@mx.selfsigned.test',
    'tls.version:pass@mx.selfsigned.test',
  ],
  'wrongname.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.wrongname.test',
    'smtp.banner:pass@mx.wrongname.test',
    'smtp.banner_hostname:pass@mx.wrongname.test',
    'smtp.connect:pass@mx.wrongname.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.wrongname.test',
    'smtp.extensions:info@mx.wrongname.test',
    'smtp.null_sender:pass@mx.wrongname.test',
    'smtp.open_relay:pass@mx.wrongname.test',
    'smtp.postmaster:pass@mx.wrongname.test',
    'smtp.starttls:pass@mx.wrongname.test',
    'tls.certificate.expiry:pass@mx.wrongname.test',
    'tls.certificate.hostname:warn@mx.wrongname.test',
    'tls.certificate.key:pass@mx.wrongname.test',
    'tls.certificate.signature:pass@mx.wrongname.test',
    'tls.certificate.trust:pass@mx.wrongname.test',
    'tls.legacy_protocols:pass@mx.wrongname.test',
    'tls.version:pass@mx.wrongname.test',
  ],
  'busy.test': [
    'probe.identity:info',
    'smtp.banner:error@mx.busy.test',
    'smtp.connect:pass@mx.busy.test',
    'smtp.consistency:info',
  ],
  'tarpit.test': [
    'probe.identity:info',
    'smtp.banner:error@mx.tarpit.test',
    'smtp.connect:pass@mx.tarpit.test',
    'smtp.consistency:info',
  ],
  'endless.test': [
    'probe.identity:info',
    'smtp.banner:pass@mx.endless.test',
    'smtp.banner_hostname:pass@mx.endless.test',
    'smtp.connect:pass@mx.endless.test',
    'smtp.consistency:info',
    'smtp.ehlo:fail@mx.endless.test',
    'smtp.starttls:error@mx.endless.test',
  ],
  'dropmail.test': [
    'probe.identity:info',
    'rcpt.catch_all:error@mx.dropmail.test',
    'rcpt.verify:error@mx.dropmail.test<alice@dropmail.test>',
    'smtp.banner:pass@mx.dropmail.test',
    'smtp.banner_hostname:pass@mx.dropmail.test',
    'smtp.connect:pass@mx.dropmail.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.dropmail.test',
    'smtp.extensions:info@mx.dropmail.test',
    'smtp.null_sender:error@mx.dropmail.test',
    'smtp.open_relay:error@mx.dropmail.test',
    'smtp.postmaster:error@mx.dropmail.test',
    'smtp.starttls:fail@mx.dropmail.test',
  ],
  'rejectsender.test': [
    'probe.identity:info',
    'rcpt.catch_all:error@mx.rejectsender.test',
    'rcpt.verify:error@mx.rejectsender.test<alice@rejectsender.test>',
    'smtp.banner:pass@mx.rejectsender.test',
    'smtp.banner_hostname:pass@mx.rejectsender.test',
    'smtp.connect:pass@mx.rejectsender.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.rejectsender.test',
    'smtp.extensions:info@mx.rejectsender.test',
    'smtp.null_sender:pass@mx.rejectsender.test',
    'smtp.open_relay:error@mx.rejectsender.test',
    'smtp.postmaster:error@mx.rejectsender.test',
    'smtp.starttls:pass@mx.rejectsender.test',
    'tls.certificate.expiry:pass@mx.rejectsender.test',
    'tls.certificate.hostname:pass@mx.rejectsender.test',
    'tls.certificate.key:pass@mx.rejectsender.test',
    'tls.certificate.signature:pass@mx.rejectsender.test',
    'tls.certificate.trust:pass@mx.rejectsender.test',
    'tls.legacy_protocols:pass@mx.rejectsender.test',
    'tls.version:pass@mx.rejectsender.test',
  ],
  'multi.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx1.multi.test',
    'smtp.banner:pass@mx1.multi.test',
    'smtp.banner:pass@mx2.multi.test',
    'smtp.banner_hostname:pass@mx1.multi.test',
    'smtp.banner_hostname:pass@mx2.multi.test',
    'smtp.connect:pass@mx1.multi.test',
    'smtp.connect:pass@mx2.multi.test',
    'smtp.consistency:warn',
    'smtp.ehlo:pass@mx1.multi.test',
    'smtp.ehlo:pass@mx2.multi.test',
    'smtp.extensions:info@mx1.multi.test',
    'smtp.extensions:info@mx2.multi.test',
    'smtp.null_sender:pass@mx1.multi.test',
    'smtp.null_sender:pass@mx2.multi.test',
    'smtp.open_relay:pass@mx1.multi.test',
    'smtp.open_relay:pass@mx2.multi.test',
    'smtp.postmaster:pass@mx1.multi.test',
    'smtp.postmaster:pass@mx2.multi.test',
    'smtp.starttls:fail@mx2.multi.test',
    'smtp.starttls:pass@mx1.multi.test',
    'tls.certificate.expiry:pass@mx1.multi.test',
    'tls.certificate.hostname:pass@mx1.multi.test',
    'tls.certificate.key:pass@mx1.multi.test',
    'tls.certificate.signature:pass@mx1.multi.test',
    'tls.certificate.trust:pass@mx1.multi.test',
    'tls.legacy_protocols:pass@mx1.multi.test',
    'tls.version:pass@mx1.multi.test',
  ],
  'openrelay.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.openrelay.test',
    'smtp.banner:pass@mx.openrelay.test',
    'smtp.banner_hostname:pass@mx.openrelay.test',
    'smtp.connect:pass@mx.openrelay.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.openrelay.test',
    'smtp.extensions:warn@mx.openrelay.test',
    'smtp.null_sender:pass@mx.openrelay.test',
    'smtp.open_relay:fail@mx.openrelay.test',
    'smtp.postmaster:pass@mx.openrelay.test',
    'smtp.starttls:pass@mx.openrelay.test',
    'tls.certificate.expiry:pass@mx.openrelay.test',
    'tls.certificate.hostname:pass@mx.openrelay.test',
    'tls.certificate.key:pass@mx.openrelay.test',
    'tls.certificate.signature:pass@mx.openrelay.test',
    'tls.certificate.trust:pass@mx.openrelay.test',
    'tls.legacy_protocols:pass@mx.openrelay.test',
    'tls.version:pass@mx.openrelay.test',
  ],
  'legacy.test': [
    'probe.identity:info',
    'rcpt.catch_all:pass@mx.legacy.test',
    'smtp.banner:pass@mx.legacy.test',
    'smtp.banner_hostname:pass@mx.legacy.test',
    'smtp.connect:pass@mx.legacy.test',
    'smtp.consistency:info',
    'smtp.ehlo:pass@mx.legacy.test',
    'smtp.extensions:info@mx.legacy.test',
    'smtp.null_sender:pass@mx.legacy.test',
    'smtp.open_relay:pass@mx.legacy.test',
    'smtp.postmaster:pass@mx.legacy.test',
    'smtp.starttls:fail@mx.legacy.test',
    'tls.legacy_protocols:warn@mx.legacy.test',
    'tls.version:fail@mx.legacy.test',
  ],
};

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
      ['check', domain, '--json', '--resolver', dns.address, '--dns-timeout', '2s', ...extra],
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
    const expected = EXPECTED[domain];
    if (expected) assert.deepEqual(findings(report), expected, `findings of ${domain}`);
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

  /** SMTP-family findings that failed (the DNS checks of these fixture zones may fail on their own). */
  function smtpFailures(report: Report): string[] {
    return findings(report).filter((f) => f.includes(':fail'));
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
    // QUIT was said; its 221 is in the report only when it came before the report was
    // assembled (nobody waits for it), so `session.quit` is not asserted.
    assert.ok(session.transcript.some((l) => l.dir === 'C' && l.line === 'QUIT'));
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
    // The legacy-TLS session starts at the main session's greeting, before STARTTLS is known to
    // be missing: it asks its own EHLO, says QUIT without trying a handshake, and is judged on
    // nothing (no tls.* finding above).
    const legacy = smtp.sessions.find((s) => s.kind === 'legacy_tls');
    assert.ok(legacy, 'the legacy-TLS session is in the report');
    assert.deepEqual(
      legacy.transcript.filter((l) => l.dir === 'C').map((l) => l.line.split(' ')[0]),
      ['EHLO', 'QUIT'],
    );
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
    const { report } = await check('banner554.test');
    assert.deepEqual(smtpFailures(report), [], 'could not test is not fail');
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
    assert.ok(
      report.checks.filter((f) => f.check === 'smtp').every((f) => f.status !== 'fail'),
      'nothing about this server fails',
    );
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

  it('reconnects at once when the first session defers every recipient (Postfix postscreen), and reports the real answers', async () => {
    const { report, smtp } = await check('postscreen.test', [
      '--verify',
      'alice@postscreen.test',
      '--verify',
      'bob@postscreen.test',
    ]);
    assert.deepEqual(
      smtp.recipients.map((r) => [r.address, r.verdict]),
      [
        ['postmaster@postscreen.test', 'deliverable'],
        ['alice@postscreen.test', 'deliverable'],
        ['bob@postscreen.test', 'undeliverable'],
      ],
    );
    assert.equal(finding(report, 'smtp.null_sender').status, 'pass');
    assert.equal(finding(report, 'smtp.open_relay').status, 'pass');
    assert.equal(finding(report, 'rcpt.catch_all').status, 'pass');
    const grey = finding(report, 'smtp.greylisting');
    assert.equal(grey.status, 'info');
    assert.match(
      grey.summary,
      /deferred all 4 recipients of mxdoctor's first session with "450 4\.3\.2 Service currently unavailable", and answered normally when mxdoctor reconnected at once/,
    );
    // In the order they started: the legacy-TLS handshake runs beside the main session (from
    // its greeting on); the reconnect follows the main session.
    assert.deepEqual(
      smtp.sessions.filter((s) => s.address === H.postscreen).map((s) => s.kind),
      ['probe', 'legacy_tls', 'reconnect'],
    );
    const main = smtp.sessions.find((s) => s.address === H.postscreen && s.kind === 'probe')!;
    const legacy = smtp.sessions.find((s) => s.address === H.postscreen && s.kind === 'legacy_tls')!;
    assert.ok(
      Date.parse(legacy.startedAt) < Date.parse(main.startedAt) + main.durationMs,
      'the legacy-TLS session starts while the main session is still running',
    );
  });

  it('reconnects only once when every recipient is deferred every time, and calls the answers unknown', async () => {
    const { report, smtp } = await check('lookupfail.test', ['--verify', 'alice@lookupfail.test']);
    assert.deepEqual(smtpFailures(report), [], 'a temporary failure is not a failure of the domain');
    assert.equal(finding(report, 'rcpt.verify').status, 'error');
    assert.match(finding(report, 'rcpt.verify').summary, /451 4\.3\.0 Temporary lookup failure/);
    assert.match(finding(report, 'smtp.greylisting').summary, /and again when mxdoctor reconnected at once/);
    assert.equal(smtp.sessions.filter((s) => s.kind === 'reconnect').length, 1);
  });

  it('reports a refused probe sender as blocked, never as undeliverable', async () => {
    const { report, smtp } = await check('rejectsender.test', ['--verify', 'alice@rejectsender.test']);
    assert.deepEqual(smtpFailures(report), [], 'a refused probe is not a failure of the domain');
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
