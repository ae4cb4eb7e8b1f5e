import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { classifyAddress, connectAllowed } from '../net/address-guard.js';
import { expandIpv6 } from '../spf/record.js';
import type { QueryOptions, Resolver } from '../dns/types.js';

/**
 * DNS blocklist lookups (RFC 5782): an IP address reversed (IPv4 octets, IPv6 nibbles) under
 * each list's zone, a domain under a domain list's zone. What the list means by each return
 * code — including the codes that mean "query refused / rate limited / open resolver", which
 * are errors, never listings — comes from the table below. Library functions: the check and
 * bounce diagnosis call them with any resolver that has DnsClient's `query`.
 */

export interface KnownList {
  zone: string;
  name: string;
  kind: 'ip' | 'domain';
  /** Whether the list answers IPv6 queries. */
  ipv6: boolean;
  /** Return codes that are not listings but refusals/errors, with their meaning. */
  errorCodes: Record<string, string>;
  /** Meaning of listing codes, when the list documents them. */
  listedCodes?: Record<string, string>;
  /** Where to ask for removal. */
  removal?: string;
}

const SPAMHAUS_ERRORS: Record<string, string> = {
  '127.255.255.252': 'typing error in the blocklist name (Spamhaus)',
  '127.255.255.254': 'query via a public or open resolver: Spamhaus refuses these; use your own resolver',
  '127.255.255.255': 'excessive number of queries: Spamhaus rate-limits this resolver',
};

export const KNOWN_LISTS: KnownList[] = [
  {
    zone: 'zen.spamhaus.org',
    name: 'Spamhaus ZEN',
    kind: 'ip',
    ipv6: true,
    errorCodes: SPAMHAUS_ERRORS,
    listedCodes: {
      '127.0.0.2': 'SBL: known spam source or spam operation',
      '127.0.0.3': 'SBL CSS: snowshoe spam source',
      '127.0.0.4': 'XBL: compromised host (exploits, malware)',
      '127.0.0.9': 'DROP: hijacked or criminal network',
      '127.0.0.10': 'PBL (ISP): end-user address that should not send mail directly',
      '127.0.0.11': 'PBL (Spamhaus): end-user address that should not send mail directly',
    },
    removal: 'https://check.spamhaus.org/',
  },
  {
    zone: 'dbl.spamhaus.org',
    name: 'Spamhaus DBL',
    kind: 'domain',
    ipv6: false,
    errorCodes: { ...SPAMHAUS_ERRORS, '127.0.1.255': 'IP queries are prohibited on the DBL' },
    listedCodes: {
      '127.0.1.2': 'spam domain',
      '127.0.1.4': 'phishing domain',
      '127.0.1.5': 'malware domain',
      '127.0.1.6': 'botnet command-and-control domain',
      '127.0.1.102': 'abused legitimate domain used in spam',
      '127.0.1.103': 'abused legitimate spammed redirector',
      '127.0.1.104': 'abused legitimate domain used in phishing',
      '127.0.1.105': 'abused legitimate domain used for malware',
      '127.0.1.106': 'abused legitimate domain used for botnet C&C',
    },
    removal: 'https://check.spamhaus.org/',
  },
  {
    zone: 'bl.spamcop.net',
    name: 'SpamCop',
    kind: 'ip',
    ipv6: false,
    errorCodes: {},
    removal: 'https://www.spamcop.net/bl.shtml (entries expire 24 hours after the last report)',
  },
  {
    zone: 'b.barracudacentral.org',
    name: 'Barracuda Reputation Block List',
    kind: 'ip',
    ipv6: false,
    errorCodes: {},
    removal: 'https://www.barracudacentral.org/rbl/removal-request',
  },
  {
    zone: 'psbl.surriel.com',
    name: 'Passive Spam Block List',
    kind: 'ip',
    ipv6: false,
    errorCodes: {},
    removal: 'https://psbl.org/',
  },
  {
    zone: 'bl.mailspike.net',
    name: 'Mailspike',
    kind: 'ip',
    ipv6: true,
    errorCodes: {},
    removal: 'https://mailspike.org/',
  },
  {
    zone: 'ix.dnsbl.manitu.net',
    name: 'NiX Spam',
    kind: 'ip',
    ipv6: false,
    errorCodes: {},
    removal: 'https://www.nixspam.net/',
  },
  {
    zone: 'multi.surbl.org',
    name: 'SURBL',
    kind: 'domain',
    ipv6: false,
    errorCodes: {
      '127.0.0.1': 'access blocked: SURBL refuses queries from this resolver (public resolver or volume)',
    },
    removal: 'https://surbl.org/surbl-analysis',
  },
  {
    zone: 'multi.uribl.com',
    name: 'URIBL',
    kind: 'domain',
    ipv6: false,
    errorCodes: { '127.0.0.1': 'query refused: URIBL blocks this resolver (public resolver or volume)' },
    removal: 'https://admin.uribl.com/',
  },
];

export function knownList(zone: string): KnownList | undefined {
  return KNOWN_LISTS.find((l) => l.zone === zone);
}

/** The DNSBL query name of an address under `zone` (RFC 5782 §2.1, §2.4). */
export function dnsblQueryName(address: string, zone: string): string {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.${zone}`;
  return `${expandIpv6(address).replace(/:/g, '').split('').reverse().join('.')}.${zone}`;
}

export const BlocklistResultSchema = z.object({
  zone: z.string(),
  list: z.string().describe('Name of the list, or its zone when unknown'),
  query: z.string(),
  status: z
    .enum(['listed', 'not_listed', 'error', 'unsupported'])
    .describe(
      'error: the list refused, rate-limited or could not be asked (not a listing); unsupported: the list does not cover this address family',
    ),
  codes: z.array(z.string()).describe('A records returned (127.0.0.x)'),
  meaning: z.string().optional().describe('What the return code means, per the list'),
  reason: z.string().optional().describe("The list's TXT explanation"),
  error: z.string().optional(),
  removal: z.string().optional(),
});
export type BlocklistResult = z.infer<typeof BlocklistResultSchema>;

function interpret(
  list: KnownList | undefined,
  zone: string,
  codes: string[],
): { status: BlocklistResult['status']; meaning?: string; error?: string } {
  const errors = codes.map(
    (c) =>
      list?.errorCodes[c] ??
      (c.startsWith('127.255.255.') ? `return code ${c}: query refused or rate-limited` : undefined),
  );
  const firstError = errors.find((e) => e !== undefined);
  if (firstError) return { status: 'error', error: firstError };
  const outside = codes.find((c) => !c.startsWith('127.'));
  if (outside) {
    // RFC 5782 §2.1: listings are in 127.0.0.0/8. Anything else is a resolver rewriting
    // NXDOMAIN (ads, captive portals) or a list that has been abandoned.
    return {
      status: 'error',
      error: `${zone} answered ${outside}, outside 127.0.0.0/8: the resolver rewrites answers or the list is defunct`,
    };
  }
  const meanings = codes.map((c) => list?.listedCodes?.[c]).filter((m): m is string => m !== undefined);
  return { status: 'listed', ...(meanings.length ? { meaning: meanings.join('; ') } : {}) };
}

async function lookupOne(
  resolver: Resolver,
  name: string,
  zone: string,
  query: QueryOptions,
): Promise<BlocklistResult> {
  const list = knownList(zone);
  const base: BlocklistResult = {
    zone,
    list: list?.name ?? zone,
    query: name,
    status: 'not_listed',
    codes: [],
  };
  if (list?.removal) base.removal = list.removal;
  const a = await resolver.query(name, 'A', query);
  if (a.rcode === 'NXDOMAIN' || (a.rcode === 'NOERROR' && a.records.length === 0)) return base;
  if (a.rcode !== 'NOERROR') {
    return { ...base, status: 'error', error: `${a.rcode} from the resolver` };
  }
  const codes = a.records.map((r) => r.address);
  const verdict = interpret(list, zone, codes);
  const result: BlocklistResult = { ...base, codes, status: verdict.status };
  if (verdict.meaning) result.meaning = verdict.meaning;
  if (verdict.error) result.error = verdict.error;
  if (verdict.status === 'listed') {
    const txt = await resolver.query(name, 'TXT', query);
    const reason = txt.records.map((r) => r.text).join(' | ');
    if (reason) result.reason = reason.slice(0, 500);
  }
  return result;
}

/**
 * Looks an IP address up in each zone. Lists that do not cover the address's family are
 * "unsupported"; private and reserved addresses are not looked up (no list covers them).
 * `selfTest` maps zones whose RFC 5782 §5 test entry (127.0.0.1, never listed) came back
 * listed: such a list answers everything, so its answers are errors.
 */
export async function dnsblLookup(
  resolver: Resolver,
  address: string,
  zones: string[],
  options: { signal?: AbortSignal; brokenZones?: Map<string, string>; once?: boolean } = {},
): Promise<BlocklistResult[]> {
  const v6 = !isIPv4(address);
  const query = queryOptions(options);
  return Promise.all(
    zones.map(async (zone) => {
      const list = knownList(zone);
      const name = dnsblQueryName(address, zone);
      if (v6 && list && !list.ipv6) {
        return { zone, list: list.name, query: name, status: 'unsupported' as const, codes: [] };
      }
      const broken = options.brokenZones?.get(zone);
      if (broken)
        return {
          zone,
          list: list?.name ?? zone,
          query: name,
          status: 'error' as const,
          codes: [],
          error: broken,
        };
      return lookupOne(resolver, name, zone, query);
    }),
  );
}

/** RFC 5782 §5: 127.0.0.1 must never be listed; a list that lists it answers everything. */
export async function selfTestZones(
  resolver: Resolver,
  zones: string[],
  options: { signal?: AbortSignal; once?: boolean } = {},
): Promise<Map<string, string>> {
  const broken = new Map<string, string>();
  const query = queryOptions(options);
  await Promise.all(
    zones.map(async (zone) => {
      if (knownList(zone)?.kind === 'domain') return;
      const a = await resolver.query(dnsblQueryName('127.0.0.1', zone), 'A', query);
      if (a.rcode === 'NOERROR' && a.records.length > 0) {
        const code = a.records[0]!.address;
        const known = knownList(zone)?.errorCodes[code];
        broken.set(
          zone,
          known ??
            `${zone} lists its never-listed test address 127.0.0.1 (answer ${code}): it answers every query, so it is defunct or blocks this resolver`,
        );
      }
    }),
  );
  return broken;
}

/** Looks the domain up in domain blocklists (DBL/URIBL style: <domain>.<zone>). */
export async function domainBlocklistLookup(
  resolver: Resolver,
  domain: string,
  zones: string[],
  options: { signal?: AbortSignal; once?: boolean } = {},
): Promise<BlocklistResult[]> {
  const query = queryOptions(options);
  return Promise.all(zones.map((zone) => lookupOne(resolver, `${domain}.${zone}`, zone, query)));
}

/**
 * The query options of the lookups: `once` when the caller (a domain check) asks each of
 * these questions once in its resolver's life, so its cache need not keep the answers.
 */
function queryOptions(options: { signal?: AbortSignal; once?: boolean }): QueryOptions {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.once ? { once: true } : {}),
  };
}

/**
 * Whether to ask blocklists about this address: public unicast only, unless private and
 * loopback addresses are real targets (MXDOCTOR_ALLOW_PRIVATE: a private network, a test bed,
 * a list that covers them) — then any address a host can have.
 */
export function isListable(address: string, allowPrivate = false): boolean {
  if (allowPrivate) return connectAllowed(address, true).ok;
  return classifyAddress(address).category === 'public';
}
