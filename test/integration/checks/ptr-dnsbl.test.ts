import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mxCheck } from '../../../src/mx/check.js';
import { ptrCheck } from '../../../src/ptr/check.js';
import { dnsblCheck } from '../../../src/dnsbl/check.js';
import type { DnsblData } from '../../../src/dnsbl/check.js';
import { evaluatePtr } from '../../../src/ptr/check.js';
import type { PtrData } from '../../../src/ptr/check.js';
import { dnsblQueryName } from '../../../src/dnsbl/lookup.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';
import { PTR_DNSBL_BEHAVIOUR, PTR_DNSBL_ZONES } from '../../fixtures/zones/ptr-dnsbl.js';

describe('reverse DNS and blocklists', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: PTR_DNSBL_ZONES, behaviour: PTR_DNSBL_BEHAVIOUR });
  });
  after(() => dns.stop());
  const ptr = (domain: string, smtp = false) => runChecksAgainst(dns, domain, [mxCheck, ptrCheck], { smtp });
  const dnsbl = (domain: string, dnsbls?: string[]) =>
    runChecksAgainst(dns, domain, [mxCheck, dnsblCheck], dnsbls ? { dnsbls } : {});

  it('passes PTR and FCrDNS for IPv4 and IPv6, reporting the banner comparison as not tested when SMTP is off', async () => {
    const report = await ptr('rdns-good.example.com');
    assert.deepEqual(statuses(report, 'ptr.'), [
      'ptr.banner:info@2606:2800:220:1::10',
      'ptr.banner:info@93.184.216.10',
      'ptr.fcrdns:pass@2606:2800:220:1::10',
      'ptr.fcrdns:pass@93.184.216.10',
      'ptr.present:pass@2606:2800:220:1::10',
      'ptr.present:pass@93.184.216.10',
    ]);
    assert.match(finding(report, 'ptr.banner').summary, /Not tested.*switched off/);
  });

  it('reports the banner comparison as error (not tested) when SMTP should have run but gave no data', async () => {
    const report = await ptr('rdns-good.example.com', true);
    assert.equal(finding(report, 'ptr.banner').status, 'error');
    assert.match(finding(report, 'ptr.banner').summary, /SMTP check did not run/);
  });

  it('warns about a missing PTR with the record to ask for', async () => {
    const f = finding(await ptr('rdns-none.example.com'), 'ptr.present', 'warn');
    assert.match(f.remedy!, /"20\.216\.184\.93\.in-addr\.arpa\. IN PTR mx\.rdns-none\.example\.com\."/);
  });

  it('warns when the PTR name does not resolve back', async () => {
    const f = finding(await ptr('rdns-mismatch.example.com'), 'ptr.fcrdns', 'warn');
    assert.match(f.summary, /static-30\.isp\.example\.net → 93\.184\.216\.31/);
  });

  it('compares PTR with banner and EHLO names from SMTP session summaries', () => {
    const data: PtrData = {
      smtp: 'ran',
      addresses: [
        {
          host: 'mx.a.example',
          address: '93.184.216.10',
          reverseName: 'x',
          rcode: 'NOERROR',
          names: ['mx.a.example'],
          forward: [],
          confirmed: ['mx.a.example'],
        },
        {
          host: 'mx.b.example',
          address: '93.184.216.11',
          reverseName: 'y',
          rcode: 'NOERROR',
          names: ['mx.b.example'],
          forward: [],
          confirmed: ['mx.b.example'],
        },
        {
          host: 'mx.c.example',
          address: '93.184.216.12',
          reverseName: 'z',
          rcode: 'NOERROR',
          names: ['mx.c.example'],
          forward: [],
          confirmed: ['mx.c.example'],
        },
      ],
    };
    const findings = evaluatePtr(data, [
      {
        host: 'mx.a.example',
        address: '93.184.216.10',
        bannerHostname: 'MX.A.example',
        ehloHostname: 'mx.a.example',
      },
      { host: 'mx.b.example', address: '93.184.216.11', bannerHostname: 'smtp-in-7.provider.example' },
    ]);
    const banner = findings
      .filter((f) => f.id === 'ptr.banner')
      .map((f) => `${f.status}@${f.subject?.address}`);
    assert.deepEqual(banner, ['pass@93.184.216.10', 'info@93.184.216.11', 'error@93.184.216.12']);
  });

  it('builds DNSBL query names from reversed octets and IPv6 nibbles', () => {
    assert.equal(dnsblQueryName('192.0.2.99', 'zen.spamhaus.org'), '99.2.0.192.zen.spamhaus.org');
    assert.equal(
      dnsblQueryName('2001:db8::1', 'zen.spamhaus.org'),
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org',
    );
  });

  it('passes clean addresses and says which lists do not cover IPv6', async () => {
    const report = await dnsbl('rdns-good.example.com');
    assert.deepEqual(statuses(report, 'dnsbl.listed'), [
      'dnsbl.listed:pass@2606:2800:220:1::10',
      'dnsbl.listed:pass@93.184.216.10',
    ]);
    assert.match(
      finding(report, 'dnsbl.listed').summary + report.checks.map((f) => f.summary).join(' '),
      /do not cover IPv6/,
    );
    assert.equal(finding(report, 'dnsbl.domain').status, 'pass');
  });

  it('fails a listed address with the code meaning and the TXT reason, and a failed query is error', async () => {
    const report = await dnsbl('listed.example.com');
    const f = finding(report, 'dnsbl.listed', 'fail');
    assert.match(f.summary, /Spamhaus ZEN \(zen\.spamhaus\.org\) returned 127\.0\.0\.4 — XBL/);
    assert.match(f.summary, /reason: "https:\/\/check\.spamhaus\.org\/query\/ip\/93\.184\.216\.40"/);
    assert.match(f.summary, /SpamCop/);
    assert.match(finding(report, 'dnsbl.listed', 'error').summary, /b\.barracudacentral\.org \(SERVFAIL/);
    const domain = finding(report, 'dnsbl.domain', 'fail');
    assert.match(domain.summary, /spam domain/);
    const data = report.data.dnsbl as DnsblData;
    assert.equal(data.addresses[0]!.results.find((r) => r.zone === 'zen.spamhaus.org')!.status, 'listed');
  });

  it('treats a "public resolver refused" return code as error, not as listed', async () => {
    const report = await dnsbl('refused.example.com', ['zen.spamhaus.org']);
    assert.deepEqual(statuses(report, 'dnsbl.listed'), ['dnsbl.listed:error@93.184.216.50']);
    assert.match(finding(report, 'dnsbl.listed').summary, /public or open resolver/);
  });

  it('distrusts a list that lists its own never-listed test entry (RFC 5782 §5)', async () => {
    const report = await dnsbl('rdns-good.example.com', ['dead.dnsbl.example.net']);
    const errors = statuses(report, 'dnsbl.listed');
    assert.ok(errors.includes('dnsbl.listed:error@93.184.216.10'), errors.join());
    assert.match(finding(report, 'dnsbl.listed', 'error').summary, /answers every query/);
  });
});
