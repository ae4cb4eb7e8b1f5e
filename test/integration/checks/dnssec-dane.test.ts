import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mxCheck } from '../../../src/mx/check.js';
import { dnssecCheck } from '../../../src/dnssec/check.js';
import type { DnssecData } from '../../../src/dnssec/check.js';
import { daneCheck } from '../../../src/dane/check.js';
import type { DaneData } from '../../../src/dane/check.js';
import type { Check } from '../../../src/checks/types.js';
import type { TlsObservation } from '../../../src/tls/model.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns, Zones } from '../../support/dns-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';
import { certFacts, createCa, issueLeaf, observation } from '../../support/forge-certs.js';

/**
 * DNSSEC status and DANE through the real pipeline. The resolver is the fixture server
 * emulating a validating resolver (AD on secure names, SERVFAIL unless CD for bogus ones);
 * the SMTP probe is stood in for by a check named "smtp" whose data follows
 * src/smtp/contract.ts, as the real probe's will.
 */
const ca = createCa();
const good = issueLeaf(ca, { commonName: 'mx.dane.example.com' });
const replaced = issueLeaf(ca, { commonName: 'mx.dane.example.com' });
const spki = (c: typeof good) => certFacts(c).spkiSha256;
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];

const zones: Zones = {
  '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
  'dane.example.com': { MX: ['10 mx.dane.example.com', '20 mx2.dane.example.com'], SOA },
  'mx.dane.example.com': { A: ['93.184.216.70'] },
  '_25._tcp.mx.dane.example.com': { TLSA: [`3 1 1 ${spki(good)}`] },
  'mx2.dane.example.com': { A: ['93.184.216.71'] },
  '_25._tcp.mx2.dane.example.com': { TLSA: [`3 1 1 ${spki(good)}`, `1 1 1 ${spki(good)}`] },

  // TLSA published in an unsigned zone: ignored by senders.
  'unsigned.example.com': { MX: ['10 mx.unsigned.example.com'], SOA },
  'mx.unsigned.example.com': { A: ['93.184.216.72'] },
  '_25._tcp.mx.unsigned.example.com': { TLSA: [`3 1 1 ${spki(replaced)}`] },

  // MX host is an alias to a hosting provider: TLSA at the CNAME target (RFC 7672 §2.2.2).
  'cname-dane.example.com': { MX: ['10 mail.cname-dane.example.com'], SOA },
  'mail.cname-dane.example.com': { CNAME: ['mx.hosting.example.net'] },
  'mx.hosting.example.net': { A: ['93.184.216.73'] },
  '_25._tcp.mx.hosting.example.net': { TLSA: [`3 1 1 ${spki(good)}`] },

  // A zone whose signatures fail.
  'bogus.example.com': { MX: ['10 mx.bogus.example.com'], SOA },
  'mx.bogus.example.com': { A: ['93.184.216.74'] },
  // Only the TLSA answer fails validation (e.g. an expired RRSIG on it).
  'bogus-tlsa.example.com': { MX: ['10 mx.bogus-tlsa.example.com'], SOA },
  'mx.bogus-tlsa.example.com': { A: ['93.184.216.76'] },
  '_25._tcp.mx.bogus-tlsa.example.com': { TLSA: [`3 1 1 ${spki(good)}`] },

  'plain.example.com': { MX: ['10 mx.plain.example.com'], SOA },
  'mx.plain.example.com': { A: ['93.184.216.75'] },
};

function fakeSmtp(tls: TlsObservation[]): Check {
  return {
    name: 'smtp',
    title: 'SMTP (test stand-in)',
    dependsOn: ['mx'],
    findings: [],
    async run() {
      return { findings: [], data: { tls, sessions: [] } };
    },
  };
}

describe('DNSSEC and DANE', () => {
  let dns: FixtureDns;
  let plainResolver: FixtureDns;
  let isolated: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({
      zones,
      ad: true,
      behaviour: {
        'unsigned.example.com': { ad: false },
        'mx.unsigned.example.com': { ad: false },
        '_25._tcp.mx.unsigned.example.com': { ad: false },
        'bogus.example.com': { bogus: true },
        '_25._tcp.mx.bogus-tlsa.example.com': { bogus: true },
      },
    });
    plainResolver = await startFixtureDns({ zones });
    // A validating resolver that cannot reach the root (a lab, an isolated network): it
    // validates the zones it has trust anchors for and never answers for ".".
    isolated = await startFixtureDns({ zones, ad: true, behaviour: { '': { silent: true } } });
  });
  after(async () => {
    await dns.stop();
    await plainResolver.stop();
    await isolated.stop();
  });
  const checks = (smtp?: Check) => [mxCheck, ...(smtp ? [smtp] : []), dnssecCheck, daneCheck];

  it('reports a signed domain and MX hosts as secure', async () => {
    const report = await runChecksAgainst(dns, 'dane.example.com', checks());
    assert.deepEqual(statuses(report, 'dnssec.'), [
      'dnssec.domain:pass',
      'dnssec.mx:pass@mx.dane.example.com',
      'dnssec.mx:pass@mx2.dane.example.com',
    ]);
    assert.equal((report.data.dnssec as DnssecData).resolverValidates, true);
  });

  it('needs no root query when the answers carry AD: a resolver that cannot reach the root still shows secure', async () => {
    const report = await runChecksAgainst(isolated, 'dane.example.com', checks());
    assert.deepEqual(statuses(report, 'dnssec.'), [
      'dnssec.domain:pass',
      'dnssec.mx:pass@mx.dane.example.com',
      'dnssec.mx:pass@mx2.dane.example.com',
    ]);
    assert.equal((report.data.dnssec as DnssecData).resolverValidates, true);
    assert.ok(!isolated.queries.some((q) => q.name === ''), 'the root was never asked');
    assert.ok(report.durationMs < 1000, `no query waited for a timeout (${report.durationMs} ms)`);
  });

  it('reports insecure zones as insecure, bogus ones as fail (SERVFAIL that CD clears)', async () => {
    const unsigned = await runChecksAgainst(dns, 'unsigned.example.com', checks());
    assert.deepEqual(statuses(unsigned, 'dnssec.'), [
      'dnssec.domain:info',
      'dnssec.mx:info@mx.unsigned.example.com',
    ]);
    const bogus = await runChecksAgainst(dns, 'bogus.example.com', checks());
    assert.equal(finding(bogus, 'dnssec.domain').status, 'fail');
    assert.match(finding(bogus, 'dnssec.domain').summary, /bogus/);
    assert.ok(
      dns.queries.some((q) => q.name === 'bogus.example.com' && q.cd),
      'retried with CD',
    );
  });

  it('says "unknown" rather than guessing when the resolver does not validate', async () => {
    const report = await runChecksAgainst(plainResolver, 'dane.example.com', checks());
    assert.equal(finding(report, 'dnssec.domain').status, 'error');
    assert.match(finding(report, 'dnssec.domain').summary, /does not validate/);
    assert.match(finding(report, 'dane.tlsa').summary, /unknown: the resolver does not validate/);
  });

  it('says why it is unknown when the resolver cannot even answer for the root (an authoritative-only server)', async () => {
    const { '': _root, ...withoutRoot } = zones;
    const nsd = await startFixtureDns({ zones: withoutRoot, recursion: false });
    try {
      const report = await runChecksAgainst(nsd, 'dane.example.com', checks());
      assert.equal((report.data.dnssec as DnssecData).resolverValidates, null);
      assert.match(
        finding(report, 'dnssec.domain', 'error').summary,
        /no AD flag, and the configured resolver could not answer for the signed root zone/,
      );
    } finally {
      await nsd.stop();
    }
  });

  it('passes secure TLSA records matching the presented certificate, per MX address', async () => {
    const smtp = fakeSmtp([
      observation('mx.dane.example.com', '93.184.216.70', [good, ca]),
      observation('mx2.dane.example.com', '93.184.216.71', [good, ca]),
    ]);
    const report = await runChecksAgainst(dns, 'dane.example.com', checks(smtp), { smtp: true });
    assert.deepEqual(statuses(report, 'dane.'), [
      'dane.match:pass@93.184.216.70',
      'dane.match:pass@93.184.216.71',
      // One usable record each, matching the key in use: no room for the next key (RFC 7671 §8).
      'dane.rollover:warn@mx.dane.example.com',
      'dane.rollover:warn@mx2.dane.example.com',
      'dane.tlsa:pass@mx.dane.example.com',
      'dane.tlsa:pass@mx2.dane.example.com',
      'dane.tlsa:warn@mx2.dane.example.com',
    ]);
    assert.match(report.checks.find((f) => f.id === 'dane.tlsa' && f.status === 'warn')!.summary, /PKIX-EE/);
  });

  it('fails a mismatch with secure TLSA records: DANE senders will not deliver', async () => {
    const smtp = fakeSmtp([
      observation('mx.dane.example.com', '93.184.216.70', [replaced, ca]),
      observation('mx2.dane.example.com', '93.184.216.71', [], {
        starttls: 'not_offered',
        handshake: 'not_attempted',
      }),
    ]);
    const report = await runChecksAgainst(dns, 'dane.example.com', checks(smtp), { smtp: true });
    const fails = report.checks.filter((f) => f.id === 'dane.match' && f.status === 'fail');
    assert.deepEqual(fails.map((f) => f.subject?.address).sort(), ['93.184.216.70', '93.184.216.71']);
    const mismatch = fails.find((f) => f.subject?.address === '93.184.216.70')!;
    assert.match(mismatch.summary, /will NOT deliver/);
    assert.ok(mismatch.remedy!.includes(`TLSA 3 1 1 ${spki(replaced)}`));
    assert.match(
      fails.find((f) => f.subject?.address === '93.184.216.71')!.summary,
      /does not offer STARTTLS/,
    );
    const data = report.data.dane as DaneData;
    assert.equal(data.hosts[0]!.matches[0]!.outcome, 'mismatch');
  });

  it('warns (not fails) about a mismatch with TLSA records in an unsigned zone', async () => {
    const smtp = fakeSmtp([observation('mx.unsigned.example.com', '93.184.216.72', [good, ca])]);
    const report = await runChecksAgainst(dns, 'unsigned.example.com', checks(smtp), { smtp: true });
    assert.deepEqual(statuses(report, 'dane.'), [
      'dane.match:warn@93.184.216.72',
      'dane.tlsa:warn@mx.unsigned.example.com',
    ]);
  });

  it('follows an MX alias to the TLSA records of its target', async () => {
    const smtp = fakeSmtp([observation('mail.cname-dane.example.com', '93.184.216.73', [good, ca])]);
    const report = await runChecksAgainst(dns, 'cname-dane.example.com', checks(smtp), { smtp: true });
    assert.equal(finding(report, 'dane.match').status, 'pass');
    assert.equal((report.data.dane as DaneData).hosts[0]!.tlsaName, '_25._tcp.mx.hosting.example.net');
  });

  it('fails bogus TLSA answers', async () => {
    const report = await runChecksAgainst(dns, 'bogus-tlsa.example.com', checks());
    assert.equal(finding(report, 'dane.tlsa').status, 'fail');
    assert.match(finding(report, 'dane.tlsa').summary, /defer all mail/);
  });

  it('reports DANE as not used without TLSA, and matching as not tested without SMTP data', async () => {
    assert.deepEqual(statuses(await runChecksAgainst(dns, 'plain.example.com', checks()), 'dane.'), [
      'dane.tlsa:info@mx.plain.example.com',
    ]);
    const off = await runChecksAgainst(dns, 'dane.example.com', checks(), { smtp: false });
    assert.equal(finding(off, 'dane.match').status, 'info');
    assert.match(finding(off, 'dane.match').summary, /Not tested.*switched off/);
    const notRun = await runChecksAgainst(dns, 'dane.example.com', checks(), { smtp: true });
    assert.equal(finding(notRun, 'dane.match').status, 'error');
  });
});
