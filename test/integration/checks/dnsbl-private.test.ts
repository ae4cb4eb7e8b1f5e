import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mxCheck } from '../../../src/mx/check.js';
import { dnsblCheck } from '../../../src/dnsbl/check.js';
import type { Check } from '../../../src/checks/types.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';

/**
 * Issue 13 §6, the domain check: with MXDOCTOR_ALLOW_PRIVATE, private and loopback MX addresses
 * are real targets — the blocklist check looks them up instead of skipping them as "not a
 * public address". Without it, they are skipped as before.
 */
const SOA = ['ns1.example.net hostmaster.example.net 2026112801 3600 600 1209600 300'];

describe('blocklists of private MX addresses', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'lan.example': { MX: ['10 mx.lan.example'], SOA },
        'mx.lan.example': { A: ['10.1.2.3'] },
        '3.2.1.10.zen.spamhaus.org': { A: ['127.0.0.2'], TXT: ['listed for the test'] },
      },
    });
  });
  after(() => dns.stop());

  const run = (env: Record<string, string>) =>
    runChecksAgainst(
      dns,
      'lan.example',
      [mxCheck as Check, dnsblCheck as Check],
      { dnsbls: ['zen.spamhaus.org'] },
      env,
    );

  it('looks a private MX address up with MXDOCTOR_ALLOW_PRIVATE', async () => {
    const report = await run({ MXDOCTOR_ALLOW_PRIVATE: '1' });
    assert.deepEqual(statuses(report, 'dnsbl.listed'), ['dnsbl.listed:fail@10.1.2.3']);
    assert.match(
      finding(report, 'dnsbl.listed').summary,
      /10\.1\.2\.3 \(mx\.lan\.example\) is listed on 1 blocklist/,
    );
  });

  it('skips it otherwise: no list covers a private address', async () => {
    const report = await run({});
    assert.deepEqual(statuses(report, 'dnsbl.listed'), ['dnsbl.listed:info@10.1.2.3']);
    assert.match(finding(report, 'dnsbl.listed').summary, /not a public address/);
  });
});
