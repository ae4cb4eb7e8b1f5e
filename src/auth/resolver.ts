import type { Resolver } from '../dns/types.js';

/**
 * mailauth's resolver contract, served by the project's resolver: `resolver(name, type)`
 * resolves like `dns.promises.resolve` (TXT: an array of records, each an array of its
 * character-strings), and rejects with ENOTFOUND (NXDOMAIN) or ENODATA (no such record) —
 * which mailauth reads as "no key" — or another code, which it reads as a temporary error.
 * So DKIM and ARC keys are looked up through our DNS client: its resolvers, timeouts, cache
 * and DNS log (and the loopback fixture DNS in tests), never the system's.
 */
export type MailauthResolver = (name: string, type: string) => Promise<unknown>;

class DnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function mailauthResolver(resolver: Resolver, signal?: AbortSignal): MailauthResolver {
  return async (name, type) => {
    const rrtype = type.toUpperCase();
    if (rrtype !== 'TXT' && rrtype !== 'A' && rrtype !== 'AAAA' && rrtype !== 'MX')
      throw new DnsError('ENOTIMP', `${rrtype} lookups are not offered to mailauth`);
    const answer = await resolver.query(name, rrtype, signal ? { signal } : {});
    if (answer.rcode === 'NXDOMAIN') throw new DnsError('ENOTFOUND', `${name}: NXDOMAIN`);
    if (answer.rcode !== 'NOERROR') throw new DnsError('ESERVFAIL', `${name} ${rrtype}: ${answer.rcode}`);
    if (answer.records.length === 0) throw new DnsError('ENODATA', `${name}: no ${rrtype} record`);
    return answer.records.map((r) => {
      switch (r.type) {
        case 'TXT':
          // Our client joins the character-strings; mailauth joins them again.
          return [r.text];
        case 'A':
        case 'AAAA':
          return r.address;
        case 'MX':
          return { exchange: r.exchange, priority: r.preference };
        default:
          return null;
      }
    });
  };
}
