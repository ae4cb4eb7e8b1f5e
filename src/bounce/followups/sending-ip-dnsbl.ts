import { dnsblLookup, isListable, knownList, selfTestZones } from '../../dnsbl/lookup.js';
import type { BlocklistResult } from '../../dnsbl/lookup.js';
import { classifyAddress } from '../../net/address-guard.js';
import { list, plural, quote, sendingIpOf, sendingIpWhy } from './common.js';
import { followupBase } from './types.js';
import type { FollowupDefinition } from './types.js';

/**
 * blocked, bad_reputation, require_ptr: is the sending IP on a blocklist? The IP (the one
 * the refusal names, else the Received chain's sending hop) is looked up on the configured
 * IP blocklists (MXDOCTOR_DNSBLS, --dnsbl) plus any well-known list the refusal itself
 * names, with the RFC 5782 §5 self-test that catches lists answering everything.
 */

/** Well-known IP lists a refusal may name by brand, and the zone to ask. */
const NAMED_LISTS: readonly { re: RegExp; zone: string }[] = [
  { re: /spamhaus/i, zone: 'zen.spamhaus.org' },
  { re: /spamcop/i, zone: 'bl.spamcop.net' },
  { re: /barracuda/i, zone: 'b.barracudacentral.org' },
  { re: /\bpsbl\b|surriel/i, zone: 'psbl.surriel.com' },
  { re: /mailspike/i, zone: 'bl.mailspike.net' },
  { re: /nix ?spam|manitu/i, zone: 'ix.dnsbl.manitu.net' },
];

/** Zones of known IP lists that a diagnostic names (by zone or brand). */
export function listsNamedIn(diagnostic: string): string[] {
  const out = new Set<string>();
  for (const { re, zone } of NAMED_LISTS)
    if (re.test(diagnostic) && knownList(zone)?.kind === 'ip') out.add(zone);
  return [...out];
}

export const sendingIpDnsblFollowup: FollowupDefinition = {
  id: 'sending_ip_dnsbl',
  reasons: ['blocked', 'bad_reputation', 'require_ptr'],
  description:
    'the sending IP (the refusal’s, else the Received chain’s) on the IP blocklists (`dnsblLookup`: `MXDOCTOR_DNSBLS` / `--dnsbl`, plus a well-known list the refusal names), with the RFC 5782 self-test',
  title: (target) => (target ? `Blocklists for ${target.value}` : 'Blocklists for the sending IP'),
  targets: (record, diagnosis, { allowPrivate }) => {
    const ip = sendingIpOf(record, diagnosis, allowPrivate);
    if (!ip.ok)
      return [{ ok: false, why: sendingIpWhy(ip, (kind) => `blocklists do not list ${kind} addresses`) }];
    const named = listsNamedIn(record.diagnostic);
    return [
      { ok: true, target: { value: ip.ip, ...(named.length ? { params: { named: named.join(',') } } : {}) } },
    ];
  },
  run: async (target, deps) => {
    const ip = target.value;
    const base = followupBase(sendingIpDnsblFollowup, target);
    if (!isListable(ip, deps.config.net.allowPrivate)) {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: ${ip} is a ${classifyAddress(ip).description}, not a public address; no blocklist covers it.`,
        details: { category: classifyAddress(ip).category },
      };
    }
    const named = (target.params?.named ?? '').split(',').filter(Boolean);
    const zones = [...new Set([...deps.config.dnsbl.zones, ...named])].filter(
      (z) => knownList(z)?.kind !== 'domain',
    );
    if (zones.length === 0) {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: 'could not test: no IP blocklists are configured (MXDOCTOR_DNSBLS is empty).',
        details: { zones },
      };
    }
    const brokenZones = await selfTestZones(deps.dns, zones, { signal: deps.signal });
    const results = await dnsblLookup(deps.dns, ip, zones, { signal: deps.signal, brokenZones });
    const details = {
      zones,
      namedInRefusal: named,
      results: results.map((r) => ({
        zone: r.zone,
        list: r.list,
        status: r.status,
        codes: r.codes,
        ...(r.meaning ? { meaning: r.meaning } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(r.removal ? { removal: r.removal } : {}),
      })),
    };
    const listed = results.filter((r) => r.status === 'listed');
    const asked = results.filter((r) => r.status !== 'unsupported');
    const failed = asked.filter((r) => r.status === 'error');
    if (listed.length > 0) {
      const removal = listed.find((r) => r.removal)?.removal;
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${ip} is listed on ${list(listed.map(describeListing), 3)}.${removal ? ` Delisting: ${removal}` : ''}`,
        details,
      };
    }
    if (asked.length === 0 || failed.length === asked.length) {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: ${asked.length === 0 ? `none of the configured blocklists covers ${ip}` : `every blocklist query failed (${quote(failed[0]!.error ?? 'error', 120)})`}. Some lists refuse queries from public resolvers: use your own resolver.`,
        details,
      };
    }
    const clean = asked.filter((r) => r.status === 'not_listed');
    return {
      ...base,
      verdict: 'not_confirmed',
      summary: `not confirmed: ${ip} is not listed on any of the ${plural(clean.length, 'blocklist')} asked (${list(
        clean.map((r) => r.zone),
        4,
      )})${failed.length ? `; ${plural(failed.length, 'list')} could not be asked` : ''}. The receiver may use its own or a commercial list, or the listing has expired.`,
      details,
    };
  },
};

function describeListing(r: BlocklistResult): string {
  const why = [r.codes.join(', '), r.meaning].filter(Boolean).join(': ');
  return `${r.zone}${why ? ` (${quote(why, 100)})` : ''}`;
}
