import type { CaaRecord, Resolver } from '../dns/types.js';

/**
 * The relevant CAA RRset of a host name (RFC 8659 §3): ask the name itself, then each parent
 * in turn, and stop at the first non-empty CAA RRset. An answer that is neither data nor a
 * definite "none" (SERVFAIL, timeout) stops the climb: a CA would not issue either.
 */
export interface CaaLookup {
  /** The host name the climb started from. */
  host: string;
  /** Names asked, in order. */
  asked: string[];
  /** Where the relevant RRset was found. */
  foundAt?: string;
  /** rcode of the last answer. */
  rcode: string;
  records: { flags: number; tag: string; value: string }[];
  error?: string;
}

export async function relevantCaa(dns: Resolver, host: string, signal: AbortSignal): Promise<CaaLookup> {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  const out: CaaLookup = { host, asked: [], rcode: 'NOERROR', records: [] };
  for (let i = 0; i < labels.length; i++) {
    const name = labels.slice(i).join('.');
    out.asked.push(name);
    const answer = await dns.query(name, 'CAA', { signal });
    out.rcode = answer.rcode;
    if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') {
      out.error = `the CAA query for ${name} returned ${answer.rcode}${answer.error ? ` (${answer.error})` : ''}`;
      return out;
    }
    const records = answer.records.filter((r): r is CaaRecord => r.type === 'CAA');
    if (records.length > 0) {
      out.foundAt = name;
      out.records = records.map(({ flags, tag, value }) => ({ flags, tag, value }));
      return out;
    }
  }
  return out;
}
