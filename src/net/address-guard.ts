import { ipFamily } from './ip-family.js';

/**
 * Classification of IP addresses by the IANA special-purpose registries (RFC 6890 and
 * successors), so that mxdoctor never connects to a loopback, private or otherwise
 * non-public address that a user-supplied domain points at — unless the operator allows it.
 * Pure: parses text, touches no network.
 */
export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared' // CGNAT, RFC 6598
  | 'link_local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'unique_local'
  | 'discard'
  | 'protocol_assignment'
  | 'invalid';

export interface AddressClass {
  address: string;
  family: 4 | 6 | 0;
  category: AddressCategory;
  /** The range that matched, e.g. "10.0.0.0/8". */
  range?: string;
  /** Plain description, e.g. "private network (RFC 1918)". */
  description: string;
}

interface Range {
  base: bigint;
  bits: number;
  text: string;
  category: AddressCategory;
  description: string;
}

/** A dotted quad as an unsigned 32-bit number. */
function v4ToNumber(ip: string): number {
  let value = 0;
  for (const part of ip.split('.')) value = value * 256 + Number(part);
  return value;
}

function v4ToBigInt(ip: string): bigint {
  return BigInt(v4ToNumber(ip));
}

/** Parses any valid IPv6 text form (including embedded IPv4) into a 128-bit integer. */
export function v6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // Embedded dotted quad in the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = v4ToBigInt(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups =
    rest === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function range4(text: string, category: AddressCategory, description: string): Range {
  const [base, bits] = text.split('/') as [string, string];
  return { base: v4ToBigInt(base), bits: Number(bits), text, category, description };
}

function range6(text: string, category: AddressCategory, description: string): Range {
  const [base, bits] = text.split('/') as [string, string];
  return { base: v6ToBigInt(base), bits: Number(bits), text, category, description };
}

// Most specific first where ranges nest (e.g. 192.0.0.9/32 inside 192.0.0.0/24 is global,
// but we treat the whole /24 as non-public: no mail server lives there).
const V4_RANGES: Range[] = [
  range4('0.0.0.0/8', 'unspecified', '"this network" (RFC 791)'),
  range4('10.0.0.0/8', 'private', 'private network (RFC 1918)'),
  range4('100.64.0.0/10', 'shared', 'carrier-grade NAT shared space (RFC 6598)'),
  range4('127.0.0.0/8', 'loopback', 'loopback (RFC 1122)'),
  range4('169.254.0.0/16', 'link_local', 'link-local (RFC 3927)'),
  range4('172.16.0.0/12', 'private', 'private network (RFC 1918)'),
  range4('192.0.0.0/24', 'protocol_assignment', 'IETF protocol assignments (RFC 6890)'),
  range4('192.0.2.0/24', 'documentation', 'documentation range TEST-NET-1 (RFC 5737)'),
  range4('192.88.99.0/24', 'reserved', 'deprecated 6to4 relay anycast (RFC 7526)'),
  range4('192.168.0.0/16', 'private', 'private network (RFC 1918)'),
  range4('198.18.0.0/15', 'benchmarking', 'benchmarking range (RFC 2544)'),
  range4('198.51.100.0/24', 'documentation', 'documentation range TEST-NET-2 (RFC 5737)'),
  range4('203.0.113.0/24', 'documentation', 'documentation range TEST-NET-3 (RFC 5737)'),
  range4('224.0.0.0/4', 'multicast', 'multicast (RFC 5771)'),
  range4('255.255.255.255/32', 'broadcast', 'limited broadcast (RFC 919)'),
  range4('240.0.0.0/4', 'reserved', 'reserved for future use (RFC 1112)'),
];

const V6_RANGES: Range[] = [
  range6('::/128', 'unspecified', 'unspecified address (RFC 4291)'),
  range6('::1/128', 'loopback', 'loopback (RFC 4291)'),
  range6('100::/64', 'discard', 'discard-only prefix (RFC 6666)'),
  range6('2001:db8::/32', 'documentation', 'documentation prefix (RFC 3849)'),
  range6('3fff::/20', 'documentation', 'documentation prefix (RFC 9637)'),
  range6('2001::/23', 'protocol_assignment', 'IETF protocol assignments (RFC 2928)'),
  range6('fc00::/7', 'unique_local', 'unique local address (RFC 4193)'),
  range6('fe80::/10', 'link_local', 'link-local (RFC 4291)'),
  range6('fec0::/10', 'reserved', 'deprecated site-local (RFC 3879)'),
  range6('ff00::/8', 'multicast', 'multicast (RFC 4291)'),
  range6('5f00::/16', 'reserved', 'SRv6 SIDs (RFC 9602)'),
];

function matches(value: bigint, width: number, r: Range): boolean {
  const shift = BigInt(width - r.bits);
  return value >> shift === r.base >> shift;
}

/**
 * V4_RANGES as 32-bit numbers, for classify4: a bounce mailbox classifies the sending IP of
 * every message, and comparing BigInts cost it more than the rest of reading the Received chain.
 */
const V4_NUMERIC = V4_RANGES.map((r) => ({ range: r, base: Number(r.base), bits: r.bits }));

function matches4(value: number, base: number, bits: number): boolean {
  if (bits === 0) return true;
  const shift = 32 - bits;
  return value >>> shift === base >>> shift;
}

function classify4(address: string): AddressClass {
  const value = v4ToNumber(address);
  const hit = V4_NUMERIC.find((r) => matches4(value, r.base, r.bits))?.range;
  return hit
    ? { address, family: 4, category: hit.category, range: hit.text, description: hit.description }
    : { address, family: 4, category: 'public', description: 'public address' };
}

function v4FromBits(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
}

function classify6(address: string): AddressClass {
  const value = v6ToBigInt(address);
  const top96 = value >> 32n;
  const low32 = value & 0xffffffffn;
  // Forms that embed an IPv4 address: judge the embedded address, so that
  // ::ffff:127.0.0.1 is as forbidden as 127.0.0.1.
  const embedded: [boolean, string][] = [
    [top96 === 0xffffn, 'IPv4-mapped'], // ::ffff:0:0/96
    [top96 === 0n && low32 > 1n, 'IPv4-compatible'], // ::/96 (deprecated)
    [top96 === 0xffff0000n, 'SIIT-translated'], // ::ffff:0:0:0/96
    [value >> 32n === 0x64ff9b0000000000000000n, 'NAT64'], // 64:ff9b::/96
  ];
  for (const [is, form] of embedded) {
    if (!is) continue;
    const inner = classify4(v4FromBits(low32));
    if (inner.category !== 'public' || form === 'IPv4-compatible' || form === 'SIIT-translated') {
      return {
        address,
        family: 6,
        category: inner.category === 'public' ? 'reserved' : inner.category,
        range: inner.range ?? '::/96',
        description: `${form} form of ${inner.address}: ${inner.category === 'public' ? 'deprecated embedding' : inner.description}`,
      };
    }
    return { address, family: 6, category: 'public', description: `${form} form of public ${inner.address}` };
  }
  // 6to4 (2002::/16) embeds an IPv4 address in bits 16..48.
  if (value >> 112n === 0x2002n) {
    const inner = classify4(v4FromBits((value >> 80n) & 0xffffffffn));
    if (inner.category !== 'public') {
      return {
        address,
        family: 6,
        category: inner.category,
        range: '2002::/16',
        description: `6to4 form of ${inner.address}: ${inner.description}`,
      };
    }
  }
  const hit = V6_RANGES.find((r) => matches(value, 128, r));
  if (hit)
    return { address, family: 6, category: hit.category, range: hit.text, description: hit.description };
  // Only 2000::/3 is allocated as global unicast; everything else is reserved by IANA.
  if (value >> 125n !== 1n) {
    return {
      address,
      family: 6,
      category: 'reserved',
      range: '::/0',
      description: 'outside global unicast 2000::/3',
    };
  }
  return { address, family: 6, category: 'public', description: 'public address' };
}

export function classifyAddress(address: string): AddressClass {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = ipFamily(text);
  if (family === 4) return classify4(text);
  if (family === 6) return classify6(text);
  return { address, family: 0, category: 'invalid', description: 'not an IP address' };
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address).category === 'public';
}

/**
 * Whether mxdoctor may open a connection to `address`. With `allowPrivate` every valid
 * address except the unspecified and multicast ones is allowed (tests run on loopback;
 * operators may probe their own private MX hosts).
 */
export function connectAllowed(
  address: string,
  allowPrivate: boolean,
): { ok: true } | { ok: false; why: string } {
  const c = classifyAddress(address);
  if (c.category === 'public') return { ok: true };
  if (c.category === 'invalid') return { ok: false, why: `${address} is not an IP address` };
  if (allowPrivate && !['unspecified', 'multicast', 'broadcast'].includes(c.category)) return { ok: true };
  return {
    ok: false,
    why: `${address} is a ${c.description} address${c.range ? ` (${c.range})` : ''}; mxdoctor does not connect to non-public addresses unless MXDOCTOR_ALLOW_PRIVATE is set`,
  };
}

/**
 * Cloud instance-metadata and platform endpoints: a request from a server to one of these
 * can hand out its credentials. Webhooks and alerts never go there, whatever is allowed.
 */
export const METADATA_ADDRESSES: readonly { address: string; what: string }[] = [
  { address: '169.254.169.254', what: 'the instance metadata service of AWS, GCP, Azure, OCI and others' },
  { address: '169.254.170.2', what: 'the AWS ECS task metadata endpoint' },
  { address: '169.254.0.23', what: 'the Tencent Cloud metadata service' },
  { address: '100.100.100.200', what: 'the Alibaba Cloud metadata service' },
  { address: '168.63.129.16', what: 'the Azure platform (WireServer) endpoint' },
  { address: 'fd00:ec2::254', what: 'the AWS instance metadata service over IPv6' },
];

/** An address with its prefix length, e.g. 10.0.0.0/8 or fd12::/16; a bare address is a /32 or /128. */
export interface Network {
  family: 4 | 6;
  base: bigint;
  bits: number;
  text: string;
}

function bitsOf(address: string): { family: 4 | 6; value: bigint } | undefined {
  const family = ipFamily(address);
  if (family === 4) return { family, value: v4ToBigInt(address) };
  if (family === 6) {
    const value = v6ToBigInt(address);
    // An IPv4-mapped IPv6 address is that IPv4 address.
    if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
    return { family, value };
  }
  return undefined;
}

/** Parses "10.0.0.0/8", "192.168.1.7" or "fd00::/8"; undefined when it is neither. */
export function parseNetwork(text: string): Network | undefined {
  const [address = '', prefix, ...rest] = text.trim().split('/');
  const parsed = bitsOf(address);
  if (!parsed || rest.length > 0) return undefined;
  const width = parsed.family === 4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = prefix === undefined ? width : Number(prefix);
  if (bits > width) return undefined;
  return { family: parsed.family, base: parsed.value, bits, text: text.trim() };
}

function inNetwork(value: bigint, family: 4 | 6, n: Network): boolean {
  if (family !== n.family) return false;
  const shift = BigInt((family === 4 ? 32 : 128) - n.bits);
  return value >> shift === n.base >> shift;
}

/**
 * Whether alert deliveries (webhooks) may connect to `address`. Separate from the probe's
 * MXDOCTOR_ALLOW_PRIVATE: public addresses are allowed; a non-public one only inside a network
 * of `allowed` (MXDOCTOR_ALERT_ALLOW_NETWORKS); link-local addresses and cloud metadata
 * endpoints never, nor unspecified, multicast and broadcast ones.
 */
export function alertConnectAllowed(
  address: string,
  allowed: readonly string[],
): { ok: true } | { ok: false; why: string } {
  const c = classifyAddress(address);
  const bits = bitsOf(address.replace(/^\[|\]$/g, ''));
  if (c.category === 'invalid' || !bits) return { ok: false, why: `${address} is not an IP address` };
  const metadata = METADATA_ADDRESSES.find((m) => {
    const n = parseNetwork(m.address);
    return n !== undefined && inNetwork(bits.value, bits.family, n);
  });
  if (metadata) return { ok: false, why: `${address} is ${metadata.what}; alerts are never sent there` };
  if (['link_local', 'unspecified', 'multicast', 'broadcast'].includes(c.category))
    return {
      ok: false,
      why: `${address} is a ${c.description} address${c.range ? ` (${c.range})` : ''}; alerts are never sent there`,
    };
  if (c.category === 'public') return { ok: true };
  const networks = allowed.map(parseNetwork).filter((n): n is Network => n !== undefined);
  if (networks.some((n) => inNetwork(bits.value, bits.family, n))) return { ok: true };
  return {
    ok: false,
    why: `${address} is a ${c.description} address${c.range ? ` (${c.range})` : ''}; alerts go to non-public addresses only inside MXDOCTOR_ALERT_ALLOW_NETWORKS`,
  };
}
