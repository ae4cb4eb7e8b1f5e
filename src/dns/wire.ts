import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Packet as Dns2Packet } from 'dns2';
import { RR_TYPES } from './types.js';
import type { DnsRcode, DnsRecord, RrType } from './types.js';

/**
 * DNS messages on the wire, through dns2's Packet: building queries (with the AD, CD and
 * EDNS DO bits dns2's own client never sets) and decoding responses into our records,
 * including the types dns2 keeps as raw rdata (TLSA, DS; RFC 3597).
 */

// dns2's packet codec alone: the package's entry point also loads its servers and its DoH,
// UDP and TCP clients, which cost every `mxdoctor check` 25–35 ms of start-up and are never
// used (the package's exports map offers no subpath, hence the path next to its entry).
const require = createRequire(import.meta.url);
const Packet = require(join(dirname(require.resolve('dns2')), 'packet.js')) as typeof Dns2Packet;

/** EDNS(0) UDP payload size we advertise: the 2020 DNS flag day value, avoids fragmentation. */
export const EDNS_UDP_PAYLOAD = 1232;

const RCODES: Record<number, DnsRcode> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

const TYPE_NAMES = new Map<number, RrType>(Object.entries(RR_TYPES).map(([k, v]) => [v, k as RrType]));

interface RawResource {
  name: string;
  type: number;
  class: number;
  ttl: number;
  [key: string]: unknown;
}

export interface DecodedMessage {
  id: number;
  rcode: DnsRcode;
  truncated: boolean;
  ad: boolean;
  /** Recursion available (RA): unset by authoritative-only servers. */
  ra: boolean;
  questionName?: string;
  questionType?: number;
  answers: DnsRecord[];
  authorities: DnsRecord[];
}

export function encodeQuery(
  id: number,
  name: string,
  type: RrType,
  flags: { checkingDisabled?: boolean; dnssecOk?: boolean } = {},
): Buffer {
  const packet = new Packet();
  // RFC 6840 §5.7: setting AD in a query asks a validating resolver to report validation
  // in the response's AD bit, without needing DO.
  Object.assign(packet.header, { id, rd: 1, ad: 1, cd: flags.checkingDisabled ? 1 : 0 });
  packet.questions.push({ name, type: RR_TYPES[type], class: Packet.CLASS.IN } as never);
  // dns2's typings omit EDNS's options argument (payload size, DO bit).
  const edns = Packet.Resource.EDNS as unknown as (rdata: unknown[], opts: object) => never;
  packet.additionals.push(edns([], { udpPayloadSize: EDNS_UDP_PAYLOAD, doFlag: Boolean(flags.dnssecOk) }));
  return packet.toBuffer();
}

export function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function hex(data: unknown): string {
  return Buffer.isBuffer(data) ? data.toString('hex') : '';
}

/** Converts one dns2 resource to our record shape; undefined for OPT pseudo-records. */
export function convertResource(r: RawResource): DnsRecord | undefined {
  const base = { name: canonical(String(r.name ?? '')), ttl: Number(r.ttl ?? 0) };
  const str = (v: unknown): string => canonical(typeof v === 'string' ? v : '');
  switch (r.type) {
    case RR_TYPES.A:
      return { ...base, type: 'A', address: String(r.address) };
    case RR_TYPES.AAAA:
      return { ...base, type: 'AAAA', address: String(r.address) };
    case RR_TYPES.MX:
      return { ...base, type: 'MX', preference: Number(r.priority), exchange: str(r.exchange) };
    case RR_TYPES.TXT:
      return { ...base, type: 'TXT', text: Array.isArray(r.data) ? r.data.join('') : String(r.data ?? '') };
    case RR_TYPES.CNAME:
      return { ...base, type: 'CNAME', target: str(r.domain) };
    case RR_TYPES.PTR:
      return { ...base, type: 'PTR', target: str(r.domain) };
    case RR_TYPES.NS:
      return { ...base, type: 'NS', target: str(r.ns) };
    case RR_TYPES.SOA:
      return {
        ...base,
        type: 'SOA',
        primary: str(r.primary),
        admin: str(r.admin),
        serial: Number(r.serial),
        refresh: Number(r.refresh),
        retry: Number(r.retry),
        expire: Number(r.expiration),
        minimum: Number(r.minimum),
      };
    case RR_TYPES.SRV:
      return {
        ...base,
        type: 'SRV',
        priority: Number(r.priority),
        weight: Number(r.weight),
        port: Number(r.port),
        target: str(r.target),
      };
    case RR_TYPES.CAA:
      return { ...base, type: 'CAA', flags: Number(r.flags), tag: String(r.tag), value: String(r.value) };
    case RR_TYPES.DNSKEY:
      return {
        ...base,
        type: 'DNSKEY',
        flags: Number(r.flags),
        protocol: Number(r.protocol),
        algorithm: Number(r.algorithm),
        keyTag: Number(r.keyTag),
        key: String(r.key ?? ''),
      };
    case RR_TYPES.RRSIG:
      return {
        ...base,
        type: 'RRSIG',
        typeCovered: Number(r.sigType),
        algorithm: Number(r.algorithm),
        signer: str(r.signer),
        keyTag: Number(r.keyTag),
      };
    case RR_TYPES.TLSA: {
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.alloc(0);
      if (data.length < 3) return { ...base, type: 'UNKNOWN', typeCode: r.type, data: hex(data) };
      return {
        ...base,
        type: 'TLSA',
        usage: data[0]!,
        selector: data[1]!,
        matchingType: data[2]!,
        data: data.subarray(3).toString('hex'),
      };
    }
    case RR_TYPES.DS: {
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.alloc(0);
      if (data.length < 4) return { ...base, type: 'UNKNOWN', typeCode: r.type, data: hex(data) };
      return {
        ...base,
        type: 'DS',
        keyTag: data.readUInt16BE(0),
        algorithm: data[2]!,
        digestType: data[3]!,
        digest: data.subarray(4).toString('hex'),
      };
    }
    case 41: // OPT
      return undefined;
    default:
      return { ...base, type: 'UNKNOWN', typeCode: r.type, data: hex(r.data) };
  }
}

/** Encodes TLSA rdata (for test fixtures and for round trips). */
export function encodeTlsaRdata(
  usage: number,
  selector: number,
  matchingType: number,
  dataHex: string,
): Buffer {
  return Buffer.concat([Buffer.from([usage, selector, matchingType]), Buffer.from(dataHex, 'hex')]);
}

/** Decodes a response; throws on bytes that are not a DNS message. */
export function decodeResponse(buffer: Buffer): DecodedMessage {
  if (buffer.length < 12) throw new Error(`DNS response too short (${buffer.length} bytes)`);
  const packet = Packet.parse(buffer);
  const header = packet.header as unknown as {
    id: number;
    qr: number;
    tc: number;
    ad: number;
    ra: number;
    rcode: number;
  };
  const convert = (list: unknown[]): DnsRecord[] =>
    list.flatMap((r) => {
      if (!r || typeof r !== 'object') return [];
      const rec = convertResource(r as RawResource);
      return rec ? [rec] : [];
    });
  const q = packet.questions[0] as { name?: string; type?: number } | undefined;
  const message: DecodedMessage = {
    id: header.id,
    rcode: RCODES[header.rcode] ?? 'OTHER',
    truncated: header.tc === 1,
    ad: header.ad === 1,
    ra: header.ra === 1,
    answers: convert(packet.answers ?? []),
    authorities: convert(packet.authorities ?? []),
  };
  if (q?.name !== undefined) message.questionName = canonical(q.name);
  if (q?.type !== undefined) message.questionType = q.type;
  return message;
}

export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}
