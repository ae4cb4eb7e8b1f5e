import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMxdoctor, ROOT } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { createCa, issueLeaf } from '../support/forge-certs.js';
import { PolicyServer } from '../support/https-policy-server.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';

/**
 * The whole JSON report of one richly configured domain, pinned byte for byte against
 * test/fixtures/golden/report.golden — minus what changes from run to run (timings,
 * timestamps, the fixture's random port, certificate serials, keys and dates). It guards
 * moves of code that must not change behaviour: a refactor that changes a finding, a
 * sentence, the order of checks or a transcript line fails here. After an intended change,
 * regenerate with UPDATE_GOLDEN=1 and review the diff.
 *
 * The domain has everything a check looks at: one MX with STARTTLS and a certificate from
 * a test CA, DANE (TLSA 3 1 1), MTA-STS in enforce mode with its policy on HTTPS, TLS-RPT,
 * SPF, DMARC, a DKIM selector, BIMI, a PTR, a DNSBL that does not list it, and two
 * addresses to verify (one that exists, one that does not).
 */
const GOLDEN = join(ROOT, 'test', 'fixtures', 'golden', 'report.golden');

const ca = createCa('mxdoctor golden test CA');
const mxLeaf = issueLeaf(ca, { commonName: 'mx.golden.example.com', dnsNames: ['mx.golden.example.com'] });
const stsLeaf = issueLeaf(ca, {
  commonName: 'mta-sts.golden.example.com',
  dnsNames: ['mta-sts.golden.example.com'],
});
const spki = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'der' })
  .toString('base64');

/** Replaces what differs between runs by placeholders, leaving everything else as it was. */
export function stabilise(text: string, volatile: Record<string, string>): string {
  let out = text;
  for (const [value, name] of Object.entries(volatile)) out = out.split(value).join(`<${name}>`);
  return (
    out
      // ISO timestamps and dates
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
      .replace(/\b\d{4}-\d\d-\d\d\b/g, '<date>')
      // durations and elapsed times, as JSON numbers and in sentences
      .replace(/"(\w*(?:[mM]s|At|Seconds|elapsed|duration|took|startedAt|age|ttl))": -?[\d.]+/g, '"$1": 0')
      .replace(/\b\d+(?:\.\d+)? ?ms\b/g, '<n> ms')
      .replace(/\b\d+ days?\b/g, '<n> days')
      // long hex and base64 runs (serials, fingerprints, keys, session ids)
      .replace(/\bmxdoctor-[0-9a-f]{12}@/g, 'mxdoctor-<random>@')
      .replace(/\b[0-9a-fA-F]{16,}/g, '<hex>')
      .replace(/\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){15,}\b/g, '<hex>')
      .replace(/[A-Za-z0-9+/]{60,}={0,2}/g, '<base64>')
  );
}

/**
 * The report without what the end of a session records when it has time to (no session waits
 * for the 221 to its QUIT (issue 14 §3), so the reply, the "connection closed" note after it,
 * `quit` and the outcome of the timeline's quit phase are in the report only when the reply
 * came before the report was assembled — a race the golden report does not pin. Everything
 * else, QUIT itself and the replies of a pipelined group that it ends included, stays), and
 * with the DNS log and the timeline's concurrent queries and fetches in a fixed order.
 */
export function withoutQuitReplies(report: {
  data: { smtp?: { sessions?: Record<string, unknown>[] } };
  dnsLog?: Record<string, unknown>[];
  timeline?: {
    smtp?: { phases: Record<string, unknown>[] }[];
    dns?: Record<string, unknown>[];
    https?: Record<string, unknown>[];
  };
}): unknown {
  for (const s of report.data.smtp?.sessions ?? []) {
    const transcript = s.transcript as { dir: string; line: string }[];
    const quit = transcript.findIndex((l) => l.dir === 'C' && l.line === 'QUIT');
    if (quit < 0) continue;
    s.transcript = transcript.filter(
      (l, i) =>
        i <= quit ||
        !((l.dir === 'S' && l.line.startsWith('221')) || (l.dir === '*' && l.line === 'connection closed')),
    );
    s.quit = '<when the 221 came in time>';
  }
  for (const s of report.timeline?.smtp ?? [])
    for (const p of s.phases) if (p.phase === 'quit') delete p.outcome;
  // The timeline lists queries and fetches by when they started: concurrent ones may swap. So
  // does the DNS log: each check asks its first questions once its code has loaded, one check
  // at a time (src/checks/run.ts), while the answers to the earlier ones' come in.
  const key = (x: Record<string, unknown>): string =>
    JSON.stringify([x.type, x.name, x.transport, x.purpose]);
  report.dnsLog?.sort((a, b) => key(a).localeCompare(key(b)));
  report.timeline?.dns?.sort((a, b) => key(a).localeCompare(key(b)));
  report.timeline?.https?.sort((a, b) => key(a).localeCompare(key(b)));
  return report;
}

/** The first few lines that differ, with their line numbers. */
function firstDifferences(expected: string, actual: string, max = 12): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && lines.length < max; i++) {
    if (a[i] !== b[i]) lines.push(`${i + 1}: - ${a[i] ?? '(none)'}\n${i + 1}: + ${b[i] ?? '(none)'}`);
  }
  return lines.join('\n');
}

describe('report of a fully configured domain, pinned byte for byte', () => {
  let dns: FixtureDns;
  let https: PolicyServer;
  let fake: SmtpFake;
  let dir: string;
  let port: number;

  before(async () => {
    port = await freePort();
    fake = await startSmtpFake({
      host: '127.0.0.71',
      port,
      name: 'mx.golden.example.com',
      domains: ['golden.example.com'],
      users: ['alice'],
      tls: { key: mxLeaf.keyPem, cert: `${mxLeaf.certPem}${ca.certPem}` },
    });
    dns = await startFixtureDns({
      ad: true,
      zones: {
        '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
        'golden.example.com': {
          MX: ['10 mx.golden.example.com'],
          TXT: ['v=spf1 mx -all'],
          SOA: ['ns1.golden.example.com hostmaster.golden.example.com 1 3600 600 86400 300'],
        },
        'mx.golden.example.com': { A: ['127.0.0.71'] },
        '71.0.0.127.in-addr.arpa': { PTR: ['mx.golden.example.com'] },
        [`_${port}._tcp.mx.golden.example.com`]: { TLSA: [`3 1 1 ${spki(mxLeaf.certPem)}`] },
        '_dmarc.golden.example.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@golden.example.com'] },
        's1._domainkey.golden.example.com': {
          TXT: [[`v=DKIM1; k=rsa; p=${dkimKey.slice(0, 200)}`, dkimKey.slice(200)]],
        },
        '_mta-sts.golden.example.com': { TXT: ['v=STSv1; id=20261201'] },
        'mta-sts.golden.example.com': { A: ['127.0.0.1'] },
        '_smtp._tls.golden.example.com': { TXT: ['v=TLSRPTv1; rua=mailto:tls@golden.example.com'] },
        'default._bimi.golden.example.com': { TXT: ['v=BIMI1; l=https://golden.example.com/logo.svg'] },
      },
    });
    const policy = [
      'version: STSv1',
      'mode: enforce',
      'mx: mx.golden.example.com',
      'max_age: 604800',
      '',
    ].join('\r\n');
    https = await new PolicyServer(
      {
        'mta-sts.golden.example.com': {
          cert: stsLeaf,
          respond: (_q: unknown, res: ServerResponse) =>
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end(policy),
        },
      },
      issueLeaf(ca, { commonName: 'fallback.invalid' }),
    ).start();
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-golden-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  });
  after(async () => {
    fake?.assertNoMessageSent();
    await fake?.stop();
    await https?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is the same report, finding for finding and line for line', async () => {
    const r = await runMxdoctor(
      [
        'check',
        'golden.example.com',
        '--json',
        '--resolver',
        dns.address,
        '--dkim-selector',
        's1',
        '--dnsbl',
        'rbl.example.org',
        '--verify',
        'alice@golden.example.com',
        '--verify',
        'nobody@golden.example.com',
      ],
      {
        env: {
          MXDOCTOR_SMTP_PORT: String(port),
          MXDOCTOR_ALLOW_PRIVATE: '1',
          MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
          MXDOCTOR_HTTPS_PORT: String(https.port),
          MXDOCTOR_EHLO_NAME: 'probe.example.org',
          MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
        },
      },
    );
    assert.ok(r.stdout.startsWith('{'), `not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`);
    const pretty = JSON.stringify(withoutQuitReplies(JSON.parse(r.stdout)), null, 2);
    const actual = stabilise(pretty, {
      [dns.address]: 'resolver',
      [String(https.port)]: 'https-port',
      [String(port)]: 'smtp-port',
    });
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, actual + '\n');
      if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`wrote a new golden file ${GOLDEN}; run again`);
      return;
    }
    const expected = readFileSync(GOLDEN, 'utf8').trimEnd();
    if (actual !== expected) {
      const out = join(tmpdir(), 'report-golden.actual.json');
      writeFileSync(out, actual + '\n');
      assert.fail(`the report changed (diff ${GOLDEN} ${out}):\n${firstDifferences(expected, actual)}`);
    }
  });
});
