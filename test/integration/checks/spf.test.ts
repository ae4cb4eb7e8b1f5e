import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spfCheck } from '../../../src/spf/check.js';
import type { SpfAnalysis } from '../../../src/spf/analyse.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';
import { SPF_BEHAVIOUR, SPF_ZONES } from '../../fixtures/zones/spf.js';

describe('spf check', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: SPF_ZONES, behaviour: SPF_BEHAVIOUR });
  });
  after(() => dns.stop());
  const run = (domain: string) => runChecksAgainst(dns, domain, [spfCheck]);

  it('passes a textbook record with an ESP include and lists the flattened ranges per branch', async () => {
    const report = await run('spf-good.example.com');
    assert.deepEqual(statuses(report, 'spf.'), [
      'spf.all:pass',
      'spf.include:pass',
      'spf.lookups:pass',
      'spf.ranges:info',
      'spf.record:pass',
      'spf.size:pass',
      'spf.syntax:pass',
      'spf.void_lookups:pass',
    ]);
    const data = report.data.spf as SpfAnalysis;
    assert.equal(data.lookups, 2);
    assert.deepEqual(
      data.ranges.map((r) => [r.range, r.term, r.path.join('>'), r.host ?? '']),
      [
        ['192.0.2.25/32', 'mx', 'spf-good.example.com', 'mx.spf-good.example.com'],
        ['2001:db8::25/128', 'mx', 'spf-good.example.com', 'mx.spf-good.example.com'],
        ['198.51.100.0/24', 'ip4:198.51.100.0/24', 'spf-good.example.com>_spf.provider.example.net', ''],
        ['2001:db8:100::/48', 'ip6:2001:db8:100::/48', 'spf-good.example.com>_spf.provider.example.net', ''],
      ],
    );
  });

  it('counts a range reached through several terms once and names the repetition', async () => {
    const f = finding(await run('spf-redundant.example.com'), 'spf.ranges', 'info');
    assert.match(f.summary, /authorises 1 IPv4 and 1 IPv6 range: 192\.0\.2\.25\/32, 2001:db8::25\/128\./);
    assert.match(f.summary, /192\.0\.2\.25\/32 is authorised 3 times \("mx", "a", "ip4:192\.0\.2\.25"\)/);
    assert.deepEqual(f.details, {
      ipv4: 1,
      ipv6: 1,
      repeated: { '192.0.2.25/32': ['mx', 'a', 'ip4:192.0.2.25'] },
    });
  });

  it('joins a record split into several strings without adding spaces', async () => {
    const report = await run('spf-split.example.com');
    assert.match(finding(report, 'spf.record', 'pass').summary, /ip4:192\.0\.2\.0\/24 include:_spf/);
  });

  it('fails a domain without SPF and suggests a record', async () => {
    const f = finding(await run('spf-none.example.com'), 'spf.record', 'fail');
    assert.match(f.remedy!, /v=spf1 .* -all/);
  });

  it('fails two SPF records and proposes the merged one', async () => {
    const f = finding(await run('spf-multiple.example.com'), 'spf.record', 'fail');
    assert.match(f.summary, /2 SPF records/);
    assert.match(f.remedy!, /"v=spf1 mx include:_spf\.provider\.example\.net -all"/);
  });

  it('warns about "ip4=" (an ignored unknown modifier) and offers the corrected record', async () => {
    const f = finding(await run('spf-syntax.example.com'), 'spf.syntax', 'warn');
    assert.equal(f.details.term, 'ip4=192.0.2.1');
    assert.equal(f.details.at, 10);
    assert.match(f.remedy!, /"ip4:192\.0\.2\.1".*"v=spf1 mx ip4:192\.0\.2\.1 -all"/);
  });

  it('fails a real syntax error quoting the exact term and its position', async () => {
    const f = finding(await run('spf-badterm.example.com'), 'spf.syntax', 'fail');
    assert.equal(f.details.term, 'ip4:192.0.2.0/33');
    assert.match(f.summary, /"\/33" is not a valid prefix length/);
  });

  it('fails a syntax error inside an included record and names the branch', async () => {
    const f = finding(await run('spf-include-syntax.example.com'), 'spf.syntax', 'fail');
    assert.equal(f.subject?.name, 'broken.example.net');
    assert.match(f.summary, /192\.0\.2\.300" is not an IPv4 address/);
    assert.match(f.summary, /spf-include-syntax\.example\.com → broken\.example\.net/);
  });

  it('judges the final all: +all fails, ?all and a missing all warn, ~all and -all pass', async () => {
    assert.equal(finding(await run('spf-plusall.example.com'), 'spf.all').status, 'fail');
    assert.equal(finding(await run('spf-neutral.example.com'), 'spf.all').status, 'warn');
    assert.equal(finding(await run('spf-noall.example.com'), 'spf.all').status, 'warn');
    const soft = finding(await run('spf-softfail.example.com'), 'spf.all');
    assert.equal(soft.status, 'pass');
    assert.match(soft.summary, /DMARC/);
  });

  it('follows a redirect for the final all', async () => {
    const report = await run('spf-redirect.example.com');
    assert.match(
      finding(report, 'spf.all', 'pass').summary,
      /through redirect to _spf\.provider\.example\.net.*~all/,
    );
  });

  it('warns about ptr', async () => {
    assert.equal(finding(await run('spf-ptr.example.com'), 'spf.ptr').status, 'warn');
  });

  it('fails an include loop', async () => {
    const f = finding(await run('spf-loop.example.com'), 'spf.include', 'fail');
    assert.match(f.summary, /loop-a\.example\.net → loop-b\.example\.net → loop-a\.example\.net/);
  });

  it('fails includes of names without SPF or that do not exist', async () => {
    const report = await run('spf-include-nospf.example.com');
    assert.deepEqual(statuses(report, 'spf.include'), [
      'spf.include:fail@gone.example.net',
      'spf.include:fail@nospf.example.net',
    ]);
  });

  it('fails more than 10 lookups with the per-branch count', async () => {
    const f = finding(await run('spf-toomany.example.com'), 'spf.lookups', 'fail');
    assert.equal(f.details.total, 12);
    assert.equal((f.details.branches as unknown[]).length, 12);
    assert.match(f.summary, /"include:i0\.spf-chain\.example\.net": 1/);
  });

  it('fails more than 2 void lookups, naming each', async () => {
    const f = finding(await run('spf-void.example.com'), 'spf.void_lookups', 'fail');
    assert.equal(f.details.count, 3);
    assert.match(f.summary, /"a:gone1\.example\.net".*"mx:gone3\.example\.net"/);
  });

  it('warns about a record over 450 octets', async () => {
    assert.equal(finding(await run('spf-long.example.com'), 'spf.size').status, 'warn');
  });

  it('warns about absurdly wide ranges', async () => {
    const f = finding(await run('spf-wide.example.com'), 'spf.ranges', 'warn');
    assert.match(f.summary, /11\.0\.0\.0\/8/);
    assert.match(f.summary, /2001::\/16/);
  });

  it('reports SERVFAIL as error, not as a missing record', async () => {
    const report = await run('spf-servfail.example.com');
    assert.deepEqual(statuses(report, 'spf.'), ['spf.record:error']);
  });
});
