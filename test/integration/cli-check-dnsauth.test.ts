import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns, Zones } from '../support/dns-server.js';
import { runMxdoctor } from '../support/cli.js';
import { reportValidator } from '../support/schema.js';
import type { Report } from '../../src/report/model.js';
import type { DkimData } from '../../src/dkim/check.js';
import type { DnsblData } from '../../src/dnsbl/check.js';

/**
 * `mxdoctor check --json` end to end with the DNS checks: every area reports, the report
 * matches the published schema, and the new flags (--dkim-selector, --dnsbl) take effect.
 */
const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'der' })
  .toString('base64');

const zones: Zones = {
  '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
  'shop.example.com': {
    MX: ['10 mx.shop.example.com'],
    TXT: ['v=spf1 mx include:_spf.mailer.example.net -all'],
    SOA: ['ns1.example.net hostmaster.example.net 1 3600 600 86400 300'],
  },
  '_spf.mailer.example.net': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
  'mx.shop.example.com': { A: ['93.184.217.10'] },
  '10.217.184.93.in-addr.arpa': { PTR: ['mx.shop.example.com'] },
  '_dmarc.shop.example.com': { TXT: ['v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example.com'] },
  's2024._domainkey.shop.example.com': {
    TXT: [[`v=DKIM1; k=rsa; p=${dkimKey.slice(0, 200)}`, dkimKey.slice(200)]],
  },
  '_smtp._tls.shop.example.com': { TXT: ['v=TLSRPTv1; rua=mailto:tls@shop.example.com'] },
  '10.217.184.93.rbl.example.org': { A: ['127.0.0.2'], TXT: ['listed for testing'] },
};

describe('mxdoctor check: DNS authentication and reputation checks', () => {
  let dns: FixtureDns;
  const validate = reportValidator();
  before(async () => {
    dns = await startFixtureDns({ zones, ad: true });
  });
  after(() => dns.stop());
  const check = async (args: string[]) => {
    const r = await runMxdoctor([
      'check',
      'shop.example.com',
      '--json',
      '--resolver',
      dns.address,
      '--dns-timeout',
      '1500ms',
      ...args,
    ]);
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      assert.fail(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`);
    }
    assert.deepEqual(validate(report), [], 'report matches docs/report.schema.json');
    return { code: r.code, report };
  };

  it('runs every area and validates against the published schema', async () => {
    const { code, report } = await check(['--dkim-selector', 'S2024', '--dnsbl', 'rbl.example.org']);
    const areas = new Set(report.checks.map((f) => f.id.split('.')[0]));
    for (const area of [
      'spf',
      'dmarc',
      'dkim',
      'mta_sts',
      'tls_rpt',
      'bimi',
      'dnssec',
      'dane',
      'ptr',
      'dnsbl',
    ]) {
      assert.ok(areas.has(area), `no ${area} findings`);
    }
    const dkim = report.data.dkim as DkimData;
    assert.deepEqual(
      dkim.found.map((k) => [k.selector, k.source, k.bits]),
      [['s2024', 'user', 2048]],
    );
    assert.deepEqual(report.options.dkimSelectors, ['s2024']);
    assert.deepEqual(report.options.dnsbls, ['rbl.example.org']);
    const dnsbl = report.data.dnsbl as DnsblData;
    assert.deepEqual(dnsbl.zones, ['rbl.example.org']);
    const listed = report.checks.find((f) => f.id === 'dnsbl.listed' && f.status === 'fail');
    assert.match(listed!.summary, /rbl\.example\.org.*listed for testing/);
    assert.equal(code, 1, 'a listing fails the check');
    assert.equal(report.checks.find((f) => f.id === 'dnssec.domain')!.status, 'pass');
    assert.equal(report.checks.find((f) => f.id === 'spf.lookups')!.status, 'pass');
  });

  it('prints the new areas in the human output', async () => {
    const r = await runMxdoctor([
      'check',
      'shop.example.com',
      '--resolver',
      dns.address,
      '--dnsbl',
      'rbl.example.org',
    ]);
    assert.match(r.stdout, /Authentication/);
    assert.match(r.stdout, /DANE & DNSSEC/);
    assert.match(r.stdout, /Reputation/);
  });

  it('rejects an invalid --dkim-selector and --dnsbl with exit code 2', async () => {
    const a = await runMxdoctor(['check', 'shop.example.com', '--dkim-selector', 'bad selector!']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--dkim-selector "bad selector!" is not a DKIM selector/);
    const b = await runMxdoctor(['check', 'shop.example.com', '--dnsbl', 'not a zone']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--dnsbl: "not a zone" is not a DNS zone/);
  });

  it('reads DNSBL zones from MXDOCTOR_DNSBLS and rejects a bad value naming the variable', async () => {
    const r = await runMxdoctor(['check', 'shop.example.com', '--json', '--resolver', dns.address], {
      env: { MXDOCTOR_DNSBLS: 'rbl.example.org', MXDOCTOR_DOMAIN_BLOCKLISTS: '-' },
    });
    const report = JSON.parse(r.stdout) as Report;
    assert.deepEqual((report.data.dnsbl as DnsblData).zones, ['rbl.example.org']);
    assert.deepEqual((report.data.dnsbl as DnsblData).domainZones, []);
    const bad = await runMxdoctor(['check', 'shop.example.com'], {
      env: { MXDOCTOR_DNSBLS: 'zen.spamhaus.org,,x y' },
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MXDOCTOR_DNSBLS/);
  });
});
