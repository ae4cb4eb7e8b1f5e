import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daneCheck } from '../../../src/dane/check.js';
import { dnssecCheck } from '../../../src/dnssec/check.js';
import { mtaStsCheck } from '../../../src/mta-sts/check.js';
import { mxCheck } from '../../../src/mx/check.js';
import { smtpCheck } from '../../../src/smtp/check.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { createCa, issueLeaf } from '../../support/forge-certs.js';
import type { TestCert } from '../../support/forge-certs.js';
import { PolicyServer } from '../../support/https-policy-server.js';
import { runChecksAgainst, statuses } from '../../support/run-checks.js';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';

/**
 * DANE and MTA-STS judged on what the real SMTP probe saw, end to end: loopback MX fakes with
 * certificates from a test CA, TLSA records from a resolver that validates (AD set), an
 * MTA-STS policy from a loopback HTTPS server. TLSA records sit at _<port>._tcp for the port
 * the probe uses (25 in the real world, a free port here).
 */
const ca = createCa('mxdoctor DANE test CA');
const leaf = (name: string) => issueLeaf(ca, { commonName: name, dnsNames: [name] });
const spkiSha256 = (c: TestCert) =>
  createHash('sha256')
    .update(new X509Certificate(c.certPem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

const okLeaf = leaf('mx.dane-ok.example.com');
const oldLeaf = leaf('mx.dane-stale.example.com');
const newLeaf = leaf('mx.dane-stale.example.com');
const stsLeaf = leaf('mx1.sts-enforce.example.com');

describe('DANE and MTA-STS on the real probe', () => {
  let dns: FixtureDns;
  let https: PolicyServer;
  let fakes: SmtpFake[] = [];
  let dir: string;
  let env: Record<string, string>;
  const checks = [mxCheck, smtpCheck, dnssecCheck, daneCheck, mtaStsCheck];

  before(async () => {
    const port = await freePort();
    const fake = (host: string, name: string, cert?: TestCert) =>
      startSmtpFake({
        host,
        port,
        name,
        domains: [name.replace(/^mx\d?\./, '')],
        users: ['alice'],
        ...(cert ? { tls: { key: cert.keyPem, cert: `${cert.certPem}${ca.certPem}` } } : {}),
      });
    fakes = [
      await fake('127.0.0.65', 'mx.dane-ok.example.com', okLeaf),
      // The rollover trap: the server got a new key, the TLSA record still names the old one.
      await fake('127.0.0.66', 'mx.dane-stale.example.com', newLeaf),
      await fake('127.0.0.67', 'mx1.sts-enforce.example.com', stsLeaf),
      // A backup MX without STARTTLS, under an MTA-STS policy in enforce mode.
      await fake('127.0.0.68', 'mx2.sts-enforce.example.com'),
    ];
    dns = await startFixtureDns({
      ad: true,
      zones: {
        'dane-ok.example.com': { MX: ['10 mx.dane-ok.example.com'] },
        'mx.dane-ok.example.com': { A: ['127.0.0.65'] },
        [`_${port}._tcp.mx.dane-ok.example.com`]: { TLSA: [`3 1 1 ${spkiSha256(okLeaf)}`] },
        'dane-stale.example.com': { MX: ['10 mx.dane-stale.example.com'] },
        'mx.dane-stale.example.com': { A: ['127.0.0.66'] },
        [`_${port}._tcp.mx.dane-stale.example.com`]: { TLSA: [`3 1 1 ${spkiSha256(oldLeaf)}`] },
        'sts-enforce.example.com': {
          MX: ['10 mx1.sts-enforce.example.com', '20 mx2.sts-enforce.example.com'],
        },
        'mx1.sts-enforce.example.com': { A: ['127.0.0.67'] },
        'mx2.sts-enforce.example.com': { A: ['127.0.0.68'] },
        '_mta-sts.sts-enforce.example.com': { TXT: ['v=STSv1; id=20261128'] },
        'mta-sts.sts-enforce.example.com': { A: ['127.0.0.1'] },
      },
    });
    const policy = [
      'version: STSv1',
      'mode: enforce',
      'mx: *.sts-enforce.example.com',
      'max_age: 604800',
      '',
    ].join('\r\n');
    https = await new PolicyServer(
      {
        'mta-sts.sts-enforce.example.com': {
          cert: leaf('mta-sts.sts-enforce.example.com'),
          respond: (_q: unknown, res: ServerResponse) =>
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end(policy),
        },
      },
      leaf('fallback.invalid'),
    ).start();
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-dane-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    env = {
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
      MXDOCTOR_HTTPS_PORT: String(https.port),
      MXDOCTOR_SMTP_LEGACY_TLS: 'false',
      MXDOCTOR_EHLO_NAME: 'probe.example.org',
    };
  });
  after(async () => {
    for (const f of fakes) {
      f.assertNoMessageSent();
      await f.stop();
    }
    await https?.stop();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (domain: string) => runChecksAgainst(dns, domain, checks, { smtp: true }, env);

  it('matches a DANE-EE TLSA record against the key the MX presents', async () => {
    const report = await run('dane-ok.example.com');
    assert.deepEqual(statuses(report, 'dane.match'), ['dane.match:pass@127.0.0.65']);
    assert.equal(report.checks.find((f) => f.id === 'smtp.starttls')?.status, 'pass');
  });

  it('fails DNSSEC-secure TLSA records that no longer match the served key (the rollover trap)', async () => {
    const report = await run('dane-stale.example.com');
    const match = report.checks.find((f) => f.id === 'dane.match')!;
    assert.equal(match.status, 'fail');
    assert.equal(match.subject?.address, '127.0.0.66');
    assert.match(match.summary + (match.remedy ?? ''), /3 1 1 [0-9a-f]{64}/, 'says which record to publish');
  });

  it('fails an MTA-STS enforce policy for the MX that offers no STARTTLS, and only that one', async () => {
    const report = await run('sts-enforce.example.com');
    assert.deepEqual(statuses(report, 'mta_sts.tls'), [
      'mta_sts.tls:fail@127.0.0.68',
      'mta_sts.tls:pass@127.0.0.67',
    ]);
    assert.match(
      report.checks.find((f) => f.id === 'mta_sts.tls' && f.status === 'fail')!.summary,
      /mx2\.sts-enforce\.example\.com/,
    );
    assert.equal(report.checks.find((f) => f.id === 'mta_sts.mx_match')?.status, 'pass');
  });
});
