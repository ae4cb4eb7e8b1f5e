import type { Packet as Dns2Packet } from 'dns2';
import Packet from './dns2-packet.js';
import { RR_TYPES } from './types.js';
import type { DnsRcode, DnsRecord, RrType } from './types.js';

/**
 * DNS messages on the wire, through dns2's Packet: building queries (with the AD, CD and
 * EDNS DO bits dns2's own client never sets) and decoding responses into our records,
 * including the types dns2 keeps as raw rdata (TLSA, DS; RFC 3597).
 */

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

/**
 * A query message: header (RD, AD, CD), one question, an OPT record (EDNS payload size, DO).
 * Written directly rather than through dns2's writer, which builds a message bit by bit (it
 * was a fifth of a worker's CPU per check, issue 14 P3); the bytes are the same as dns2's
 * (test/unit/dns-wire.test.ts compares them). Names are split on dots, empty labels dropped;
 * a label over 63 octets or a name over 255 throws, as dns2 does.
 */
export function encodeQuery(
  id: number,
  name: string,
  type: RrType,
  flags: { checkingDisabled?: boolean; dnssecOk?: boolean } = {},
): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  let nameOctets = 1;
  for (const label of labels) {
    if (label.length > 63)
      throw new Error(`Name encode: label "${label}" is ${label.length} octets (max 63)`);
    // Names travel as octets: a name read from DNS keeps them as latin1 characters; anything
    // above U+00FF would lose its high bits and ask about another name.
    if (/[\u0100-\uffff]/.test(label))
      throw new Error(
        `Name encode: label "${label}" holds a character that is not one octet (give internationalised names as A-labels, xn--…)`,
      );
    nameOctets += label.length + 1;
  }
  if (nameOctets > 255)
    throw new Error(`Name encode: name "${name}" encodes to ${nameOctets} octets (max 255)`);
  const out = Buffer.alloc(12 + nameOctets + 4 + 11);
  out.writeUInt16BE(id & 0xffff, 0);
  out[2] = 0x01; // RD
  // RFC 6840 §5.7: setting AD in a query asks a validating resolver to report validation
  // in the response's AD bit, without needing DO.
  out[3] = 0x20 | (flags.checkingDisabled ? 0x10 : 0);
  out.writeUInt16BE(1, 4); // QDCOUNT
  out.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let at = 12;
  for (const label of labels) {
    out[at++] = label.length;
    for (let i = 0; i < label.length; i++) out[at++] = label.charCodeAt(i) & 0xff;
  }
  out[at++] = 0;
  out.writeUInt16BE(RR_TYPES[type], at);
  out.writeUInt16BE(Packet.CLASS.IN, at + 2);
  at += 4;
  // OPT (RFC 6891 §6.1.2): root name, type 41, class = UDP payload size, TTL = extended
  // RCODE 0, version 0, DO bit; no options.
  out[at] = 0;
  out.writeUInt16BE(41, at + 1);
  out.writeUInt16BE(EDNS_UDP_PAYLOAD, at + 3);
  out.writeUInt32BE(flags.dnssecOk ? 0x8000 : 0, at + 5);
  out.writeUInt16BE(0, at + 9);
  return out;
}

export function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function hex(data: unknown): string {
  return Buffer.isBuffer(data) ? data.toString('hex') : '';
}

/** A name written without compression at `offset` (RFC 1035 §3.1); undefined when malformed. */
function uncompressedName(data: Buffer, offset: number): string | undefined {
  const labels: string[] = [];
  let at = offset;
  for (let octets = 1; ;) {
    const len = data[at];
    if (len === undefined || len > 63) return undefined;
    if (len === 0) return canonical(labels.join('.'));
    octets += len + 1;
    if (octets > 255 || at + 1 + len > data.length) return undefined;
    labels.push(data.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
}

/**
 * Converts one dns2 resource to our record shape; undefined for OPT pseudo-records. A record
 * whose fields do not decode (an RDATA too short for its type leaves dns2's fields unset) is
 * kept as UNKNOWN, so that no NaN reaches a report.
 */
export function convertResource(r: RawResource): DnsRecord | undefined {
  const record = convertFields(r);
  if (record && Object.values(record).some((v) => typeof v === 'number' && !Number.isFinite(v)))
    return {
      name: record.name,
      ttl: Number.isFinite(record.ttl) ? record.ttl : 0,
      type: 'UNKNOWN',
      typeCode: r.type,
      data: hex(r.data),
    };
  return record;
}

function convertFields(r: RawResource): DnsRecord | undefined {
  // Object literals without a spread: records are kept for a whole check (in its DNS cache),
  // and a spread of shared fields gave each one out-of-object properties (issue 14 P4).
  const name = canonical(String(r.name ?? ''));
  const ttl = Number(r.ttl ?? 0);
  const str = (v: unknown): string => canonical(typeof v === 'string' ? v : '');
  switch (r.type) {
    case RR_TYPES.A:
      return { name, ttl, type: 'A', address: String(r.address) };
    case RR_TYPES.AAAA:
      return { name, ttl, type: 'AAAA', address: String(r.address) };
    case RR_TYPES.MX:
      return { name, ttl, type: 'MX', preference: Number(r.priority), exchange: str(r.exchange) };
    case RR_TYPES.TXT:
      return { name, ttl, type: 'TXT', text: Array.isArray(r.data) ? r.data.join('') : String(r.data ?? '') };
    case RR_TYPES.CNAME:
      return { name, ttl, type: 'CNAME', target: str(r.domain) };
    case RR_TYPES.PTR:
      return { name, ttl, type: 'PTR', target: str(r.domain) };
    case RR_TYPES.NS:
      return { name, ttl, type: 'NS', target: str(r.ns) };
    case RR_TYPES.SOA:
      return {
        name,
        ttl,
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
        name,
        ttl,
        type: 'SRV',
        priority: Number(r.priority),
        weight: Number(r.weight),
        port: Number(r.port),
        target: str(r.target),
      };
    case RR_TYPES.CAA:
      return { name, ttl, type: 'CAA', flags: Number(r.flags), tag: String(r.tag), value: String(r.value) };
    case RR_TYPES.DNSKEY:
      return {
        name,
        ttl,
        type: 'DNSKEY',
        flags: Number(r.flags),
        protocol: Number(r.protocol),
        algorithm: Number(r.algorithm),
        keyTag: Number(r.keyTag),
        key: String(r.key ?? ''),
      };
    case RR_TYPES.RRSIG: {
      // dns2 has no RRSIG type code, so it keeps the rdata raw (RFC 4034 §3.1): type covered,
      // algorithm, labels, original TTL, expiration, inception, key tag, signer (never compressed).
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.alloc(0);
      const signer = data.length > 18 ? uncompressedName(data, 18) : undefined;
      if (signer === undefined) return { name, ttl, type: 'UNKNOWN', typeCode: r.type, data: hex(data) };
      return {
        name,
        ttl,
        type: 'RRSIG',
        typeCovered: data.readUInt16BE(0),
        algorithm: data[2]!,
        signer,
        keyTag: data.readUInt16BE(16),
      };
    }
    case RR_TYPES.TLSA: {
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.alloc(0);
      if (data.length < 3) return { name, ttl, type: 'UNKNOWN', typeCode: r.type, data: hex(data) };
      return {
        name,
        ttl,
        type: 'TLSA',
        usage: data[0]!,
        selector: data[1]!,
        matchingType: data[2]!,
        data: data.subarray(3).toString('hex'),
      };
    }
    case RR_TYPES.DS: {
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.alloc(0);
      if (data.length < 4) return { name, ttl, type: 'UNKNOWN', typeCode: r.type, data: hex(data) };
      return {
        name,
        ttl,
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
      return { name, ttl, type: 'UNKNOWN', typeCode: r.type, data: hex(r.data) };
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

/** Fewest octets of a question (the root name, TYPE, CLASS) and of a resource record (+ TTL, RDLENGTH). */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;
/**
 * Most compression pointers followed in one name. A name has at most 127 labels (255
 * octets), so 126 pointers (miekg/dns's limit too) are more than any encoder needs.
 */
const MAX_POINTERS = 126;

type Reader = InstanceType<typeof Packet.Reader>;

/**
 * A name (RFC 1035 §3.1, §4.1.4), decoded as dns2's Packet.Name.decode does — labels as
 * Latin-1, the same errors for bad label lengths and names over 255 octets — but with at
 * most MAX_POINTERS pointers. dns2 follows any number of them: a message with a long chain
 * of pointers and thousands of names pointing into it cost seconds of CPU per kilobyte.
 */
function decodeName(reader: Reader): string {
  const buffer = (reader as unknown as { buffer: Buffer }).buffer;
  let at = reader.offset / 8;
  if (!Number.isInteger(at)) throw new Error('Name decode: not at an octet boundary');
  let resume: number | undefined;
  let pointers = 0;
  let octets = 1;
  const labels: string[] = [];
  for (;;) {
    const len = buffer[at];
    if (len === undefined) throw new Error('Name decode: past the end of the message');
    if ((len & 0xc0) === 0xc0) {
      const low = buffer[at + 1];
      if (low === undefined) throw new Error('Name decode: past the end of the message');
      if (++pointers > MAX_POINTERS) throw new Error('Name decode: too many compression pointers');
      resume ??= at + 2;
      at = ((len & 0x3f) << 8) | low;
      continue;
    }
    if (len & 0xc0) throw new Error(`Name decode: invalid label length byte 0x${len.toString(16)}`);
    if (len === 0) {
      at += 1;
      break;
    }
    octets += len + 1;
    if (octets > 255) throw new Error('Name decode: name exceeds 255 octets');
    if (at + 1 + len > buffer.length) throw new Error('Name decode: past the end of the message');
    labels.push(buffer.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  reader.offset = (resume ?? at) * 8;
  return labels.join('.');
}

/**
 * dns2's Reader, reading whole octets and 16- and 32-bit words at an octet boundary directly:
 * dns2 reads every field bit by bit through arrays of 0s and 1s, a tenth of a worker's CPU
 * per check (issue 14 P3). Any other read, and one past the end (which throws), is dns2's.
 */
function octetReader(buffer: Buffer): Reader {
  const reader = new Packet.Reader(buffer);
  const bitwise = reader.read.bind(reader);
  reader.read = (size: number): number => {
    const at = reader.offset;
    if ((at & 7) === 0) {
      const octet = at >>> 3;
      if (size === 8 && octet < buffer.length) {
        reader.offset = at + 8;
        return buffer[octet]!;
      }
      if (size === 16 && octet + 2 <= buffer.length) {
        reader.offset = at + 16;
        return buffer.readUInt16BE(octet);
      }
      if (size === 32 && octet + 4 <= buffer.length) {
        reader.offset = at + 32;
        return buffer.readUInt32BE(octet);
      }
    }
    // The header's flags and RCODE (1- and 4-bit fields): bit by bit from the octets, where
    // dns2 builds arrays of bits for each (~2 KB of garbage per message, issue 14 P4).
    if (size < 8 && at + size <= buffer.length * 8) {
      let value = 0;
      for (let bit = at; bit < at + size; bit++)
        value = (value << 1) | ((buffer[bit >>> 3]! >> (7 - (bit & 7))) & 1);
      reader.offset = at + size;
      return value;
    }
    return bitwise(size);
  };
  return reader;
}

/**
 * dns2's Packet.parse, bounded by the message's size. dns2 reads as many entries as the
 * header's counts claim, skipping each one that fails — so a 12-byte answer claiming
 * 4 × 65,535 entries cost seconds of CPU (one thrown error per entry) — and follows any
 * number of compression pointers. Here a section reads no more entries than its remaining
 * bytes can hold, names follow at most MAX_POINTERS pointers, and reading stops at the
 * first entry that does not decode (where the next one starts is unknown after it).
 */
function parsePacket(buffer: Buffer): Dns2Packet {
  const packet = new Packet();
  const reader = octetReader(buffer);
  const header = Packet.Header.parse(reader);
  packet.header = header;
  const room = (min: number): number => Math.floor((buffer.length - 12) / min);
  const read = <T>(list: T[], count: number, min: number, parse: (r: Reader) => T): boolean => {
    const most = Math.min(count, room(min));
    for (let i = 0; i < most; i++) {
      try {
        list.push(parse(reader));
      } catch {
        return false;
      }
    }
    return true;
  };
  // dns2's record decoders call Packet.Name.decode by name: swap in the bounded decoder for
  // this synchronous parse only.
  const dns2Name = Packet.Name.decode;
  Packet.Name.decode = decodeName as typeof dns2Name;
  try {
    void (
      read(packet.questions, header.qdcount, MIN_QUESTION, Packet.Question.parse) &&
      read(packet.answers, header.ancount, MIN_RECORD, Packet.Resource.parse) &&
      read(packet.authorities, header.nscount, MIN_RECORD, Packet.Resource.parse) &&
      read(packet.additionals, header.arcount, MIN_RECORD, Packet.Resource.parse)
    );
  } finally {
    Packet.Name.decode = dns2Name;
  }
  // RFC 6891 §6.1.3: with an OPT record the RCODE has 12 bits, the upper 8 in OPT's TTL.
  const opt = packet.additionals.find((r) => r.type === 41) as { extendedRcode?: number } | undefined;
  if (opt?.extendedRcode) header.rcode = (opt.extendedRcode << 4) | (header.rcode & 0xf);
  return packet;
}

/** Decodes a response; throws on bytes that are not a DNS message. */
export function decodeResponse(buffer: Buffer): DecodedMessage {
  if (buffer.length < 12) throw new Error(`DNS response too short (${buffer.length} bytes)`);
  const packet = parsePacket(buffer);
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
