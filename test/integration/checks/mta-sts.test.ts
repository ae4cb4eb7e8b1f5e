import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mxCheck } from '../../../src/mx/check.js';
import { mtaStsCheck } from '../../../src/mta-sts/check.js';
import type { MtaStsData } from '../../../src/mta-sts/check.js';
import { tlsRptCheck } from '../../../src/tls-rpt/check.js';
import { bimiCheck } from '../../../src/bimi/check.js';
import { dmarcCheck } from '../../../src/dmarc/check.js';
import type { Check } from '../../../src/checks/types.js';
import type { TlsObservation } from '../../../src/tls/model.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns, Zones } from '../../support/dns-server.js';
import { createCa, issueLeaf, observation } from '../../support/forge-certs.js';
import { PolicyServer } from '../../support/https-policy-server.js';
import type { PolicySite } from '../../support/https-policy-server.js';
import { finding, runChecksAgainst, statuses } from '../../support/run-checks.js';

/**
 * MTA-STS end to end: DNS from the fixture resolver, the policy from a loopback HTTPS server
 * whose certificates come from a test CA passed as MXDOCTOR_CA_FILE, the MX TLS facts from a
 * stand-in "smtp" check following src/smtp/contract.ts. TLS-RPT and BIMI ride along.
 */
const ca = createCa('mxdoctor MTA-STS test CA');
const rogueCa = createCa('someone else');
const leaf = (name: string, extra: Partial<Parameters<typeof issueLeaf>[1]> = {}) =>
  issueLeaf(ca, { commonName: name, ...extra });
const CRLF = '\r\n';
const policy = (mode: string, mx: string[], maxAge = 604800, eol = CRLF) =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join(eol);
const text =
  (body: string, type = 'text/plain; charset=utf-8') =>
  (_req: unknown, res: ServerResponse) =>
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);

const domains = [
  'good',
  'redirect',
  'ctype',
  'big',
  'expired',
  'wrongname',
  'untrusted',
  'mismatch',
  'testing',
  'slow',
  'missing',
  'badpolicy',
  'twotxt',
  'badtxt',
];
const sites: Record<string, PolicySite> = {
  'mta-sts.sts-good.example.com': {
    cert: leaf('mta-sts.sts-good.example.com'),
    respond: text(policy('enforce', ['mx1.sts-good.example.com', '*.backup.sts-good.example.com'])),
  },
  'mta-sts.sts-redirect.example.com': {
    cert: leaf('mta-sts.sts-redirect.example.com'),
    respond: (_q, res) =>
      res.writeHead(301, { Location: 'https://www.sts-redirect.example.com/mta-sts.txt' }).end(),
  },
  'mta-sts.sts-ctype.example.com': {
    cert: leaf('mta-sts.sts-ctype.example.com'),
    respond: text(policy('enforce', ['mx1.sts-ctype.example.com']), 'text/html'),
  },
  'mta-sts.sts-big.example.com': {
    cert: leaf('mta-sts.sts-big.example.com'),
    respond: (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(policy('enforce', ['mx1.sts-big.example.com']) + '#'.repeat(70 * 1024));
    },
  },
  'mta-sts.sts-expired.example.com': {
    cert: leaf('mta-sts.sts-expired.example.com', {
      notBefore: new Date(2023, 0, 1),
      notAfter: new Date(2024, 0, 1),
    }),
    respond: text(policy('enforce', ['mx1.sts-expired.example.com'])),
  },
  'mta-sts.sts-wrongname.example.com': {
    cert: leaf('www.sts-wrongname.example.com'),
    respond: text(policy('enforce', ['mx1.sts-wrongname.example.com'])),
  },
  'mta-sts.sts-untrusted.example.com': {
    cert: issueLeaf(rogueCa, { commonName: 'mta-sts.sts-untrusted.example.com' }),
    respond: text(policy('enforce', ['mx1.sts-untrusted.example.com'])),
  },
  'mta-sts.sts-mismatch.example.com': {
    cert: leaf('mta-sts.sts-mismatch.example.com'),
    respond: text(policy('enforce', ['mail.old-provider.example.net', '*.sts-mismatch.example.com'])),
  },
  'mta-sts.sts-testing.example.com': {
    cert: leaf('mta-sts.sts-testing.example.com'),
    respond: text(policy('testing', ['mx1.sts-testing.example.com'], 86400, '\n')),
  },
  'mta-sts.sts-slow.example.com': { cert: leaf('mta-sts.sts-slow.example.com'), respond: () => {} },
  'mta-sts.sts-missing.example.com': {
    cert: leaf('mta-sts.sts-missing.example.com'),
    respond: (_q, res) => res.writeHead(404, { 'Content-Type': 'text/html' }).end('<h1>Not Found</h1>'),
  },
  'mta-sts.sts-badpolicy.example.com': {
    cert: leaf('mta-sts.sts-badpolicy.example.com'),
    respond: text(
      'version: STSv1\r\nmode: enforced\r\nmx: mx1.sts-badpolicy.example.com\r\nmax_age: 86400\r\n',
    ),
  },
};

const zones: Zones = {
  '_smtp._tls.sts-good.example.com': {
    TXT: ['v=TLSRPTv1; rua=mailto:tls@sts-good.example.com,https://reports.example.net/tlsrpt'],
  },
  '_smtp._tls.sts-testing.example.com': { TXT: ['v=TLSRPTv1; rua=tls@sts-testing.example.com'] },
  'sts-good.example.com': { MX: ['10 mx1.sts-good.example.com', '20 mx2.backup.sts-good.example.com'] },
  'mx2.backup.sts-good.example.com': { A: ['93.184.216.81'] },
  '_dmarc.sts-good.example.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@sts-good.example.com'] },
  'default._bimi.sts-good.example.com': {
    TXT: ['v=BIMI1; l=https://sts-good.example.com/logo.svg; a=https://sts-good.example.com/vmc.pem'],
  },
  '_dmarc.sts-testing.example.com': { TXT: ['v=DMARC1; p=none'] },
  'default._bimi.sts-testing.example.com': { TXT: ['v=BIMI1; l=https://sts-testing.example.com/logo.svg'] },
  '_mta-sts.sts-twotxt.example.com': { TXT: ['v=STSv1; id=1', 'v=STSv1; id=2'] },
  '_mta-sts.sts-badtxt.example.com': { TXT: ['v=STSv1; id=2025-01-01'] },
};
for (const d of domains) {
  const domain = `sts-${d}.example.com`;
  zones[`_mta-sts.${domain}`] ??= { TXT: [`v=STSv1; id=20250101${d}`] };
  zones[`mta-sts.${domain}`] = { A: ['127.0.0.1'] };
  zones[domain] ??= { MX: [`10 mx1.${domain}`] };
  zones[`mx1.${domain}`] = { A: ['93.184.216.80'] };
}
zones['sts-mismatch.example.com'] = {
  MX: ['10 mx1.sts-mismatch.example.com', '20 mx.new-provider.example.net'],
};
zones['mx.new-provider.example.net'] = { A: ['93.184.216.82'] };
zones['sts-none.example.com'] = { MX: ['10 mx1.sts-good.example.com'] };

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

describe('MTA-STS, TLS-RPT and BIMI', () => {
  let dns: FixtureDns;
  let https: PolicyServer;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dns = await startFixtureDns({ zones });
    https = await new PolicyServer(sites, leaf('fallback.invalid')).start();
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-sts-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    env = {
      MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
      MXDOCTOR_HTTPS_PORT: String(https.port),
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_HTTPS_TIMEOUT: '1500ms',
    };
  });
  after(async () => {
    await https.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (domain: string, extra: Check[] = [], smtp = false, envOverride: Record<string, string> = {}) =>
    runChecksAgainst(dns, domain, [mxCheck, ...extra, mtaStsCheck], { smtp }, { ...env, ...envOverride });

  it('passes a good enforce policy fetched over HTTPS with SNI and checks every MX against it', async () => {
    const smtp = fakeSmtp([
      observation('mx1.sts-good.example.com', '93.184.216.80', [leaf('mx1.sts-good.example.com'), ca]),
      observation('mx2.backup.sts-good.example.com', '93.184.216.81', [
        leaf('mx2.backup.sts-good.example.com'),
        ca,
      ]),
    ]);
    const report = await run('sts-good.example.com', [smtp], true);
    assert.deepEqual(statuses(report, 'mta_sts.'), [
      'mta_sts.mx_match:pass',
      'mta_sts.policy:pass@mta-sts.sts-good.example.com',
      'mta_sts.record:pass@_mta-sts.sts-good.example.com',
      'mta_sts.tls:pass@93.184.216.80',
      'mta_sts.tls:pass@93.184.216.81',
    ]);
    const data = report.data.mta_sts as MtaStsData;
    assert.equal(data.policy?.mode, 'enforce');
    assert.equal(data.policy?.lineEndings, 'crlf');
    const request = https.requests.find((r) => r.host === 'mta-sts.sts-good.example.com')!;
    assert.equal(request.path, '/.well-known/mta-sts.txt');
    assert.equal(request.servername, 'mta-sts.sts-good.example.com');
  });

  it('fails MX hosts that do not offer STARTTLS or present an untrusted certificate in enforce mode', async () => {
    const smtp = fakeSmtp([
      observation('mx1.sts-good.example.com', '93.184.216.80', [], {
        starttls: 'not_offered',
        handshake: 'not_attempted',
      }),
      observation(
        'mx2.backup.sts-good.example.com',
        '93.184.216.81',
        [issueLeaf(rogueCa, { commonName: 'localhost' })],
        {
          trusted: false,
          trustError: 'self-signed certificate in certificate chain',
          hostnameMatches: false,
        },
      ),
    ]);
    const report = await run('sts-good.example.com', [smtp], true);
    assert.deepEqual(statuses(report, 'mta_sts.tls'), [
      'mta_sts.tls:fail@93.184.216.80',
      'mta_sts.tls:fail@93.184.216.81',
    ]);
    assert.match(
      finding(report, 'mta_sts.tls', 'fail').summary,
      /mx1\.sts-good\.example\.com \[93\.184\.216\.80\] does not offer STARTTLS\. Senders that honour the enforce policy will not deliver/,
    );
  });

  it('reports the TLS cross-check as not tested without SMTP data', async () => {
    const off = await run('sts-good.example.com');
    assert.deepEqual(statuses(off, 'mta_sts.tls'), [
      'mta_sts.tls:info@93.184.216.80',
      'mta_sts.tls:info@93.184.216.81',
    ]);
    const notRun = await run('sts-good.example.com', [], true);
    assert.equal(finding(notRun, 'mta_sts.tls').status, 'error');
  });

  const failing: [string, RegExp][] = [
    [
      'redirect',
      /HTTP 301 redirect to https:\/\/www\.sts-redirect\.example\.com\/mta-sts\.txt; senders must not follow redirects/,
    ],
    ['ctype', /Content-Type is "text\/html"/],
    ['big', /more than 64 KiB/],
    ['expired', /certificate is not trusted: it has expired \(CERT_HAS_EXPIRED\)/],
    [
      'wrongname',
      /not valid for mta-sts\.sts-wrongname\.example\.com: .*DNS:www\.sts-wrongname\.example\.com/,
    ],
    ['untrusted', /not trusted/],
    ['missing', /HTTP 404/],
    ['badpolicy', /mode: enforced is not enforce, testing or none/],
  ];
  for (const [d, why] of failing) {
    it(`fails the policy of sts-${d}.example.com with the exact reason`, async () => {
      const report = await run(`sts-${d}.example.com`);
      const f = finding(report, 'mta_sts.policy', 'fail');
      assert.match(f.summary, why);
      assert.ok(f.remedy);
      assert.ok(!report.checks.some((x) => x.id === 'mta_sts.mx_match'), 'no MX check without a policy');
    });
  }

  it('fails an MX that matches no pattern, naming it', async () => {
    const report = await run('sts-mismatch.example.com');
    assert.deepEqual(statuses(report, 'mta_sts.mx_match'), [
      'mta_sts.mx_match:fail@mx.new-provider.example.net',
    ]);
    assert.match(finding(report, 'mta_sts.mx_match').remedy!, /mx: mx\.new-provider\.example\.net/);
  });

  it('reports testing mode as info and LF line endings / a one-day max_age without failing', async () => {
    const report = await run('sts-testing.example.com');
    const f = finding(report, 'mta_sts.policy');
    assert.equal(f.status, 'info');
    assert.equal((report.data.mta_sts as MtaStsData).policy?.lineEndings, 'lf');
    assert.match(f.summary, /lines end in LF/);
  });

  it('times out a policy host that never answers, as error, within the deadline', async () => {
    const t0 = Date.now();
    const report = await run('sts-slow.example.com', [], false, { MXDOCTOR_HTTPS_TIMEOUT: '400ms' });
    assert.equal(finding(report, 'mta_sts.policy').status, 'error');
    assert.match(finding(report, 'mta_sts.policy').summary, /within 400 ms/);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('refuses to connect to a loopback policy host unless private addresses are allowed', async () => {
    const before = https.requests.length;
    const report = await run('sts-good.example.com', [], false, { MXDOCTOR_ALLOW_PRIVATE: '0' });
    assert.match(finding(report, 'mta_sts.policy', 'error').summary, /loopback/);
    assert.equal(https.requests.length, before, 'no request was sent');
  });

  it('fails duplicate and invalid TXT records; no record is info', async () => {
    assert.match(
      finding(await run('sts-twotxt.example.com'), 'mta_sts.record', 'fail').summary,
      /2 "v=STSv1" records/,
    );
    assert.match(
      finding(await run('sts-badtxt.example.com'), 'mta_sts.record', 'fail').summary,
      /id=2025-01-01 must be 1 to 32 letters and digits/,
    );
    assert.deepEqual(statuses(await run('sts-none.example.com'), 'mta_sts.'), [
      'mta_sts.record:info@_mta-sts.sts-none.example.com',
    ]);
  });

  it('checks TLS-RPT and BIMI records', async () => {
    const good = await runChecksAgainst(dns, 'sts-good.example.com', [dmarcCheck, tlsRptCheck, bimiCheck]);
    assert.equal(finding(good, 'tls_rpt.record').status, 'pass');
    assert.equal(finding(good, 'bimi.record').status, 'pass');
    const testing = await runChecksAgainst(dns, 'sts-testing.example.com', [
      dmarcCheck,
      tlsRptCheck,
      bimiCheck,
    ]);
    assert.match(
      finding(testing, 'tls_rpt.record', 'fail').summary,
      /"tls@sts-testing\.example\.com" must be a mailto: address or an https: URL/,
    );
    assert.match(
      finding(testing, 'bimi.record', 'fail').summary,
      /p=none.*BIMI requires DMARC at enforcement/,
    );
    const none = await runChecksAgainst(dns, 'sts-none.example.com', [tlsRptCheck, bimiCheck]);
    assert.equal(finding(none, 'tls_rpt.record').status, 'info');
    assert.equal(finding(none, 'bimi.record').status, 'info');
  });
});
