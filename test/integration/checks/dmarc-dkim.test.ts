import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dmarcCheck } from '../../../src/dmarc/check.js';
import type { DmarcData } from '../../../src/dmarc/check.js';
import { dkimCheck } from '../../../src/dkim/check.js';
import type { DkimData } from '../../../src/dkim/check.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';
import { DMARC_DKIM_BEHAVIOUR, DMARC_DKIM_ZONES } from '../../fixtures/zones/dmarc-dkim.js';

describe('dmarc and dkim checks', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: DMARC_DKIM_ZONES, behaviour: DMARC_DKIM_BEHAVIOUR });
  });
  after(() => dns.stop());
  const dmarc = (domain: string) => runChecksAgainst(dns, domain, [dmarcCheck]);
  const dkim = (domain: string, selectors: string[] = []) =>
    runChecksAgainst(dns, domain, [dkimCheck], { dkimSelectors: selectors });

  describe('DMARC', () => {
    it('passes an enforcing record with an authorised external report address', async () => {
      const report = await dmarc('dmarc-good.example.com');
      assert.deepEqual(statuses(report, 'dmarc.'), [
        'dmarc.alignment:info',
        'dmarc.external_reporting:pass@dmarc-good.example.com._report._dmarc.dmarc-service.example.net',
        'dmarc.policy:pass',
        'dmarc.record:pass@_dmarc.dmarc-good.example.com',
        'dmarc.reporting:pass',
        'dmarc.syntax:pass',
      ]);
      assert.match(
        finding(report, 'dmarc.alignment').summary,
        /exactly dmarc-good\.example\.com \(adkim=s\)/,
      );
      const data = report.data.dmarc as DmarcData;
      assert.equal(data.policy?.effective, 'reject');
    });

    it('warns about p=none and a missing rua', async () => {
      const report = await dmarc('dmarc-none.example.com');
      assert.match(finding(report, 'dmarc.policy', 'warn').summary, /monitoring only/);
      assert.match(finding(report, 'dmarc.reporting', 'warn').remedy!, /rua=mailto:/);
    });

    it('warns about pct below 100 and sp=none', async () => {
      const f = finding(await dmarc('dmarc-pct.example.com'), 'dmarc.policy', 'warn');
      assert.match(f.summary, /pct=20/);
      assert.match(f.summary, /sp=none/);
      assert.match(f.remedy!, /"v=DMARC1; p=quarantine; rua=mailto:d@dmarc-pct\.example\.com"/);
    });

    it('fails an external report destination that has not authorised the domain', async () => {
      const f = finding(await dmarc('dmarc-external.example.com'), 'dmarc.external_reporting', 'fail');
      assert.equal(f.subject?.name, 'dmarc-external.example.com._report._dmarc.reports.example.org');
      assert.match(f.remedy!, /v=DMARC1/);
    });

    it('fails several records and a record without a DMARC record', async () => {
      assert.match(
        finding(await dmarc('dmarc-multiple.example.com'), 'dmarc.record', 'fail').summary,
        /2 DMARC records/,
      );
      assert.match(
        finding(await dmarc('dmarc-nopolicy.example.com'), 'dmarc.record', 'fail').summary,
        /No DMARC record/,
      );
    });

    it('fails invalid tags, naming each, and warns about unknown ones', async () => {
      const report = await dmarc('dmarc-syntax.example.com');
      const fails = report.checks.filter((f) => f.id === 'dmarc.syntax' && f.status === 'fail');
      assert.deepEqual(fails.map((f) => f.details.tag).sort(), ['p', 'pct', 'rua']);
      assert.match(fails.find((f) => f.details.tag === 'p')!.summary, /p=rejected is not a policy/);
      assert.ok(
        report.checks.some((f) => f.id === 'dmarc.syntax' && f.status === 'warn' && f.details.tag === 'foo'),
      );
      assert.equal(finding(report, 'dmarc.reporting').status, 'fail');
    });

    it('fails a record where v=DMARC1 is not first', async () => {
      assert.match(
        finding(await dmarc('dmarc-notfirst.example.com'), 'dmarc.record', 'fail').summary,
        /not valid/,
      );
    });

    it('falls back to the organisational domain and applies sp=', async () => {
      const report = await dmarc('sub.dmarc-org.co.uk');
      assert.match(finding(report, 'dmarc.record', 'pass').summary, /organisational domain/);
      const data = report.data.dmarc as DmarcData;
      assert.equal(data.inherited, true);
      assert.equal(data.policyDomain, 'dmarc-org.co.uk');
      assert.equal(data.policy?.effective, 'quarantine');
    });

    it('reports SERVFAIL as error', async () => {
      assert.deepEqual(statuses(await dmarc('dmarc-servfail.example.com'), 'dmarc.'), ['dmarc.record:error']);
    });
  });

  describe('DKIM', () => {
    it('finds common selectors, follows CNAMEs and passes 2048-bit RSA and Ed25519 keys', async () => {
      const report = await dkim('dkim-good.example.com', ['ed']);
      assert.deepEqual(statuses(report, 'dkim.'), [
        'dkim.key:pass@ed._domainkey.dkim-good.example.com',
        'dkim.key:pass@selector1._domainkey.dkim-good.example.com',
        'dkim.selectors:pass',
      ]);
      const data = report.data.dkim as DkimData;
      assert.deepEqual(data.found.map((k) => [k.selector, k.keyType, k.bits]).sort(), [
        ['ed', 'ed25519', 256],
        ['selector1', 'rsa', 2048],
      ]);
      const cname = await dkim('dkim-cname.example.com');
      assert.match(
        finding(cname, 'dkim.key', 'pass').summary,
        /via CNAME selector2-esp\._domainkey\.esp\.example\.net/,
      );
    });

    it('warns about a 1024-bit key in testing mode', async () => {
      const f = finding(await dkim('dkim-weak.example.com'), 'dkim.key', 'warn');
      assert.match(f.summary, /RSA 1024 bits/);
      assert.match(f.summary, /t=y/);
    });

    it('fails a 512-bit key', async () => {
      assert.match(finding(await dkim('dkim-tiny.example.com'), 'dkim.key', 'fail').summary, /RSA 512 bits/);
    });

    it('fails a truncated key and a key with a non-base64 character', async () => {
      const report = await dkim('dkim-broken.example.com');
      const fails = report.checks.filter((f) => f.id === 'dkim.key' && f.status === 'fail');
      assert.equal(fails.length, 2);
      assert.ok(fails.some((f) => /not an RSA public key/.test(f.summary)));
      assert.ok(fails.some((f) => /"#", which is not a base64 character/.test(f.summary)));
    });

    it('reports a revoked key as info and a PKCS#1 key as warn', async () => {
      assert.equal(finding(await dkim('dkim-revoked.example.com'), 'dkim.key').status, 'info');
      assert.match(finding(await dkim('dkim-pkcs1.example.com'), 'dkim.key', 'warn').summary, /PKCS#1/);
    });

    it('says in one phrase when every selector lookup failed alike', async () => {
      const f = finding(await dkim('dkim-servfail.example.com'), 'dkim.selectors', 'error');
      assert.match(
        f.summary,
        /^All \d+ selector lookups failed with SERVFAIL \(default, dkim, mail, email, smtp and \d+ more\); their keys could not be checked\.$/,
      );
    });

    it('says that finding no common selector proves nothing while _domainkey exists, and fails a named selector that is missing', async () => {
      const report = await dkim('dkim-unguessed.example.com');
      const info = finding(report, 'dkim.selectors', 'info');
      assert.match(info.summary, /None of the 45 common DKIM selectors has a key/);
      assert.match(info.summary, /does not prove/);
      const data = report.data.dkim as DkimData;
      assert.deepEqual(data.tree, { name: '_domainkey.dkim-unguessed.example.com', rcode: 'NOERROR' });
      assert.equal(data.asked.length, 45);
      const named = await dkim('dkim-unguessed.example.com', ['s2026q3']);
      assert.deepEqual(statuses(named, 'dkim.'), [
        'dkim.key:pass@s2026q3._domainkey.dkim-unguessed.example.com',
        'dkim.selectors:pass',
      ]);
      const missing = await dkim('dkim-unguessed.example.com', ['s2025']);
      assert.equal(
        finding(missing, 'dkim.selectors', 'fail').subject?.name,
        's2025._domainkey.dkim-unguessed.example.com',
      );
    });

    it('states that a domain without _domainkey has no key at all, without guessing every selector (RFC 8020)', async () => {
      const before = dns.queries.length;
      const report = await dkim('dkim-none.example.com');
      const info = finding(report, 'dkim.selectors', 'info');
      assert.match(
        info.summary,
        /^dkim-none\.example\.com publishes no DKIM key: _domainkey\.dkim-none\.example\.com does not exist \(NXDOMAIN\)/,
      );
      assert.doesNotMatch(info.summary, /does not prove/);
      const asked = dns.queries.slice(before).map((q) => q.name);
      // _domainkey itself and the four sentinels, not the 45 common selectors.
      assert.deepEqual([...asked].sort(), [
        '_domainkey.dkim-none.example.com',
        'default._domainkey.dkim-none.example.com',
        'google._domainkey.dkim-none.example.com',
        's1._domainkey.dkim-none.example.com',
        'selector1._domainkey.dkim-none.example.com',
      ]);
      assert.deepEqual((report.data.dkim as DkimData).asked, ['default', 's1', 'selector1', 'google']);
      const named = await dkim('dkim-none.example.com', ['s2025']);
      assert.deepEqual(statuses(named, 'dkim.'), [
        'dkim.selectors:fail@s2025._domainkey.dkim-none.example.com',
      ]);
    });

    it('warns when the name server denies _domainkey although keys exist beneath it, and asks every selector', async () => {
      const report = await dkim('dkim-ent-denied.example.com');
      const tree = finding(report, 'dkim.tree', 'warn');
      assert.match(tree.summary, /NXDOMAIN for _domainkey\.dkim-ent-denied\.example\.com/);
      assert.match(
        tree.summary,
        /yet mail\._domainkey\.dkim-ent-denied\.example\.com, selector1\._domainkey\.dkim-ent-denied\.example\.com beneath it exist:/,
      );
      assert.match(tree.remedy ?? '', /RFC 8020/);
      // mail is not a sentinel: found because the denial was not trusted.
      assert.deepEqual((report.data.dkim as DkimData).found.map((k) => k.selector).sort(), [
        'mail',
        'selector1',
      ]);
      assert.equal(finding(report, 'dkim.selectors', 'pass').status, 'pass');
    });
  });
});
