import { getDomain } from 'tldts';
import { z } from 'zod';
import { isDmarcRecord, parseDmarc } from './record.js';
import type { DmarcRecord } from './record.js';
import type { Resolver } from '../dns/types.js';

/**
 * DMARC policy discovery (RFC 7489 §6.6.3): `_dmarc.<domain>`, falling back to
 * `_dmarc.<organisational domain>` (Public Suffix List through tldts), and the external
 * report authorisation of RFC 7489 §7.1. Library functions: the check and bounce diagnosis
 * use them with any resolver that has DnsClient's `query`.
 */

/** The organisational domain (registrable domain by the Public Suffix List), or the name itself. */
export function organisationalDomain(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

export const DmarcLookupSchema = z.object({
  domain: z.string(),
  organisationalDomain: z.string(),
  /** Where the record that applies was found (the domain, or the organisational domain). */
  policyDomain: z.string().optional(),
  inherited: z.boolean().describe('The policy comes from the organisational domain (sp= applies)'),
  rcode: z.string().describe('Outcome of the TXT lookup at _dmarc.<domain>'),
  orgRcode: z.string().optional().describe('Outcome of the fallback lookup, when one was made'),
  records: z.array(z.string()).describe('Every v=DMARC1 record found where the policy was looked up'),
  misplaced: z
    .array(z.string())
    .describe(
      'TXT records at _dmarc.<domain> that contain v=DMARC1 but do not start with it (ignored by receivers)',
    ),
  parseError: z.string().optional(),
});
export type DmarcLookup = z.infer<typeof DmarcLookupSchema> & { record?: DmarcRecord };

export async function lookupDmarc(
  resolver: Resolver,
  domain: string,
  options: { signal?: AbortSignal } = {},
): Promise<DmarcLookup> {
  const org = organisationalDomain(domain);
  const opts = options.signal ? { signal: options.signal } : {};
  const first = await resolver.query(`_dmarc.${domain}`, 'TXT', opts);
  const result: DmarcLookup = {
    domain,
    organisationalDomain: org,
    inherited: false,
    rcode: first.rcode,
    records: [],
    misplaced: first.records
      .map((r) => r.text)
      .filter((t) => !isDmarcRecord(t) && /(^|;)\s*v\s*=\s*DMARC1\s*(;|$)/i.test(t)),
  };
  if (first.rcode !== 'NOERROR' && first.rcode !== 'NXDOMAIN') return result;
  let records = first.records.map((r) => r.text).filter(isDmarcRecord);
  let at = domain;
  if (records.length === 0 && org !== domain) {
    const second = await resolver.query(`_dmarc.${org}`, 'TXT', opts);
    result.orgRcode = second.rcode;
    if (second.rcode !== 'NOERROR' && second.rcode !== 'NXDOMAIN') return result;
    records = second.records.map((r) => r.text).filter(isDmarcRecord);
    at = org;
    result.inherited = records.length > 0;
  }
  result.records = records;
  if (records.length === 1) {
    result.policyDomain = at;
    const parsed = parseDmarc(records[0]!);
    if (parsed.ok) result.record = parsed.record;
    else result.parseError = parsed.error;
  } else if (records.length > 1) {
    result.policyDomain = at;
  }
  return result;
}

/** Report destinations checked at most. */
export const MAX_DESTINATIONS = 10;

export interface ExternalAuthorisation {
  /** The report address or URL as written. */
  uri: string;
  destination: string;
  /** The name queried: <policy domain>._report._dmarc.<destination>. */
  queried: string;
  status: 'authorised' | 'missing' | 'error' | 'same_organisation';
  rcode?: string;
}

/**
 * RFC 7489 §7.1: a report destination outside the policy domain's organisation must publish
 * "v=DMARC1" at <policy domain>._report._dmarc.<destination domain>, or receivers drop it.
 */
export async function checkExternalReporting(
  resolver: Resolver,
  policyDomain: string,
  uris: { text: string; domain?: string }[],
  options: { signal?: AbortSignal } = {},
): Promise<ExternalAuthorisation[]> {
  const org = organisationalDomain(policyDomain);
  return Promise.all(
    uris
      .filter((u) => u.domain !== undefined)
      // Receivers honour only a couple of destinations; bound the lookups for hostile records.
      .slice(0, MAX_DESTINATIONS)
      .map(async (u): Promise<ExternalAuthorisation> => {
        const destination = u.domain!;
        const queried = `${policyDomain}._report._dmarc.${destination}`;
        if (organisationalDomain(destination) === org) {
          return { uri: u.text, destination, queried, status: 'same_organisation' };
        }
        const answer = await resolver.query(queried, 'TXT', options.signal ? { signal: options.signal } : {});
        if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') {
          return { uri: u.text, destination, queried, status: 'error', rcode: answer.rcode };
        }
        const ok = answer.records.some((r) => isDmarcRecord(r.text));
        return {
          uri: u.text,
          destination,
          queried,
          status: ok ? 'authorised' : 'missing',
          rcode: answer.rcode,
        };
      }),
  );
}
