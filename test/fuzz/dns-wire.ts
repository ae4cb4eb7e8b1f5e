import fc from 'fast-check';
import { followChain } from '../../src/dns/client.js';
import { decodeResponse } from '../../src/dns/wire.js';
import type { DnsRecord, RrType } from '../../src/dns/types.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { packetArb } from './dns-packets.js';

/**
 * The DNS wire parser (src/dns/wire.ts decodeResponse) and the client's walk through an
 * answer (followChain in src/dns/client.ts) on random bytes, well-formed messages and
 * mutated ones. Properties:
 * - decodeResponse returns a message or throws an Error (the client turns that into a
 *   failed attempt) — never another value, never a hang;
 * - the output is bounded by the input: no more records than the bytes can hold (11 bytes
 *   each at the least), and a size proportional to the packet (names expand through
 *   compression pointers, at most 255 octets each);
 * - every record is plain data: strings, finite numbers;
 * - followChain ends, returns records taken from the answer, and a chain of at most 11 names.
 */

const BUDGET_MS = 100;
const RR_TYPES: RrType[] = [
  'A',
  'AAAA',
  'MX',
  'TXT',
  'CNAME',
  'NS',
  'PTR',
  'SOA',
  'TLSA',
  'DS',
  'CAA',
  'SRV',
];

function plain(record: DnsRecord): boolean {
  return Object.values(record).every(
    (v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
  );
}

export const wireProperty = fc.asyncProperty(
  packetArb,
  fc.constantFrom(...RR_TYPES),
  async (packet, type) => {
    await withinBudget(
      BUDGET_MS,
      `decoding ${packet.length} bytes`,
      async () => {
        let message;
        try {
          message = decodeResponse(packet);
        } catch (err) {
          violation(err instanceof Error, `decodeResponse threw a non-Error: ${String(err)}`);
          return;
        }
        const records = [...message.answers, ...message.authorities];
        const most = 2 * Math.floor(Math.max(packet.length - 12, 0) / 11);
        violation(records.length <= most, `${records.length} records out of ${packet.length} bytes`);
        const size = JSON.stringify(message).length;
        violation(
          size <= 64 * packet.length + 1024,
          `${size} characters of output from ${packet.length} bytes`,
        );
        for (const r of records) violation(plain(r), `a record that is not plain data: ${JSON.stringify(r)}`);
        const start = message.questionName ?? 'fuzz.test';
        const walked = followChain(start, type, message.answers);
        violation(walked.chain.length <= 11, `a CNAME chain of ${walked.chain.length}`);
        violation(
          walked.records.every((r) => message.answers.includes(r)),
          'followChain returned records that are not in the answer',
        );
      },
      { repeatable: true },
    );
  },
);

export const dnsWireTarget: FuzzTarget = {
  name: 'dns-wire',
  about:
    'DNS wire parser on random and mutated packets: returns or throws an Error, bounded output, plain records, followChain ends',
  shortRuns: 1500,
  budgetMs: BUDGET_MS,
  create: async () => ({ property: erase(wireProperty), stop: async () => {} }),
};
