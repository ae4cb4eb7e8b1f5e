/**
 * A minimal, bounded DER reader (X.690) for the few certificate fields node:crypto does not
 * expose: arbitrary extensions (the RFC 3709 logotype of a BIMI mark certificate) and the
 * extended key usage OIDs. Pure; every length is checked against the buffer, nesting depth
 * and node count are capped, and each byte is visited once.
 */

export interface DerNode {
  /** Tag number (low bits), class and constructed flag of the identifier octets. */
  tag: number;
  cls: 'universal' | 'application' | 'context' | 'private';
  constructed: boolean;
  /** The contents octets. */
  value: Buffer;
  children: DerNode[];
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

const CLASSES = ['universal', 'application', 'context', 'private'] as const;
const MAX_DEPTH = 32;
const MAX_NODES = 20_000;

export function parseDer(buf: Buffer): DerNode {
  const budget = { nodes: 0 };
  const { node, end } = readNode(buf, 0, buf.length, 0, budget);
  if (end !== buf.length) throw new DerError(`${buf.length - end} bytes after the DER value`);
  return node;
}

interface Header {
  tag: number;
  cls: DerNode['cls'];
  constructed: boolean;
  /** Where the contents start and end (exclusive). */
  start: number;
  end: number;
}

/** The identifier and length octets of the value at `offset`, checked against `limit`. */
function readHeader(buf: Buffer, offset: number, limit: number): Header {
  if (offset + 2 > limit) throw new DerError('truncated DER value');
  const id = buf[offset]!;
  let p = offset + 1;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let i = 0; ; i++) {
      if (p >= limit || i > 3) throw new DerError('bad DER tag');
      const b = buf[p++]!;
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (p >= limit) throw new DerError('truncated DER length');
  let length = buf[p++]!;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new DerError('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
  }
  const end = p + length;
  if (end > limit) throw new DerError('DER length beyond its container');
  return { tag, cls: CLASSES[id >> 6]!, constructed: Boolean(id & 0x20), start: p, end };
}

function readNode(
  buf: Buffer,
  offset: number,
  limit: number,
  depth: number,
  budget: { nodes: number },
): { node: DerNode; end: number } {
  if (depth > MAX_DEPTH) throw new DerError('DER nested too deeply');
  if (++budget.nodes > MAX_NODES) throw new DerError('too many DER values');
  const { tag, cls, constructed, start, end } = readHeader(buf, offset, limit);
  const node: DerNode = { tag, cls, constructed, value: buf.subarray(start, end), children: [] };
  if (constructed) {
    let q = start;
    while (q < end) {
      const child = readNode(buf, q, end, depth + 1, budget);
      node.children.push(child.node);
      q = child.end;
    }
  }
  return { node, end };
}

/** Dotted OID text of an OBJECT IDENTIFIER's contents. */
export function oidText(value: Buffer): string {
  if (value.length === 0) return '';
  const first = value[0]!;
  const parts = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let n = 0;
  for (let i = 1; i < value.length; i++) {
    n = n * 128 + (value[i]! & 0x7f);
    if (!(value[i]! & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

const isUniversal = (n: DerNode | undefined, tag: number): n is DerNode =>
  n?.cls === 'universal' && n.tag === tag;

/** The extnValue contents of the extension `oid` of a DER certificate (RFC 5280 §4.1). */
export function certificateExtension(certDer: Buffer, oid: string): Buffer | undefined {
  const cert = parseDer(certDer);
  const tbs = cert.children[0];
  const extensions = tbs?.children.find((c) => c.cls === 'context' && c.tag === 3)?.children[0];
  for (const ext of extensions?.children ?? []) {
    const [id, ...rest] = ext.children;
    if (!isUniversal(id, 6) || oidText(id.value) !== oid) continue;
    const value = rest.find((c) => isUniversal(c, 4));
    return value?.value;
  }
  return undefined;
}

/** Extended key usage OIDs (2.5.29.37) of a DER certificate. */
export function extendedKeyUsages(certDer: Buffer): string[] {
  const value = certificateExtension(certDer, '2.5.29.37');
  if (!value) return [];
  return parseDer(value)
    .children.filter((c) => isUniversal(c, 6))
    .map((c) => oidText(c.value));
}

/** Every IA5String in a DER value (depth-first), e.g. the URIs of a logotype extension. */
export function ia5Strings(node: DerNode, out: string[] = []): string[] {
  if (isUniversal(node, 22)) out.push(node.value.toString('latin1'));
  for (const c of node.children) ia5Strings(c, out);
  return out;
}

const INTEGER = 2;
const OBJECT_IDENTIFIER = 6;
const SEQUENCE = 16;
const SET = 17;

/** The header of a universal value of the given tag at `offset`, or a DerError naming `what`. */
function expectUniversal(buf: Buffer, offset: number, limit: number, tag: number, what: string): Header {
  const h = readHeader(buf, offset, limit);
  if (h.cls !== 'universal' || h.tag !== tag) throw new DerError(`${what}: unexpected DER tag`);
  return h;
}

/** Where a DER certificate's issuer and subject Names (whole values) start and end. */
function nameSpans(certDer: Buffer): Record<'issuer' | 'subject', [number, number]> {
  const cert = expectUniversal(certDer, 0, certDer.length, SEQUENCE, 'Certificate');
  if (cert.end !== certDer.length)
    throw new DerError(`${certDer.length - cert.end} bytes after the DER value`);
  const tbs = expectUniversal(certDer, cert.start, cert.end, SEQUENCE, 'TBSCertificate');
  let p = tbs.start;
  const version = readHeader(certDer, p, tbs.end);
  if (version.cls === 'context' && version.tag === 0) p = version.end;
  p = expectUniversal(certDer, p, tbs.end, INTEGER, 'serialNumber').end;
  p = expectUniversal(certDer, p, tbs.end, SEQUENCE, 'signature').end;
  const issuerAt = p;
  const issuer = expectUniversal(certDer, p, tbs.end, SEQUENCE, 'issuer');
  p = expectUniversal(certDer, issuer.end, tbs.end, SEQUENCE, 'validity').end;
  const subject = expectUniversal(certDer, p, tbs.end, SEQUENCE, 'subject');
  return { issuer: [issuerAt, issuer.end], subject: [p, subject.end] };
}

/**
 * The issuer and subject Names (whole DER values) of a DER certificate, found by stepping over
 * the TBSCertificate fields before them (RFC 5280 §4.1: version, serialNumber, signature,
 * issuer, validity, subject) without parsing anything else.
 */
export function certificateNames(certDer: Buffer): { issuer: Buffer; subject: Buffer } {
  const { issuer, subject } = nameSpans(certDer);
  return { issuer: certDer.subarray(...issuer), subject: certDer.subarray(...subject) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The characters of a directory string value, decoded by its type as OpenSSL prints them:
 * UTF8String as UTF-8, BMPString as UCS-2 and UniversalString as UCS-4 (big-endian), the other
 * string types one character per byte. Anything else throws, as does a broken encoding.
 */
function directoryString(buf: Buffer, h: Header): string {
  if (h.cls !== 'universal' || h.constructed) throw new DerError('attribute value is not a string');
  switch (h.tag) {
    case 12: {
      // UTF8String. U+FFFD in the lenient decoding means a broken encoding or that very
      // character: only then ask the strict decoder.
      const text = buf.toString('utf8', h.start, h.end);
      if (text.includes('\ufffd')) {
        try {
          utf8.decode(buf.subarray(h.start, h.end));
        } catch {
          throw new DerError('UTF8String is not UTF-8');
        }
      }
      return text;
    }
    case 30: // BMPString
      if ((h.end - h.start) % 2) throw new DerError('BMPString of odd length');
      return Buffer.from(buf.subarray(h.start, h.end)).swap16().toString('utf16le');
    case 28: {
      // UniversalString
      if ((h.end - h.start) % 4) throw new DerError('UniversalString of bad length');
      let text = '';
      for (let i = h.start; i < h.end; i += 4) {
        const c = buf.readUInt32BE(i);
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw new DerError('UniversalString out of range');
        text += String.fromCodePoint(c);
      }
      return text;
    }
    case 18: // NumericString
    case 19: // PrintableString
    case 20: // TeletexString (T61)
    case 21: // VideotexString
    case 22: // IA5String
    case 25: // GraphicString
    case 26: // VisibleString
    case 27: // GeneralString
      return buf.toString('latin1', h.start, h.end);
    default:
      throw new DerError(`attribute value of DER tag ${h.tag} is not a string`);
  }
}

/** nameKey of the Name spanning start..end of buf. */
function nameKeyAt(buf: Buffer, start: number, end: number): string {
  const name = expectUniversal(buf, start, end, SEQUENCE, 'Name');
  if (name.end !== end) throw new DerError(`${end - name.end} bytes after the Name`);
  const rdns: string[][] = [];
  for (let p = name.start; p < name.end;) {
    const rdn = expectUniversal(buf, p, name.end, SET, 'RelativeDistinguishedName');
    const avas: string[] = [];
    for (let q = rdn.start; q < rdn.end;) {
      const ava = expectUniversal(buf, q, rdn.end, SEQUENCE, 'AttributeTypeAndValue');
      const type = expectUniversal(buf, ava.start, ava.end, OBJECT_IDENTIFIER, 'attribute type');
      const value = readHeader(buf, type.end, ava.end);
      if (value.end !== ava.end) throw new DerError('bytes after the attribute value');
      const text = directoryString(buf, value).toLowerCase().replace(/\s+/g, ' ').trim();
      avas.push(`${buf.toString('hex', type.start, type.end)}=${text}`);
      q = ava.end;
    }
    rdns.push(avas);
    p = rdn.end;
  }
  return JSON.stringify(rdns);
}

/**
 * A key for an X.501 Name (whole DER value) under which Names that compare equal get the
 * same key: the same attribute types in the same RDN structure, each value decoded from its
 * string type, lower-cased, runs of white space collapsed and the ends trimmed (as OpenSSL's
 * X509_NAME_cmp compares, after RFC 5280 §7.1). So a PrintableString and a UTF8String of the
 * same text, or "Example  CA" and "example ca", share a key. Names that merely print alike
 * share one too, which is what makes it an index for text comparisons: equal texts, equal
 * keys. A value that is no directory string (or badly encoded) throws: such a name is not
 * keyed at all, and callers fall back to comparing every candidate.
 */
export function nameKey(nameDer: Buffer): string {
  return nameKeyAt(nameDer, 0, nameDer.length);
}

/** nameKey of a DER certificate's issuer or subject, read without a subarray of each name. */
export function certificateNameKey(certDer: Buffer, which: 'issuer' | 'subject'): string {
  const [start, end] = nameSpans(certDer)[which];
  return nameKeyAt(certDer, start, end);
}
