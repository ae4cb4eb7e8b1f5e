import { isIP } from 'node:net';
import { classifyAddress, v6ToBigInt } from '../net/address-guard.js';
import { describeFailure, isDefinite } from '../dns/types.js';
import type { Followup } from '../bounce/model.js';
import type { DnsClient } from '../dns/client.js';
import type { FollowupDefinition } from './types.js';

/**
 * require_ptr: does the sending IP have reverse DNS, and does its PTR name resolve back to
 * it (forward-confirmed reverse DNS, what receivers such as Gmail (5.7.25) and Comcast ask
 * for)? The IP is the one the refusal names, else the sending hop of the Received chain.
 */

/** The reverse-lookup name of an address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = v6ToBigInt(ip).toString(16).padStart(32, '0');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

/** At most this many PTR names are forward-checked (a hostile zone can list hundreds). */
const MAX_PTR_NAMES = 5;

export const sendingIpPtrFollowup: FollowupDefinition = {
  id: 'sending_ip_ptr',
  reasons: ['require_ptr'],
  title: (target) => (target ? `Reverse DNS of ${target}` : 'Reverse DNS of the sending IP'),
  target: (record, diagnosis) => {
    const ip = record.clientIp ?? diagnosis.original.sendingIp;
    if (!ip) {
      return {
        ok: false,
        why: 'neither the refusal nor the returned headers name the sending IP address; paste the whole bounce with the original message’s headers.',
      };
    }
    return { ok: true, value: ip };
  },
  run: async (ip, deps) => checkPtr(ip, deps.dns, deps.signal),
};

export async function checkPtr(ip: string, dns: DnsClient, signal: AbortSignal): Promise<Followup> {
  const base = { id: 'sending_ip_ptr', title: `Reverse DNS of ${ip}`, target: ip };
  const category = classifyAddress(ip);
  if (category.category !== 'public') {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${ip} is a ${category.description}, not a public address; its reverse DNS means nothing to receivers.`,
      details: { category: category.category },
    };
  }
  const name = reverseName(ip);
  const ptr = await dns.query(name, 'PTR', { signal });
  if (!isDefinite(ptr)) {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${describeFailure(ptr)}.`,
      details: { reverseName: name, rcode: ptr.rcode },
    };
  }
  if (ptr.records.length === 0) {
    return {
      ...base,
      verdict: 'confirmed',
      summary: `confirmed: ${ip} has no PTR record (${name} ${ptr.rcode === 'NXDOMAIN' ? 'does not exist' : 'has no PTR'}).`,
      details: { reverseName: name, rcode: ptr.rcode, ptr: [] },
    };
  }
  const names = [...new Set(ptr.records.map((r) => r.target.toLowerCase().replace(/\.$/, '')))].slice(
    0,
    MAX_PTR_NAMES,
  );
  const checks = await Promise.all(
    names.map(async (host) => {
      const { a, aaaa } = await dns.addresses(host, { signal });
      const addresses = [...a.records, ...aaaa.records].map((r) => r.address);
      const failed = !isDefinite(a) && !isDefinite(aaaa);
      return { host, addresses, matches: addresses.some((x) => sameAddress(x, ip)), failed };
    }),
  );
  const details = {
    reverseName: name,
    ptr: names,
    forward: checks.map(({ host, addresses }) => ({ host, addresses })),
  };
  const good = checks.find((c) => c.matches);
  if (good) {
    return {
      ...base,
      verdict: 'not_confirmed',
      summary: `not confirmed: ${ip} has the PTR name ${good.host}, which resolves back to it (forward-confirmed). If the bounce is recent, the fix may already be in place, or the receiver wants a name that is not generic (no IP digits in it).`,
      details,
    };
  }
  if (checks.every((c) => c.failed)) {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${ip} has the PTR name ${names.join(', ')}, but looking the name up failed.`,
      details,
    };
  }
  return {
    ...base,
    verdict: 'confirmed',
    summary: `confirmed: ${ip} has the PTR name ${names.join(', ')}, but ${names.length === 1 ? 'that name does' : 'none of those names does'} not resolve back to ${ip} (no forward-confirmed reverse DNS).`,
    details,
  };
}

function sameAddress(a: string, b: string): boolean {
  if (isIP(a) === 6 && isIP(b) === 6) return v6ToBigInt(a) === v6ToBigInt(b);
  return a === b;
}
