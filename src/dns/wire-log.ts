import { DNS_RCODES, RR_TYPES } from './types.js';
import type { DnsLogEntry, DnsRcode, RrType } from './types.js';

/**
 * The exchanges of one DnsClient on the wire, kept compact: a domain check holds its ~80
 * entries for as long as it runs — minutes behind a tarpitting MX — and as one object each
 * they were ~9 KB of every waiting check (issue 14 P4). Here an entry is its name, three
 * numbers and, for a failed exchange, its error text; `entries()` builds the DnsLogEntry
 * objects, with their fields in the order they always had, when the log is read.
 */
export interface WireExchange {
  name: string;
  type: RrType;
  /** Index of the server among the client's servers. */
  server: number;
  transport: 'udp' | 'tcp';
  rcode: DnsRcode;
  answers: number;
  ad: boolean;
  truncated: boolean;
  ms: number;
  atMs: number;
  /** Recursion available; absent when no answer came. */
  ra?: boolean;
  /** Why no answer came. */
  error?: string;
}

const TYPES = Object.keys(RR_TYPES) as RrType[];
const RCODES: readonly DnsRcode[] = DNS_RCODES;

// Bits of an entry's flags word.
const TYPE_BITS = 4; // 14 types
const RCODE_SHIFT = TYPE_BITS; // 9 rcodes: 4 bits
const SERVER_SHIFT = RCODE_SHIFT + 4; // up to 256 servers: 8 bits
const TCP = 1 << (SERVER_SHIFT + 8);
const AD = TCP << 1;
const TRUNCATED = AD << 1;
const RA_SET = TRUNCATED << 1;
const RA = RA_SET << 1;

export class WireLog {
  private readonly names: string[] = [];
  /** Per entry: flags, answers, ms, atMs (small integers, stored unboxed). */
  private readonly numbers: number[] = [];
  /** Error texts of failed exchanges, by entry index. */
  private errors: Map<number, string> | undefined;

  get length(): number {
    return this.names.length;
  }

  push(e: WireExchange): void {
    if (e.server > 255) throw new Error('WireLog: more than 256 servers');
    const type = TYPES.indexOf(e.type);
    const rcode = RCODES.indexOf(e.rcode);
    const flags =
      type |
      (rcode << RCODE_SHIFT) |
      (e.server << SERVER_SHIFT) |
      (e.transport === 'tcp' ? TCP : 0) |
      (e.ad ? AD : 0) |
      (e.truncated ? TRUNCATED : 0) |
      (e.ra === undefined ? 0 : RA_SET | (e.ra ? RA : 0));
    if (e.error !== undefined) (this.errors ??= new Map()).set(this.names.length, e.error);
    this.names.push(e.name);
    this.numbers.push(flags, e.answers, e.ms, e.atMs);
  }

  /** The entries as DnsLogEntry objects (new ones on each call). */
  entries(servers: readonly string[]): DnsLogEntry[] {
    return this.names.map((name, i) => {
      const flags = this.numbers[i * 4]!;
      const entry: DnsLogEntry = {
        name,
        type: TYPES[flags & ((1 << TYPE_BITS) - 1)]!,
        server: servers[(flags >>> SERVER_SHIFT) & 0xff]!,
        transport: flags & TCP ? 'tcp' : 'udp',
        rcode: RCODES[(flags >>> RCODE_SHIFT) & 0xf]!,
        answers: this.numbers[i * 4 + 1]!,
        ad: (flags & AD) !== 0,
        truncated: (flags & TRUNCATED) !== 0,
        ms: this.numbers[i * 4 + 2]!,
        atMs: this.numbers[i * 4 + 3]!,
      };
      if (flags & RA_SET) entry.ra = (flags & RA) !== 0;
      const error = this.errors?.get(i);
      if (error !== undefined) entry.error = error;
      return entry;
    });
  }
}
