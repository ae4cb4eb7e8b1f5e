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

function readNode(
  buf: Buffer,
  offset: number,
  limit: number,
  depth: number,
  budget: { nodes: number },
): { node: DerNode; end: number } {
  if (depth > MAX_DEPTH) throw new DerError('DER nested too deeply');
  if (++budget.nodes > MAX_NODES) throw new DerError('too many DER values');
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
  const constructed = Boolean(id & 0x20);
  const node: DerNode = {
    tag,
    cls: CLASSES[id >> 6]!,
    constructed,
    value: buf.subarray(p, end),
    children: [],
  };
  if (constructed) {
    let q = p;
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
