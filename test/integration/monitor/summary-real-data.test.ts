import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daneCheck } from '../../../src/dane/check.js';
import { dmarcCheck } from '../../../src/dmarc/check.js';
import { dnsblCheck } from '../../../src/dnsbl/check.js';
import { mtaStsCheck } from '../../../src/mta-sts/check.js';
import { mxCheck } from '../../../src/mx/check.js';
import { spfCheck } from '../../../src/spf/check.js';
import type { Check } from '../../../src/checks/types.js';
import { diffRuns } from '../../../src/monitor/diff.js';
import { evaluateAlerts, observe } from '../../../src/monitor/alerts.js';
import { summarizeReport } from '../../../src/monitor/summary.js';
import type { TlsObservation } from '../../../src/tls/model.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns, Zones } from '../../support/dns-server.js';
import { certFacts, createCa, issueLeaf, observation } from '../../support/forge-certs.js';
import { PolicyServer } from '../../support/https-policy-server.js';
import { runChecksAgainst } from '../../support/run-checks.js';
import { PTR_DNSBL_ZONES } from '../../fixtures/zones/ptr-dnsbl.js';

/**
 * The key facts of a run summary read from what the real checks put in `report.data`
 * (src/checks/{spf,dmarc,dnsbl,dane,mta-sts}.ts), not from hand-made shapes: run the checks
 * against the fixture resolver (and an MTA-STS policy server), summarise, compare runs.
 */
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];
const ca = createCa('mxdoctor summary test CA');
const served = issueLeaf(ca, { commonName: 'mx1.facts.example.com' });
const other = issueLeaf(ca, { commonName: 'mx1.facts.example.com' });
const caFile = join(mkdtempSync(join(tmpdir(), 'mxdoctor-summary-')), 'ca.pem');
writeFileSync(caFile, ca.certPem);

/** The SMTP check's part of the data, as src/smtp/contract.ts defines it. */
function smtpStandIn(tls: TlsObservation[]): Check {
  return {
    name: 'smtp',
    title: 'SMTP (stand-in)',
    dependsOn: ['mx'],
    findings: [],
    async run() {
      return { findings: [], data: { tls, sessions: [] } };
    },
  };
}

describe('run summaries from real check data', () => {
  let dns: FixtureDns;
  let policy: PolicyServer;
  before(async () => {
    const zones: Zones = {
      ...PTR_DNSBL_ZONES,
      '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
      'facts.example.com': {
        MX: ['10 mx1.facts.example.com'],
        SOA,
        TXT: ['v=spf1 ip4:93.184.216.0/24 -all', 'unrelated text'],
      },
      'mx1.facts.example.com': { A: ['93.184.216.40'] },
      '_dmarc.facts.example.com': { TXT: ['v=DMARC1; p=quarantine; rua=mailto:d@facts.example.com'] },
      '_mta-sts.facts.example.com': { TXT: ['v=STSv1; id=20261128T1200'] },
      'mta-sts.facts.example.com': { A: ['127.0.0.1'] },
      '_25._tcp.mx1.facts.example.com': {
        TLSA: [`3 1 1 ${certFacts(served).spkiSha256}`, `3 0 1 ${certFacts(other).sha256}`],
      },
    };
    dns = await startFixtureDns({ zones, ad: true });
    const body =
      'version: STSv1\r\nmode: enforce\r\nmx: mx1.facts.example.com\r\nmx: *.backup.facts.example.com\r\nmax_age: 604800\r\n';
    policy = await new PolicyServer(
      {
        'mta-sts.facts.example.com': {
          cert: issueLeaf(ca, { commonName: 'mta-sts.facts.example.com' }),
          respond: (_req, res: ServerResponse) =>
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body),
        },
      },
      issueLeaf(ca, { commonName: 'fallback.example.com' }),
    ).start();
  });
  after(async () => {
    await policy?.stop();
    await dns?.stop();
  });

  const run = (tls: TlsObservation[]) =>
    runChecksAgainst(
      dns,
      'facts.example.com',
      [mxCheck, smtpStandIn(tls), spfCheck, dmarcCheck, mtaStsCheck, daneCheck, dnsblCheck],
      { smtp: true, dnsbls: ['zen.spamhaus.org', 'bl.spamcop.net'] },
      {
        MXDOCTOR_ALLOW_PRIVATE: '1',
        MXDOCTOR_HTTPS_PORT: String(policy.port),
        MXDOCTOR_CA_FILE: caFile,
        MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
      },
    );

  it('reads TLSA, MTA-STS, SPF, DMARC and blocklist listings from the checks’ data', async () => {
    const report = await run([observation('mx1.facts.example.com', '93.184.216.40', [served])]);
    const facts = summarizeReport(report, 'r1').facts;
    assert.deepEqual(facts.mx, ['10 mx1.facts.example.com']);
    assert.deepEqual(facts.addresses, { 'mx1.facts.example.com': ['93.184.216.40'] });
    assert.deepEqual(facts.tlsa, {
      'mx1.facts.example.com': [`3 0 1 ${certFacts(other).sha256}`, `3 1 1 ${certFacts(served).spkiSha256}`],
    });
    assert.deepEqual(facts.mtaSts, {
      id: '20261128T1200',
      mode: 'enforce',
      mx: ['mx1.facts.example.com', '*.backup.facts.example.com'],
    });
    assert.equal(facts.spf, 'v=spf1 ip4:93.184.216.0/24 -all');
    assert.equal(facts.dmarc, 'v=DMARC1; p=quarantine; rua=mailto:d@facts.example.com');
    assert.deepEqual(facts.dnsbl, ['93.184.216.40 on bl.spamcop.net', '93.184.216.40 on zen.spamhaus.org']);
    assert.equal(facts.certificates['mx1.facts.example.com 93.184.216.40']!.sha256, certFacts(served).sha256);
  });

  it('turns a new certificate the TLSA records do not cover into a diff and a "TLSA no longer matches" alert', async () => {
    const before = summarizeReport(
      await run([observation('mx1.facts.example.com', '93.184.216.40', [served])]),
      'r1',
    );
    // A new key and certificate: neither TLSA record (3 1 1 of the old key, 3 0 1 of another
    // certificate) covers it.
    const renewed = issueLeaf(ca, { commonName: 'mx1.facts.example.com' });
    const after = summarizeReport(
      await run([observation('mx1.facts.example.com', '93.184.216.40', [renewed])]),
      'r2',
    );
    const diff = diffRuns(before, after);
    assert.ok(
      diff.facts.some((f) => f.fact === 'certificate'),
      JSON.stringify(diff.facts),
    );
    assert.deepEqual(
      diff.changed.filter((c) => c.id === 'dane.match').map((c) => [c.from, c.to]),
      [['pass', 'fail']],
    );
    const t0 = new Date();
    const first = evaluateAlerts('m', 'r1', {}, observe(before, t0), t0);
    const second = evaluateAlerts('m', 'r2', first.state, observe(after, t0), t0);
    assert.ok(
      second.alerts.some((a) => a.rule === 'tlsa_mismatch' && a.kind === 'problem' && a.level === 'fail'),
    );
  });
});
