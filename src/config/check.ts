import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { boolean, derived, duration, integer, kind, setting, text } from './declare.js';
import type { Kind } from './declare.js';
import { ConfigError, parseResolverList, parseZoneList, systemResolvers } from './parse.js';

/**
 * Settings of the check engine: DNS, the deadline of a check, how the probe introduces
 * itself, which addresses it may reach, whom it trusts, MTA-STS fetches and blocklists.
 * How to add one: see declare.ts.
 */

function defaultEhloName(): string {
  return hostname().toLowerCase() || 'localhost';
}

/** Public IP blocklists queried by default (each free for low-volume, non-commercial lookups). */
export const DEFAULT_DNSBLS = [
  'zen.spamhaus.org',
  'bl.spamcop.net',
  'b.barracudacentral.org',
  'psbl.surriel.com',
  'bl.mailspike.net',
  'ix.dnsbl.manitu.net',
];

/** Public domain blocklists queried for the checked domain by default. */
export const DEFAULT_DOMAIN_BLOCKLISTS = ['dbl.spamhaus.org', 'multi.surbl.org'];

const zones: Kind<z.ZodArray<z.ZodString>> = kind(parseZoneList, () => z.array(z.string()));

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

/** Read by the defaults of the probe's and the alerts' sender addresses. */
export const ehloName = setting({
  env: 'MXDOCTOR_EHLO_NAME',
  group: 'probe',
  key: 'ehloName',
  description:
    'Name the SMTP probe announces in EHLO. Use a fully qualified name whose A record and PTR match the probing host.',
  defaultText: "this machine's host name",
  default: defaultEhloName,
  value: text(() => z.string().min(1)),
  finish(name) {
    if (!/^[a-z0-9.-]+$/i.test(name)) {
      throw new ConfigError(`MXDOCTOR_EHLO_NAME / --helo ${JSON.stringify(name)} is not a host name`);
    }
    return name;
  },
});

/** DNS, the check deadline, the probe's identity, the address guard and trusted CAs. */
export const CHECK_SETTINGS = [
  setting({
    env: 'MXDOCTOR_RESOLVERS',
    group: 'dns',
    key: 'resolvers',
    description:
      'DNS resolvers to query, comma-separated ip[:port]. Use a validating resolver to get DNSSEC status.',
    defaultText: 'nameservers from /etc/resolv.conf',
    default: () => systemResolvers(),
    value: kind(parseResolverList, () =>
      z.array(z.object({ host: z.string(), port: z.number().int().min(1).max(65535) })).min(1),
    ),
  }),
  /** Where the resolvers came from, for the report ("MXDOCTOR_RESOLVERS", "/etc/resolv.conf", "--resolver"). */
  derived({
    group: 'dns',
    key: 'resolversSource',
    schema: () => z.string(),
    initial: (env) =>
      env.MXDOCTOR_RESOLVERS !== undefined && env.MXDOCTOR_RESOLVERS !== ''
        ? 'MXDOCTOR_RESOLVERS'
        : '/etc/resolv.conf',
  }),
  setting({
    env: 'MXDOCTOR_DNS_TIMEOUT',
    group: 'dns',
    key: 'timeoutMs',
    description: 'Timeout of one DNS query attempt (ms, or with a unit: 3s).',
    defaultText: '3s',
    default: 3000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_DNS_RETRIES',
    group: 'dns',
    key: 'retries',
    description:
      'Further attempts after a DNS query times out, rotating through the resolvers. A resolver that has answered nothing is first asked for the root zone’s NS records; if that goes unanswered too, it is not asked again for the rest of that check or diagnosis.',
    default: 2,
    value: integer(0, 10),
  }),
  setting({
    env: 'MXDOCTOR_DNS_MAX_INFLIGHT',
    group: 'dns',
    key: 'maxInFlight',
    description:
      'Most DNS queries in flight to one resolver from one process; more wait their turn instead of overflowing the resolver and timing out.',
    default: 64,
    value: integer(1, 10000),
  }),
  setting({
    env: 'MXDOCTOR_CHECK_DEADLINE',
    group: 'check',
    key: 'deadlineMs',
    description: 'Overall deadline of one domain check; checks still running then are reported as "error".',
    defaultText: '120s',
    default: 120_000,
    value: duration(100),
  }),
  ehloName,
  setting({
    env: 'MXDOCTOR_MAIL_FROM',
    group: 'probe',
    key: 'mailFrom',
    description: 'Envelope sender (MAIL FROM) the SMTP probe uses for recipient verification.',
    defaultText: 'mxdoctor@<EHLO name>',
    default: '',
    value: text(() => z.string().min(3)),
    finish(from, read) {
      const address = from || `mxdoctor@${read(ehloName)}`;
      if (!ADDRESS.test(address)) {
        throw new ConfigError(
          `MXDOCTOR_MAIL_FROM / --mail-from ${JSON.stringify(address)} is not an address like probe@example.com`,
        );
      }
      return address;
    },
  }),
  setting({
    env: 'MXDOCTOR_ALLOW_PRIVATE',
    group: 'net',
    key: 'allowPrivate',
    description: 'Allow connections to loopback, private, link-local and other non-public addresses.',
    default: false,
    value: boolean(),
  }),
  setting({
    env: 'MXDOCTOR_CA_FILE',
    group: 'tls',
    key: 'caFile',
    description:
      'PEM file of extra certificate authorities to trust when judging certificates (in addition to the system roots and NODE_EXTRA_CA_CERTS).',
    defaultText: 'none',
    default: undefined,
    value: text(() => z.string().optional()),
    finish(caFile) {
      if (!caFile) return caFile;
      try {
        const pem = readFileSync(caFile, 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('it contains no PEM certificate');
      } catch (err) {
        throw new ConfigError(
          `MXDOCTOR_CA_FILE / --ca-file ${JSON.stringify(caFile)} cannot be used: ${(err as Error).message}`,
        );
      }
      return caFile;
    },
  }),
  /** NODE_EXTRA_CA_CERTS, Node's own variable, which Node drops when an explicit `ca` is passed; re-added by tls/trust-store.ts. */
  derived({
    group: 'tls',
    key: 'extraCaCertsFile',
    schema: () => z.string().optional(),
    initial: (env) => env.NODE_EXTRA_CA_CERTS || undefined,
  }),
];

/** HTTPS fetches of MTA-STS policies and the blocklists. */
export const FETCH_AND_BLOCKLIST_SETTINGS = [
  setting({
    env: 'MXDOCTOR_HTTPS_PORT',
    group: 'https',
    key: 'port',
    description:
      'TCP port for HTTPS fetches of MTA-STS policies (443 in the real world; tests point it at a loopback server).',
    default: 443,
    value: integer(1, 65535),
  }),
  setting({
    env: 'MXDOCTOR_HTTPS_TIMEOUT',
    group: 'https',
    key: 'timeoutMs',
    description:
      'Deadline of one HTTPS fetch (MTA-STS policy): connect, TLS handshake and the whole response.',
    defaultText: '10s',
    default: 10_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_BIMI_TRUST_FILE',
    group: 'bimi',
    key: 'markTrustFile',
    description:
      'PEM file of the mark-certificate issuers (VMC/CMC roots) a BIMI evidence document must chain to; without it, bimi.evidence checks everything but the chain.',
    defaultText: 'none',
    default: undefined,
    value: text(() => z.string().optional()),
    finish(file) {
      if (!file) return undefined;
      try {
        const pem = readFileSync(file, 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('it contains no PEM certificate');
      } catch (err) {
        throw new ConfigError(
          `MXDOCTOR_BIMI_TRUST_FILE ${JSON.stringify(file)} cannot be used: ${(err as Error).message}`,
        );
      }
      return file;
    },
  }),
  setting({
    env: 'MXDOCTOR_DNSBLS',
    group: 'dnsbl',
    key: 'zones',
    description:
      'IP blocklist (DNSBL) zones queried for every MX address, comma-separated, or off; --dnsbl overrides. Some lists refuse queries from public resolvers: use your own resolver.',
    defaultText: DEFAULT_DNSBLS.join(', '),
    default: DEFAULT_DNSBLS,
    value: zones,
  }),
  setting({
    env: 'MXDOCTOR_DOMAIN_BLOCKLISTS',
    group: 'dnsbl',
    key: 'domainZones',
    description:
      'Domain blocklist zones (DBL/URIBL style) queried for the checked domain, comma-separated, or off.',
    defaultText: DEFAULT_DOMAIN_BLOCKLISTS.join(', '),
    default: DEFAULT_DOMAIN_BLOCKLISTS,
    value: zones,
  }),
];
