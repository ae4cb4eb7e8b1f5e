import fc from 'fast-check';

/**
 * DNS messages for fuzzing, written byte by byte (not through dns2, so that they can be
 * anything the wire allows: compression pointers anywhere, RDLENGTHs that lie, counts that
 * lie), plus mutations of them (flipped bytes, truncation, inserted and deleted bytes,
 * rewritten counts, injected pointers).
 */

/** A name: labels, optionally ending in a compression pointer to `pointer`. */
export interface NameSpec {
  labels: string[];
  pointer?: number;
}

export type RdataSpec =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'name'; prefix: Uint8Array; name: NameSpec; suffix: Uint8Array };

export interface RecordSpec {
  name: NameSpec;
  type: number;
  cls: number;
  ttl: number;
  rdata: RdataSpec;
  /** An RDLENGTH that lies, when set. */
  rdlength?: number;
}

export interface MessageSpec {
  /** Flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  answers: RecordSpec[];
  authorities: RecordSpec[];
  additionals: RecordSpec[];
}

export type Mutation =
  | { op: 'flip'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'count'; which: number; value: number }
  | { op: 'pointer'; at: number; target: number };

const TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  TLSA: 52,
  CAA: 257,
};

/** The names answers use: the question (pointer to offset 12) or a few that chain into each other. */
const labelArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('fuzz', 'test', 'a', 'b', 'mx', 'x'.repeat(63), '*', '_25', '_tcp'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 70 }) },
);

export const nameArb: fc.Arbitrary<NameSpec> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<NameSpec>({ labels: [], pointer: 12 }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(['fuzz', 'test'], ['a', 'fuzz', 'test'], ['b', 'fuzz', 'test'])
      .map((labels) => ({ labels: [...labels] })),
  },
  { weight: 4, arbitrary: fc.array(labelArb, { maxLength: 5 }).map((labels) => ({ labels })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(labelArb, { maxLength: 3 }), fc.nat({ max: 600 }))
      .map(([labels, pointer]) => ({ labels, pointer })),
  },
  {
    weight: 1,
    // Names near or over the 255-octet limit.
    arbitrary: fc
      .integer({ min: 1, max: 9 })
      .map((n) => ({ labels: Array.from({ length: n }, () => 'y'.repeat(40)) })),
  },
);

const bytesArb = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

function fixed(n: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: n, maxLength: n });
}

function typedRdata(type: number): fc.Arbitrary<RdataSpec> {
  const raw = (a: fc.Arbitrary<Uint8Array>) => a.map((bytes) => ({ kind: 'raw', bytes }) as RdataSpec);
  const named = (prefix: fc.Arbitrary<Uint8Array>, suffix: fc.Arbitrary<Uint8Array>) =>
    fc
      .tuple(prefix, nameArb, suffix)
      .map(([p, name, s]) => ({ kind: 'name', prefix: p, name, suffix: s }) as RdataSpec);
  switch (type) {
    case TYPES.A:
      return raw(fixed(4));
    case TYPES.AAAA:
      return raw(fixed(16));
    case TYPES.MX:
      return named(fixed(2), fixed(0));
    case TYPES.CNAME:
    case TYPES.NS:
    case TYPES.PTR:
      return named(fixed(0), fixed(0));
    case TYPES.SOA:
      // The admin name is left to the suffix bytes: one name, then serial … minimum.
      return named(
        fixed(0),
        fc.tuple(fixed(1), fixed(20)).map(([a, b]) => Uint8Array.from([...a, ...b])),
      );
    case TYPES.SRV:
      return named(fixed(6), fixed(0));
    case TYPES.TXT:
      return fc.array(fc.string({ maxLength: 300 }), { maxLength: 3 }).map((parts) => {
        const out: number[] = [];
        for (const p of parts) {
          const b = Buffer.from(p, 'utf8').subarray(0, 255);
          out.push(b.length, ...b);
        }
        return { kind: 'raw', bytes: Uint8Array.from(out) } as RdataSpec;
      });
    case TYPES.CAA:
      return fc
        .tuple(fc.nat({ max: 255 }), fc.constantFrom('issue', 'iodef', ''), fc.string({ maxLength: 40 }))
        .map(([flags, tag, value]) => {
          const t = Buffer.from(tag);
          return {
            kind: 'raw',
            bytes: Uint8Array.from([flags, t.length, ...t, ...Buffer.from(value)]),
          } as RdataSpec;
        });
    default:
      return raw(bytesArb(80));
  }
}

/** A record, of the `preferred` type more often than not when one is given. */
export function recordArbFor(preferred?: number): fc.Arbitrary<RecordSpec> {
  const typeArb = fc.oneof(
    { weight: preferred === undefined ? 0 : 8, arbitrary: fc.constant(preferred ?? 1) },
    { weight: 2, arbitrary: fc.constant(TYPES.CNAME) },
    { weight: 8, arbitrary: fc.constantFrom(...Object.values(TYPES)) },
    { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
  );
  return fc
    .tuple(
      nameArb,
      typeArb,
      fc.constantFrom(1, 1, 1, 3, 255, 0xffff),
      fc.oneof(fc.nat({ max: 86_400 }), fc.constant(0xffffffff)),
      fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, fc.nat({ max: 0xffff })),
    )
    .chain(([name, type, cls, ttl, rdlength]) =>
      typedRdata(type).map((rdata) => ({
        name,
        type,
        cls,
        ttl,
        rdata,
        ...(rdlength === undefined ? {} : { rdlength }),
      })),
    );
}

export const recordArb = recordArbFor();

export const messageArb: fc.Arbitrary<MessageSpec> = messageArbFor();

/** A message whose records are mostly of the `preferred` type (the type asked). */
export function messageArbFor(preferred?: number): fc.Arbitrary<MessageSpec> {
  const record = recordArbFor(preferred);
  return fc.record({
    // Mostly a response (QR) with RCODE 0–5; any flags now and then.
    flags: fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .tuple(fc.nat({ max: 5 }), fc.boolean(), fc.boolean())
          .map(([rc, tc, ad]) => 0x8180 | rc | (tc ? 0x0200 : 0) | (ad ? 0x0020 : 0)),
      },
      { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
    ),
    answers: fc.array(record, { maxLength: 6 }),
    authorities: fc.array(record, { maxLength: 3 }),
    additionals: fc.array(record, { maxLength: 3 }),
  });
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat({ max: 700 }), value: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat({ max: 700 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat({ max: 700 }), bytes: bytesArb(16) }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat({ max: 700 }),
    length: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({
    op: fc.constant('count' as const),
    which: fc.nat({ max: 3 }),
    value: fc.oneof(fc.constantFrom(0, 1, 2, 0xff, 0xffff), fc.nat({ max: 0xffff })),
  }),
  fc.record({
    op: fc.constant('pointer' as const),
    at: fc.nat({ max: 700 }),
    target: fc.nat({ max: 0x3fff }),
  }),
);

function writeName(out: number[], name: NameSpec): void {
  for (const label of name.labels) {
    const b = Buffer.from(label, 'latin1');
    // A label length that does not fit in 6 bits is what a broken server would write too.
    out.push(b.length & 0xff, ...b);
  }
  if (name.pointer !== undefined) out.push(0xc0 | ((name.pointer >> 8) & 0x3f), name.pointer & 0xff);
  else out.push(0);
}

function writeRecord(out: number[], r: RecordSpec): void {
  writeName(out, r.name);
  const rdata: number[] = [];
  if (r.rdata.kind === 'raw') rdata.push(...r.rdata.bytes);
  else {
    rdata.push(...r.rdata.prefix);
    writeName(rdata, r.rdata.name);
    rdata.push(...r.rdata.suffix);
  }
  const len = r.rdlength ?? rdata.length;
  out.push(r.type >> 8, r.type & 0xff, r.cls >> 8, r.cls & 0xff);
  out.push((r.ttl >>> 24) & 0xff, (r.ttl >>> 16) & 0xff, (r.ttl >>> 8) & 0xff, r.ttl & 0xff);
  out.push(len >> 8, len & 0xff, ...rdata);
}

/** The question section as bytes: a name in presentation form, type, class IN. */
export function questionBytes(name: string, type: number): Uint8Array {
  const out: number[] = [];
  writeName(out, { labels: name === '' ? [] : name.split('.') });
  out.push(type >> 8, type & 0xff, 0, 1);
  return Uint8Array.from(out);
}

/** The message on the wire with `question` (raw question bytes, or none) and transaction `id`. */
export function encodeMessage(m: MessageSpec, id: number, question: Uint8Array | undefined): Buffer {
  const out: number[] = [id >> 8, id & 0xff, m.flags >> 8, m.flags & 0xff];
  const counts = [question ? 1 : 0, m.answers.length, m.authorities.length, m.additionals.length];
  for (const c of counts) out.push(c >> 8, c & 0xff);
  if (question) out.push(...question);
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) writeRecord(out, r);
  return Buffer.from(out);
}

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = m.op === 'count' ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (at < b.length) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'count':
        if (b.length >= 12) b.writeUInt16BE(m.value, 4 + 2 * m.which);
        break;
      case 'pointer':
        if (at + 1 < b.length) {
          b[at] = 0xc0 | ((m.target >> 8) & 0x3f);
          b[at + 1] = m.target & 0xff;
        }
        break;
    }
  }
  return b;
}

/** A packet to decode: random bytes, a message, or a mutated message. */
export const packetArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        messageArb,
        fc.nat({ max: 0xffff }),
        fc.option(
          fc.tuple(
            fc.constantFrom('fuzz.test', 'a.fuzz.test', '', 'x'.repeat(63) + '.test'),
            fc.constantFrom(1, 15, 16, 28, 52, 255),
          ),
          { freq: 5 },
        ),
        fc.array(mutationArb, { maxLength: 5 }),
      )
      .map(([m, id, q, muts]) =>
        mutate(encodeMessage(m, id, q ? questionBytes(q[0], q[1]) : undefined), muts),
      ),
  },
  {
    // A header alone, claiming many records.
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.array(fc.nat({ max: 0xffff }), { minLength: 4, maxLength: 4 }),
        fc.uint8Array({ maxLength: 64 }),
      )
      .map(([counts, rest]) => {
        const h = Buffer.alloc(12);
        h.writeUInt16BE(0x8180, 2);
        counts.forEach((c, i) => h.writeUInt16BE(c, 4 + 2 * i));
        return Buffer.concat([h, rest]);
      }),
  },
);
