import type { HostArrival } from '../mx/check.js';
import type { MxHost, MxSet } from '../report/model.js';

/**
 * Which MX addresses the probe talks to: hosts in preference order, at most so many hosts and
 * so many addresses per host, IPv4 and IPv6 alternately; and why the others are left out.
 * Pure: from the MX set, or host by host as the hosts' addresses arrive (smtp/probe.ts).
 */

/** How many MX hosts, and addresses per host, are probed (from the SMTP settings). */
export interface TargetLimits {
  maxHosts: number;
  maxAddressesPerHost: number;
}

export interface Target {
  host: string;
  preference: number;
  address: string;
  family: 4 | 6;
  /** Position of the address within its host's tested addresses (0 = first). */
  rank: number;
}

export interface Skipped {
  host: string;
  address?: string;
  why: string;
}

/** The hosts of an MX set that is complete, as arrivals. */
export function arrivalsOf(mx: MxSet): HostArrival[] {
  return mx.hosts.map((h) => ({
    name: h.name,
    preference: h.preference,
    ipLiteral: h.ipLiteral,
    firstIpv4: Promise.resolve(h.addresses.find((a) => a.family === 4)?.address),
    host: Promise.resolve(h),
  }));
}

export const IP_LITERAL_SKIP = 'the MX target is an IP address, not a host name';

/**
 * The first target of an MX host whose A answer has a first address: hostTargets puts the
 * first IPv4 address first, whatever the AAAA answer (RFC 8305 §3 does not wait for it either).
 */
export function firstIpv4Target(arrival: Pick<HostArrival, 'name' | 'preference'>, address: string): Target {
  return { host: arrival.name, preference: arrival.preference, address, family: 4, rank: 0 };
}

/**
 * The addresses to probe of the MX host at `index` among the hosts that are not IP literals
 * (in preference order): none beyond the first maxHosts; otherwise at most maxAddressesPerHost
 * addresses, alternating IPv4 and IPv6 so both families are seen.
 */
export function hostTargets(
  host: MxHost,
  index: number,
  settings: TargetLimits,
): { targets: Target[]; skipped: Skipped[] } {
  const targets: Target[] = [];
  const skipped: Skipped[] = [];
  if (index >= settings.maxHosts) {
    skipped.push(beyondMaxHosts(host.name, settings));
    return { targets, skipped };
  }
  if (host.addresses.length === 0) {
    skipped.push({ host: host.name, why: 'the host has no address' });
    return { targets, skipped };
  }
  const v4 = host.addresses.filter((a) => a.family === 4);
  const v6 = host.addresses.filter((a) => a.family === 6);
  const ordered: typeof host.addresses = [];
  for (let k = 0; k < Math.max(v4.length, v6.length); k++) {
    if (v4[k]) ordered.push(v4[k]!);
    if (v6[k]) ordered.push(v6[k]!);
  }
  ordered.forEach((a, rank) => {
    if (rank >= settings.maxAddressesPerHost) {
      skipped.push({
        host: host.name,
        address: a.address,
        why: `only ${settings.maxAddressesPerHost} addresses per host are probed (MXDOCTOR_SMTP_MAX_ADDRESSES)`,
      });
    } else {
      targets.push({
        host: host.name,
        preference: host.preference,
        address: a.address,
        family: a.family,
        rank,
      });
    }
  });
  return { targets, skipped };
}

export function beyondMaxHosts(host: string, settings: Pick<TargetLimits, 'maxHosts'>): Skipped {
  return { host, why: `only the first ${settings.maxHosts} MX hosts are probed (MXDOCTOR_SMTP_MAX_HOSTS)` };
}

/**
 * The MX addresses to probe: hosts in preference order (at most maxHosts, IP literals
 * skipped), and per host at most maxAddressesPerHost addresses, IPv4 and IPv6 alternately.
 */
export function selectTargets(mx: MxSet, settings: TargetLimits): { targets: Target[]; skipped: Skipped[] } {
  const skipped: Skipped[] = mx.hosts
    .filter((h) => h.ipLiteral)
    .map((h) => ({ host: h.name, why: IP_LITERAL_SKIP }));
  const perHost = mx.hosts.filter((h) => !h.ipLiteral).map((host, i) => hostTargets(host, i, settings));
  return {
    targets: perHost.flatMap((h) => h.targets),
    skipped: [...skipped, ...perHost.flatMap((h) => h.skipped)],
  };
}
