import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { runMxdoctor } from '../support/cli.js';
import { reportValidator } from '../support/schema.js';
import { MX_BEHAVIOUR, MX_ZONES } from '../fixtures/zones/mx.js';
import type { Report } from '../../src/report/model.js';

/** `mxdoctor check --json` end to end against a loopback resolver serving the MX fixture zones. */
describe('mxdoctor check: MX resolution', () => {
  let dns: FixtureDns;
  const validate = reportValidator();

  before(async () => {
    dns = await startFixtureDns({ zones: MX_ZONES, behaviour: MX_BEHAVIOUR });
  });
  after(async () => {
    await dns.stop();
  });

  async function check(
    domain: string,
    extra: string[] = [],
  ): Promise<{ code: number | null; report: Report; stderr: string }> {
    const result = await runMxdoctor([
      'check',
      domain,
      '--json',
      '--resolver',
      dns.address,
      // Each check now sends ~60 queries; a tighter timeout makes a loaded CI machine report
      // a spurious resolver warning.
      '--dns-timeout',
      '1500ms',
      // These fixtures point at public-looking addresses: stay MX-focused, never connect.
      '--no-smtp',
      ...extra,
    ]);
    let report: Report;
    try {
      report = JSON.parse(result.stdout) as Report;
    } catch {
      assert.fail(
        `stdout is not JSON (exit ${result.code}): ${result.stdout.slice(0, 500)}\n${result.stderr}`,
      );
    }
    assert.deepEqual(validate(report), [], 'report matches docs/report.schema.json');
    return { code: result.code, report, stderr: result.stderr };
  }

  /** "id:status" for the findings whose id starts with `prefix`, sorted. */
  function findings(report: Report, prefix = 'mx.'): string[] {
    return report.checks
      .filter((f) => f.id.startsWith(prefix))
      .map((f) => `${f.id}:${f.status}${f.subject?.host ? `@${f.subject.host}` : ''}`)
      .sort();
  }

  it('reports a domain with two MX hosts in preference order, all passing', async () => {
    const { code, report } = await check('two-mx.example.com');
    assert.equal(code, 0);
    assert.equal(report.mx.kind, 'mx');
    assert.deepEqual(
      report.mx.hosts.map((h) => [h.preference, h.name, h.addresses.map((a) => a.address)]),
      [
        [10, 'mx1.two-mx.example.com', ['93.184.215.10', '2606:2800:21f:cb07::10']],
        [20, 'mx2.two-mx.example.com', ['93.184.215.11', '2606:2800:21f:cb07::11']],
      ],
    );
    assert.deepEqual(findings(report), [
      'mx.dangling:pass',
      'mx.ipv6:pass',
      'mx.private_address:pass',
      'mx.records:pass',
    ]);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.schemaVersion, 1);
    const mxQuery = report.dnsLog.find((q) => q.type === 'MX');
    assert.ok(
      mxQuery && mxQuery.rcode === 'NOERROR' && mxQuery.answers === 2 && mxQuery.server === dns.address,
    );
  });

  it('warns about an implicit MX when only an A record exists', async () => {
    const { code, report } = await check('implicit.example.com');
    assert.equal(code, 0);
    assert.equal(report.mx.kind, 'implicit');
    assert.deepEqual(
      report.mx.hosts.map((h) => [h.name, h.implicit]),
      [['implicit.example.com', true]],
    );
    assert.deepEqual(findings(report), [
      'mx.implicit:warn@implicit.example.com',
      'mx.ipv6:info',
      'mx.private_address:pass',
      'mx.records:info',
    ]);
    assert.equal(report.verdict, 'warn');
  });

  it('fails a domain with neither MX nor address', async () => {
    const { code, report } = await check('nomail.example.com');
    assert.equal(code, 1);
    assert.equal(report.mx.kind, 'none');
    assert.deepEqual(findings(report), ['mx.records:fail']);
  });

  it('reports a null MX as info and does not look up hosts', async () => {
    const { code, report } = await check('null-mx.example.com');
    assert.equal(code, 0);
    assert.equal(report.mx.kind, 'null');
    assert.deepEqual(findings(report), ['mx.null:info']);
    // No address lookups of mail hosts (domain blocklist queries are A queries of other names).
    assert.ok(
      !report.dnsLog.some(
        (q) => (q.type === 'A' || q.type === 'AAAA') && q.name.endsWith('null-mx.example.com'),
      ),
    );
  });

  it('fails a null MX mixed with other MX records', async () => {
    const { code, report } = await check('null-mixed.example.com');
    assert.equal(code, 1);
    assert.ok(findings(report).includes('mx.null:fail'));
    assert.deepEqual(
      report.mx.hosts.map((h) => h.name),
      ['mx.null-mixed.example.com'],
    );
  });

  it('fails NXDOMAIN as a domain that does not exist', async () => {
    const { code, report } = await check('does-not-exist.example.com');
    assert.equal(code, 1);
    assert.equal(report.mx.kind, 'nxdomain');
    assert.deepEqual(findings(report), ['mx.records:fail']);
    assert.match(report.checks.find((f) => f.id === 'mx.records')!.summary, /does not exist/);
  });

  it('warns when the MX target is a CNAME and still finds its address', async () => {
    const { report } = await check('cname-mx.example.com');
    assert.ok(findings(report).includes('mx.cname:warn@mail.cname-mx.example.com'));
    const host = report.mx.hosts[0]!;
    assert.deepEqual(host.cnameChain, ['smtp.provider.example.net']);
    assert.deepEqual(
      host.addresses.map((a) => a.address),
      ['93.184.215.40'],
    );
  });

  it('fails an MX target that is an IP literal without resolving it', async () => {
    const { code, report } = await check('ip-literal.example.com');
    assert.equal(code, 1);
    assert.deepEqual(findings(report), ['mx.ip_literal:fail@192.0.2.25', 'mx.records:fail']);
    assert.ok(!report.dnsLog.some((q) => q.name === '192.0.2.25'));
  });

  it('fails a dangling MX target that does not exist, keeping the good one', async () => {
    const { code, report } = await check('dangling.example.com');
    assert.equal(code, 1);
    assert.deepEqual(findings(report), [
      'mx.dangling:fail@gone.dangling.example.com',
      'mx.ipv6:info',
      'mx.private_address:pass',
      'mx.records:pass',
    ]);
    assert.match(report.checks.find((f) => f.id === 'mx.dangling')!.summary, /NXDOMAIN/);
  });

  it('fails when the only MX target has no address records (NODATA)', async () => {
    const { report } = await check('nodata-mx.example.com');
    assert.deepEqual(findings(report), ['mx.dangling:fail@mx.nodata-mx.example.com', 'mx.records:fail']);
  });

  it('warns about a target listed twice', async () => {
    const { report } = await check('duplicate.example.com');
    assert.ok(findings(report).includes('mx.duplicate:warn@mx.duplicate.example.com'));
    assert.equal(report.mx.hosts.length, 1);
  });

  it('fails private and loopback MX addresses of a public domain', async () => {
    const { code, report } = await check('private-mx.example.com');
    assert.equal(code, 1);
    assert.ok(findings(report).includes('mx.private_address:fail@mx.private-mx.example.com'));
    assert.ok(findings(report).includes('mx.private_address:fail@lo.private-mx.example.com'));
    const lo = report.mx.hosts.find((h) => h.name === 'lo.private-mx.example.com')!;
    assert.deepEqual(
      lo.addresses.map((a) => a.category),
      ['loopback', 'loopback'],
    );
  });

  it('reports private addresses as info when the operator allows them', async () => {
    const { report } = await check('private-mx.example.com', ['--allow-private']);
    assert.ok(findings(report).includes('mx.private_address:info@mx.private-mx.example.com'));
  });

  it('reports missing IPv6 as info', async () => {
    const { report } = await check('v4only.example.com');
    const f = report.checks.find((x) => x.id === 'mx.ipv6')!;
    assert.equal(f.status, 'info');
    assert.equal(report.verdict, 'pass');
  });

  it('reports SERVFAIL as error (could not determine), never as "no records"', async () => {
    const { code, report } = await check('servfail.example.com');
    assert.equal(code, 0);
    assert.equal(report.mx.kind, 'error');
    assert.deepEqual(findings(report), ['mx.records:error']);
    assert.match(report.checks.find((f) => f.id === 'mx.records')!.summary, /SERVFAIL/);
    assert.equal(report.complete, false);
  });

  it('reports REFUSED as error', async () => {
    const { report } = await check('refused.example.com');
    assert.deepEqual(findings(report), ['mx.records:error']);
    assert.equal(report.dnsLog.find((q) => q.type === 'MX')!.rcode, 'REFUSED');
  });

  it('warns when the "resolver" is an authoritative-only server (no recursion)', async () => {
    const nsd = await startFixtureDns({ zones: MX_ZONES, recursion: false });
    try {
      const result = await runMxdoctor([
        'check',
        'two-mx.example.com',
        '--json',
        '--no-smtp',
        '--resolver',
        nsd.address,
      ]);
      const report = JSON.parse(result.stdout) as Report;
      assert.deepEqual(validate(report), []);
      const f = report.checks.find((c) => c.id === 'dns.resolver')!;
      assert.equal(f.status, 'warn');
      assert.match(
        f.summary,
        /^127\.0\.0\.1:\d+ does not offer recursion \(no RA flag in its answers\): it is an authoritative-only server/,
      );
      assert.match(f.summary, /refused \d+ of \d+ queries/);
      assert.ok(report.dnsLog.every((e) => e.ra === false));
      assert.deepEqual(findings(report), [
        'mx.dangling:pass',
        'mx.ipv6:pass',
        'mx.private_address:pass',
        'mx.records:pass',
      ]);
    } finally {
      await nsd.stop();
    }
  });

  it('reports a resolver that never answers as a timeout error, within its deadline', async () => {
    const t0 = Date.now();
    const { report } = await check('silent.example.com');
    assert.deepEqual(findings(report), ['mx.records:error']);
    // Other names (e.g. _dmarc.silent.example.com) are answered, so the resolver is only
    // partly failing: warn, with the MX query timing out on every attempt.
    assert.equal(report.checks.find((f) => f.id === 'dns.resolver')!.status, 'warn');
    assert.deepEqual(
      report.dnsLog.filter((q) => q.name === 'silent.example.com' && q.type === 'MX').map((q) => q.rcode),
      ['TIMEOUT', 'TIMEOUT', 'TIMEOUT'],
    );
    assert.ok(Date.now() - t0 < 15_000);
  });

  it('retries a truncated UDP answer over TCP', async () => {
    const { report } = await check('truncated.example.com');
    const mx = report.dnsLog.filter((q) => q.type === 'MX');
    assert.deepEqual(
      mx.map((q) => [q.transport, q.truncated]),
      [
        ['udp', true],
        ['tcp', false],
      ],
    );
    assert.equal(report.mx.hosts.length, 32, 'capped at 32 hosts');
    assert.match(report.checks.find((f) => f.id === 'mx.records')!.summary, /first 32 of 40/);
  });

  it('normalises case, trailing dot, IDN and email input', async () => {
    const a = await check('  Two-MX.Example.COM. ');
    assert.equal(a.report.domain.ascii, 'two-mx.example.com');
    const b = await check('jörg@bücher.example.com');
    assert.equal(b.report.domain.ascii, 'xn--bcher-kva.example.com');
    assert.equal(b.report.domain.unicode, 'bücher.example.com');
    assert.match(
      b.report.checks.find((f) => f.id === 'input.domain')!.summary,
      /bücher\.example\.com \(xn--bcher-kva\.example\.com\).*jörg@bücher/,
    );
  });
});
