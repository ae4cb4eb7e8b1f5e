import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runMxdoctor } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns, Zones } from '../support/dns-server.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';
import { DAYS, createTestPki } from '../support/test-ca.js';

/**
 * `mxdoctor check <domain> --nagios` as Nagios, Icinga or any monitoring-plugins host runs
 * it: one status line with performance data, long output after it, and the exit code 0/1/2/3
 * (OK/WARNING/CRITICAL/UNKNOWN). Fixture domains model a well-run domain, one with a
 * warning (no reverse DNS), one whose certificate has expired, and a dead resolver.
 */
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];
const HOSTS = { ok: '127.0.0.51', warn: '127.0.0.52', crit: '127.0.0.53' };

describe('mxdoctor check --nagios', { timeout: 120_000 }, () => {
  const pki = createTestPki('mxdoctor nagios test');
  let dns: FixtureDns;
  let fakes: SmtpFake[] = [];
  let port = 0;

  before(async () => {
    port = await freePort();
    const zones: Zones = {};
    const domain = (name: string, address: string, ptr: boolean) => {
      Object.assign(zones, {
        [name]: { MX: [`10 mx.${name}`], SOA, TXT: ['v=spf1 mx -all'] },
        [`mx.${name}`]: { A: [address] },
        [`_dmarc.${name}`]: { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${name}`] },
        ...(ptr
          ? { [`${address.split('.').reverse().join('.')}.in-addr.arpa`]: { PTR: [`mx.${name}`] } }
          : {}),
      });
    };
    domain('ok.test', HOSTS.ok, true);
    domain('warn.test', HOSTS.warn, false);
    domain('crit.test', HOSTS.crit, true);
    dns = await startFixtureDns({ zones });
    const leaf = (name: string, days = 60) => {
      const l = pki.leaf({
        names: [name],
        notAfter: DAYS(days),
        ...(days < 0 ? { notBefore: DAYS(days - 90) } : {}),
      });
      return { key: l.keyPem, cert: l.chainPem };
    };
    fakes = [
      await startSmtpFake({
        host: HOSTS.ok,
        port,
        name: 'mx.ok.test',
        tls: leaf('mx.ok.test', 40),
        domains: ['ok.test'],
        users: ['alice'],
      }),
      await startSmtpFake({
        host: HOSTS.warn,
        port,
        name: 'mx.warn.test',
        tls: leaf('mx.warn.test'),
        domains: ['warn.test'],
        users: ['alice'],
      }),
      await startSmtpFake({
        host: HOSTS.crit,
        port,
        name: 'mx.crit.test',
        tls: leaf('mx.crit.test', -3.5),
        domains: ['crit.test'],
        users: ['alice'],
      }),
    ];
  });
  after(async () => {
    await Promise.all(fakes.map((f) => f.stop()));
    await dns?.stop();
    for (const f of fakes) f.assertNoMessageSent();
  });

  const check = (domain: string, extra: string[] = [], resolver = dns.address) =>
    runMxdoctor(['check', domain, '--nagios', '--resolver', resolver, '--allow-private', ...extra], {
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_CA_FILE: pki.rootFile,
        MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
        MXDOCTOR_MAIL_FROM: 'probe@mxdoctor.test',
        MXDOCTOR_DNSBLS: 'bl.example.test',
        MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
        MXDOCTOR_SMTP_LEGACY_TLS: 'false',
        MXDOCTOR_DNS_TIMEOUT: '2s',
      },
    });

  it('exits 0/1/2 with one status line, performance data and long output', async () => {
    const [ok, warn, crit] = await Promise.all([check('ok.test'), check('warn.test'), check('crit.test')]);
    const perf =
      /\| duration=\d+\.\d{3}s;;;0 cert_days=(-?\d+);21:;7: fail=(\d+);;0;0 warn=(\d+);0;;0 error=\d+;;;0$/;

    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const [okLine] = ok.stdout.split('\n');
    assert.match(okLine!, /^MXDOCTOR OK - ok\.test: \d+ checks passed/);
    assert.match(okLine!, perf);
    assert.equal(perf.exec(okLine!)![1], '39', 'days until the earliest certificate expires');
    assert.equal(ok.stdout.trim().split('\n').length, 1, 'no long output when all is well');

    assert.equal(warn.code, 1, warn.stdout);
    const [warnLine, ...warnDetails] = warn.stdout.trim().split('\n');
    assert.match(warnLine!, /^MXDOCTOR WARNING - warn\.test: Reverse DNS/);
    assert.match(warnLine!, perf);
    assert.ok(warnDetails.length >= 1 && warnDetails.every((l) => /^WARN /.test(l)), warnDetails.join('\n'));

    assert.equal(crit.code, 2, crit.stdout);
    const [critLine, ...critDetails] = crit.stdout.trim().split('\n');
    assert.match(critLine!, /^MXDOCTOR CRITICAL - crit\.test: Certificate validity \(mx\.crit\.test\): /);
    assert.equal(perf.exec(critLine!)![1], '-4', 'expired 3.5 days ago: whole days left, rounded down');
    assert.ok(Number(perf.exec(critLine!)![2]) >= 1);
    assert.ok(
      critDetails.some((l) => /^FAIL Certificate validity \(mx\.crit\.test 127\.0\.0\.53\)/.test(l)),
      critDetails.join('\n'),
    );
    for (const r of [ok, warn, crit]) assert.ok(!r.stdout.split('\n')[0]!.includes('\n'));
  });

  it('exits 3 UNKNOWN when nothing can be determined, and for usage errors', async () => {
    // A resolver that never answers: the MX lookup itself fails.
    const silent = await startFixtureDns({ zones: {}, behaviour: {} });
    silent.setBehaviour('ok.test', { silent: true });
    try {
      const [dead, usage, both] = await Promise.all([
        check('ok.test', ['--dns-timeout', '300ms', '--timeout', '20s'], silent.address),
        check('https://ok.test/'),
        check('ok.test', ['--json']),
      ]);
      assert.equal(dead.code, 3, dead.stdout + dead.stderr);
      assert.match(dead.stdout, /^MXDOCTOR UNKNOWN - ok\.test: /);
      assert.match(dead.stdout.split('\n')[0]!, /\| duration=/);
      assert.equal(usage.code, 3);
      assert.match(usage.stdout, /^MXDOCTOR UNKNOWN - .*URL/);
      assert.equal(both.code, 3);
      assert.equal(
        both.stdout,
        'MXDOCTOR UNKNOWN - --nagios and --json cannot be combined; choose one output\n',
      );
    } finally {
      await silent.stop();
    }
  });
});
