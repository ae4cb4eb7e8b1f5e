import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { startFixtureDns } from '../../test/support/dns-server.js';
import type { FixtureDns, Zones } from '../../test/support/dns-server.js';
import { createCa, issueLeaf } from '../../test/support/forge-certs.js';
import type { TestCert } from '../../test/support/forge-certs.js';
import { PolicyServer } from '../../test/support/https-policy-server.js';
import type { PolicySite } from '../../test/support/https-policy-server.js';
import { LatencyProxy } from '../../test/support/latency-proxy.js';
import { freePort, scriptedMta, startPlaybook } from '../../test/support/smtp-fakes.js';
import type { FakeBase } from '../../test/support/smtp-fakes.js';

/**
 * The world of bench/latency.bench.ts: two fully configured domains behind a latency proxy
 * (test/support/latency-proxy.ts) on loopback.
 *
 * - one.test: one MX with STARTTLS (a test-CA certificate), DANE (TLSA 3 1 1), MTA-STS in
 *   enforce mode with its policy on HTTPS, TLS-RPT, SPF, DMARC, a DKIM key, BIMI and a PTR;
 * - two.test: the same with two MX hosts.
 *
 * Every name resolves to a proxy address: the DNS resolver, each MX (127.0.0.81, .83, .84,
 * all on one SMTP port, in front of fake MTAs on 127.0.0.71, .73, .74) and the MTA-STS
 * policy host (127.0.0.82, in front of the HTTPS policy server). So every DNS exchange, every
 * SMTP connection and the policy fetch cross the proxy and pay its round-trip time.
 */
export interface LatencyDomain {
  name: string;
  /** The MX hosts, with the proxy address each resolves to. */
  mx: { host: string; address: string }[];
  /** --verify addresses: one that exists, one that does not. */
  verify: string[];
  dkimSelector: string;
}

export interface LatencyWorld {
  proxy: LatencyProxy;
  /** "127.0.0.1:port" of the proxied resolver. */
  resolver: string;
  smtpPort: number;
  httpsPort: number;
  caFile: string;
  domains: LatencyDomain[];
  /** Environment for `mxdoctor check` in this world. */
  env: Record<string, string>;
  fakes: FakeBase[];
  stop(): Promise<void>;
}

const PROXY = { one: '127.0.0.81', policy: '127.0.0.82', twoA: '127.0.0.83', twoB: '127.0.0.84' };
const FAKE = { one: '127.0.0.71', twoA: '127.0.0.73', twoB: '127.0.0.74' };

const spki = (pem: string): string =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/** RCPT replies of a Postfix-like MX for `domain`: postmaster and alice exist, nobody else; no relaying. */
function recipientReply(line: string, domain: string): string | undefined {
  const m = /^RCPT TO:<([^>]*)>/i.exec(line);
  if (!m) return undefined;
  const to = m[1]!.toLowerCase();
  const at = to.lastIndexOf('@');
  if (to.slice(at + 1) !== domain) return '554 5.7.1 Relay access denied';
  if (['postmaster', 'alice'].includes(to.slice(0, at))) return '250 2.1.5 Ok';
  return `550 5.1.1 <${to}>: Recipient address rejected: User unknown in local recipient table`;
}

function reverse(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

export async function startLatencyWorld(rttMs: number): Promise<LatencyWorld> {
  const ca = createCa('mxdoctor latency bench CA');
  const dir = mkdtempSync(join(tmpdir(), 'mxdoctor-latency-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  const leaf = (name: string): TestCert => issueLeaf(ca, { commonName: name, dnsNames: [name] });
  const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'der' })
    .toString('base64');

  const proxy = new LatencyProxy(rttMs);
  const fakePort = await freePort();
  // The SMTP port the check uses: the proxies', the same on every proxy address.
  let smtpPort = 0;
  for (let attempt = 0; attempt < 20 && !smtpPort; attempt++) {
    const port = await freePort();
    try {
      await proxy.tcp(PROXY.one, port, FAKE.one, fakePort);
      await proxy.tcp(PROXY.twoA, port, FAKE.twoA, fakePort);
      await proxy.tcp(PROXY.twoB, port, FAKE.twoB, fakePort);
      smtpPort = port;
    } catch {
      // taken on one of the addresses: another port
    }
  }
  if (!smtpPort) throw new Error('no common free port for the SMTP proxies');

  const certs = new Map<string, TestCert>();
  const fakes: FakeBase[] = [];
  const domains: LatencyDomain[] = [];
  const zones: Zones = {
    '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
  };
  const sites: Record<string, PolicySite> = {};
  const layouts: [string, [string, string, string][]][] = [
    ['one.test', [['mx.one.test', PROXY.one, FAKE.one]]],
    [
      'two.test',
      [
        ['mx1.two.test', PROXY.twoA, FAKE.twoA],
        ['mx2.two.test', PROXY.twoB, FAKE.twoB],
      ],
    ],
  ];
  for (const [domain, hosts] of layouts) {
    for (const [host, proxied, real] of hosts) {
      const cert = leaf(host);
      certs.set(host, cert);
      // A scripted MTA that answers at once (smtp-server waits 100 ms before its greeting to
      // catch early talkers), with its TLS context built once, as an MTA loads its certificate
      // at start (not at each STARTTLS): the bench times the prober's waits, not the fake's.
      const context = createSecureContext({ key: cert.keyPem, cert: `${cert.certPem}${ca.certPem}` });
      fakes.push(
        await startPlaybook(
          real,
          fakePort,
          scriptedMta({
            name: host,
            greeting: [`220 ${host} ESMTP`],
            extensions: ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'STARTTLS'],
            onStartTls: (conn) => conn.startTls(context),
            reply: (line) => recipientReply(line, domain),
          }),
        ),
      );
      zones[host] = { A: [proxied] };
      zones[reverse(proxied)] = { PTR: [host] };
      zones[`_${smtpPort}._tcp.${host}`] = { TLSA: [`3 1 1 ${spki(cert.certPem)}`] };
    }
    zones[domain] = {
      MX: hosts.map(([host], i) => `${(i + 1) * 10} ${host}`),
      TXT: ['v=spf1 mx -all'],
      SOA: [`ns1.${domain} hostmaster.${domain} 1 3600 600 86400 300`],
    };
    zones[`_dmarc.${domain}`] = { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${domain}`] };
    zones[`s1._domainkey.${domain}`] = {
      TXT: [[`v=DKIM1; k=rsa; p=${dkimKey.slice(0, 200)}`, dkimKey.slice(200)]],
    };
    zones[`_mta-sts.${domain}`] = { TXT: ['v=STSv1; id=20261201'] };
    zones[`mta-sts.${domain}`] = { A: [PROXY.policy] };
    zones[`_smtp._tls.${domain}`] = { TXT: [`v=TLSRPTv1; rua=mailto:tls@${domain}`] };
    zones[`default._bimi.${domain}`] = { TXT: [`v=BIMI1; l=https://${domain}/logo.svg`] };
    const policy = [
      'version: STSv1',
      'mode: enforce',
      ...hosts.map(([h]) => `mx: ${h}`),
      'max_age: 604800',
      '',
    ].join('\r\n');
    sites[`mta-sts.${domain}`] = {
      cert: leaf(`mta-sts.${domain}`),
      respond: (_req: unknown, res: ServerResponse) =>
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(policy),
    };
    domains.push({
      name: domain,
      mx: hosts.map(([host, address]) => ({ host, address })),
      verify: [`alice@${domain}`, `nobody@${domain}`],
      dkimSelector: 's1',
    });
  }

  // Answers from a cache after the warm-up run, as a real resolver's are: the fixture's dns2
  // codec otherwise held the first answers of a check's burst ~10 ms (see answerCache).
  const dns: FixtureDns = await startFixtureDns({ ad: true, zones, answerCache: true });
  const policy = await new PolicyServer(sites, leaf('fallback.invalid')).start();
  const dnsPort = await proxy.dns('127.0.0.1', 0, '127.0.0.1', dns.port);
  const httpsPort = await proxy.tcp(PROXY.policy, 0, '127.0.0.1', policy.port);
  const resolver = `127.0.0.1:${dnsPort}`;
  return {
    proxy,
    resolver,
    smtpPort,
    httpsPort,
    caFile,
    domains,
    fakes,
    env: {
      MXDOCTOR_SMTP_PORT: String(smtpPort),
      MXDOCTOR_HTTPS_PORT: String(httpsPort),
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_CA_FILE: caFile,
      MXDOCTOR_EHLO_NAME: 'probe.example.org',
      MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
      MXDOCTOR_DNSBLS: 'off',
    },
    async stop() {
      await proxy.stop();
      for (const f of fakes) await f.stop();
      await policy.stop();
      await dns.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
