import { startFixtureDns } from './dns-server.js';
import type { FixtureDns, Zones } from './dns-server.js';
import { freePort, startSmtpFake } from './smtp-fakes.js';
import type { SmtpFake } from './smtp-fakes.js';
import { createTestPki } from './test-ca.js';
import type { TestPki } from './test-ca.js';

/**
 * Many domains behind a few MX hosts, as a hosting company's or ESP's customers are: `domains`
 * fixture domains (d0.bulk.test …) spread round-robin over `mxHosts` loopback MX servers
 * (mx0.bulk.test on 127.0.1.1 …, one port), each a well-behaved MTA with STARTTLS (a test-CA
 * certificate), a user list and the domains it serves; SPF and DMARC published. Every
 * `failEvery`-th domain has no SPF record (a failing finding). Shared by the bulk CLI tests and
 * `npm run bench bulk`.
 */
export interface BulkFixtureOptions {
  domains: number;
  mxHosts: number;
  /** Every n-th domain lacks SPF; 0 = none. @defaultValue 0 */
  failEvery?: number;
  /** Local parts that exist at every domain. @defaultValue ['alice'] */
  users?: string[];
  /** MX hosts (by index) that accept every address. */
  catchAll?: number[];
}

export interface BulkFixture {
  dns: FixtureDns;
  pki: TestPki;
  port: number;
  fakes: SmtpFake[];
  /** The domains, in order. */
  domains: string[];
  /** Address of MX host i. */
  mxAddress(i: number): string;
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export function mxAddress(i: number): string {
  return `127.0.1.${i + 1}`;
}

const SOA = ['ns1.bulk.test hostmaster.bulk.test 2026120301 3600 600 1209600 300'];

export async function startBulkFixture(options: BulkFixtureOptions): Promise<BulkFixture> {
  const pki = createTestPki('mxdoctor bulk test');
  const port = await freePort();
  const domains = Array.from({ length: options.domains }, (_, i) => `d${i}.bulk.test`);
  const zones: Zones = {};
  const served: string[][] = Array.from({ length: options.mxHosts }, () => []);
  domains.forEach((d, i) => {
    const mx = i % options.mxHosts;
    served[mx]!.push(d);
    const fails = options.failEvery && i % options.failEvery === options.failEvery - 1;
    zones[d] = {
      MX: [`10 mx${mx}.bulk.test`],
      SOA,
      ...(fails ? {} : { TXT: ['v=spf1 mx -all'] }),
    };
    zones[`_dmarc.${d}`] = { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${d}`] };
  });
  for (let i = 0; i < options.mxHosts; i++) zones[`mx${i}.bulk.test`] = { A: [mxAddress(i)] };
  const dns = await startFixtureDns({ zones });
  const fakes: SmtpFake[] = [];
  try {
    for (let i = 0; i < options.mxHosts; i++) {
      const name = `mx${i}.bulk.test`;
      const leaf = pki.leaf({ names: [name] });
      fakes.push(
        await startSmtpFake({
          host: mxAddress(i),
          port,
          name,
          tls: { key: leaf.keyPem, cert: leaf.chainPem },
          users: options.users ?? ['alice'],
          domains: served[i]!,
          catchAll: options.catchAll?.includes(i) ?? false,
        }),
      );
    }
  } catch (err) {
    await Promise.all(fakes.map((f) => f.stop()));
    await dns.stop();
    throw err;
  }
  return {
    dns,
    pki,
    port,
    fakes,
    domains,
    mxAddress,
    env: () => ({
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_CA_FILE: pki.rootFile,
      MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
      MXDOCTOR_MAIL_FROM: 'probe@mxdoctor.test',
      MXDOCTOR_SMTP_CONNECT_TIMEOUT: '2s',
      MXDOCTOR_SMTP_BANNER_TIMEOUT: '5s',
      MXDOCTOR_SMTP_COMMAND_TIMEOUT: '5s',
      MXDOCTOR_SMTP_RCPT_TIMEOUT: '5s',
      MXDOCTOR_SMTP_TLS_TIMEOUT: '5s',
      MXDOCTOR_SMTP_SESSION_TIMEOUT: '20s',
      // Fixture domains are under .test: no blocklist, no DNSSEC, no MTA-STS host to fetch.
      MXDOCTOR_DNSBLS: 'off',
      MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
    }),
    stop: async () => {
      await Promise.all(fakes.map((f) => f.stop()));
      await dns.stop();
    },
  };
}
