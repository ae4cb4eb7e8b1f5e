import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Packet as Dns2Packet } from 'dns2';
import { EDNS_UDP_PAYLOAD, decodeResponse, encodeQuery } from '../../src/dns/wire.js';
import { RR_TYPES } from '../../src/dns/types.js';
import type { RrType } from '../../src/dns/types.js';

/**
 * Regressions found by fuzzing the DNS wire parser (test/fuzz/dns-wire.ts, issue 13 §8): each
 * input is the fuzzer's counterexample, or the shape it pointed at made as bad as it gets.
 */

function header(counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(0x8180, 2);
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + 2 * i));
  return h;
}

/** Milliseconds of the fastest of three runs (a busy machine slows some runs, never all). */
function fastest(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('DNS wire parser: regressions from fuzzing', () => {
  it('reads no more entries than the bytes can hold (12 bytes claiming 4 × 65,535 took seconds)', () => {
    const packet = header([0xffff, 0xffff, 0xffff, 0xffff]);
    let message;
    const ms = fastest(() => (message = decodeResponse(packet)));
    assert.deepEqual(message!.answers, []);
    assert.ok(ms < 200, `took ${ms.toFixed(0)} ms`);
    // 64 KiB of bytes that never decode: one failed entry ends the parse.
    const junk = Buffer.concat([header([0xffff, 0xffff, 0xffff, 0xffff]), Buffer.alloc(65_523, 0xc0)]);
    const junkMs = fastest(() => decodeResponse(junk));
    assert.ok(junkMs < 200, `64 KiB of pointers took ${junkMs.toFixed(0)} ms`);
  });

  it('follows at most 126 compression pointers per name (a chain of them made parsing quadratic)', () => {
    // 2,000 questions, each pointing at the head of a 2,000-hop chain of pointers.
    const total = 16_000;
    const hops = 2000;
    const questions = 2000;
    const p = Buffer.alloc(total);
    header([questions, 0, 0, 0]).copy(p);
    const chain = total - hops * 2 - 1;
    for (let i = 0, at = 12; i < questions && at + 6 <= chain; i++, at += 6) {
      p.writeUInt16BE(0xc000 | chain, at);
      p.writeUInt32BE(0x0001_0001, at + 2);
    }
    for (let i = 0; i < hops; i++) p.writeUInt16BE(0xc000 | (chain + 2 * i + 2), chain + 2 * i);
    const ms = fastest(() => decodeResponse(p));
    assert.ok(ms < 200, `took ${ms.toFixed(0)} ms`);
    assert.equal(decodeResponse(p).questionName, undefined, 'a name behind 2,000 pointers is not decoded');

    // Ordinary compression still works: an answer whose name points at the question.
    const ok = Buffer.concat([
      header([1, 1, 0, 0]),
      Buffer.from([4, ...Buffer.from('fuzz'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]),
      Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]),
    ]);
    const m = decodeResponse(ok);
    assert.equal(m.questionName, 'fuzz.test');
    assert.deepEqual(m.answers, [{ name: 'fuzz.test', ttl: 60, type: 'A', address: '192.0.2.1' }]);
  });

  it('decodes RRSIG from its rdata (dns2 keeps it raw) and keeps malformed DNSKEY/RRSIG as UNKNOWN, never NaN', () => {
    const question = Buffer.from([4, ...Buffer.from('fuzz'), 4, ...Buffer.from('test'), 0, 0, 46, 0, 1]);
    const signer = Buffer.from([4, ...Buffer.from('fuzz'), 4, ...Buffer.from('test'), 0]);
    // type covered MX, algorithm 13, 2 labels, TTL, expiration, inception, key tag 0xbeef, signer, signature.
    const rrsig = Buffer.concat([
      Buffer.from([0, 15, 13, 2, 0, 0, 14, 16, 0x65, 0, 0, 0, 0x64, 0, 0, 0, 0xbe, 0xef]),
      signer,
      Buffer.from([1, 2, 3, 4]),
    ]);
    const rr = (type: number, rdata: Buffer) => {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(type, 0);
      fixed.writeUInt16BE(1, 2);
      fixed.writeUInt32BE(300, 4);
      fixed.writeUInt16BE(rdata.length, 8);
      return Buffer.concat([Buffer.from([0xc0, 12]), fixed, rdata]);
    };
    const m = decodeResponse(
      Buffer.concat([
        header([1, 3, 0, 0]),
        question,
        rr(46, rrsig),
        rr(46, Buffer.alloc(0)),
        rr(48, Buffer.alloc(0)),
      ]),
    );
    assert.deepEqual(m.answers, [
      {
        name: 'fuzz.test',
        ttl: 300,
        type: 'RRSIG',
        typeCovered: 15,
        algorithm: 13,
        signer: 'fuzz.test',
        keyTag: 0xbeef,
      },
      { name: 'fuzz.test', ttl: 300, type: 'UNKNOWN', typeCode: 46, data: '' },
      { name: 'fuzz.test', ttl: 300, type: 'UNKNOWN', typeCode: 48, data: '' },
    ]);
  });
});

describe('DNS wire: queries', () => {
  // dns2's own encoder, which built every query until it cost a fifth of a worker's CPU.
  const Packet = createRequire(import.meta.url)(
    join(dirname(createRequire(import.meta.url).resolve('dns2')), 'packet.js'),
  ) as typeof Dns2Packet;
  const viaDns2 = (id: number, name: string, type: RrType, cd: boolean, dnssecOk: boolean): Buffer => {
    const packet = new Packet();
    Object.assign(packet.header, { id, rd: 1, ad: 1, cd: cd ? 1 : 0 });
    packet.questions.push({ name, type: RR_TYPES[type], class: Packet.CLASS.IN } as never);
    const edns = Packet.Resource.EDNS as unknown as (rdata: unknown[], opts: object) => never;
    packet.additionals.push(edns([], { udpPayloadSize: EDNS_UDP_PAYLOAD, doFlag: dnssecOk }));
    return packet.toBuffer();
  };

  it('writes the same bytes as dns2 for every type, flag and name shape (root, trailing dot, empty labels)', () => {
    const names = [
      'example.com',
      'example.com.',
      '',
      '.',
      '_25._tcp.mx1.example.org',
      'a..b',
      `${'x'.repeat(63)}.example`,
      'selector1._domainkey.mail.example.co.uk',
    ];
    for (const name of names)
      for (const type of Object.keys(RR_TYPES) as RrType[])
        for (const cd of [false, true])
          for (const dnssecOk of [false, true]) {
            const id = (name.length * 7919 + type.length) & 0xffff;
            assert.deepEqual(
              encodeQuery(id, name, type, { checkingDisabled: cd, dnssecOk }),
              viaDns2(id, name, type, cd, dnssecOk),
              `${name} ${type} cd=${cd} do=${dnssecOk}`,
            );
          }
  });

  it('refuses a label over 63 octets and a name over 255, as dns2 does', () => {
    assert.throws(() => encodeQuery(1, `${'x'.repeat(64)}.example`, 'A'), /label .* is 64 octets/);
    assert.throws(() => encodeQuery(1, Array(60).fill('abcd').join('.'), 'A'), /encodes to 301 octets/);
  });

  it('refuses a character that is not one octet instead of asking about another name', () => {
    // U+4E2D would have gone out as 0x2D ("-"): a question about a different name.
    assert.throws(() => encodeQuery(1, '\u4e2d.example', 'A'), /not one octet .*A-labels/);
    // Octets read from the wire (latin1) go back out unchanged.
    const q = encodeQuery(1, 'caf\u00e9.example', 'A');
    assert.deepEqual([...q.subarray(13, 17)], [0x63, 0x61, 0x66, 0xe9]);
  });
});
