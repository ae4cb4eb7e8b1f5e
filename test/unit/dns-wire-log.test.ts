import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WireLog } from '../../src/dns/wire-log.js';
import type { WireExchange } from '../../src/dns/wire-log.js';
import { DNS_RCODES, RR_TYPES } from '../../src/dns/types.js';
import type { RrType } from '../../src/dns/types.js';

describe('DNS wire log', () => {
  it('gives back every exchange as it was logged, fields in the order reports have always had', () => {
    const logged: WireExchange[] = [
      {
        name: 'example.org',
        type: 'TXT',
        server: 1,
        transport: 'udp',
        rcode: 'NOERROR',
        answers: 3,
        ad: true,
        truncated: true,
        ms: 12,
        atMs: 0,
        ra: true,
      },
      {
        name: 'example.org',
        type: 'TXT',
        server: 1,
        transport: 'tcp',
        rcode: 'NXDOMAIN',
        answers: 0,
        ad: false,
        truncated: false,
        ms: 7,
        atMs: 13,
        ra: false,
      },
      {
        name: 'slow.example.org',
        type: 'CAA',
        server: 0,
        transport: 'udp',
        rcode: 'TIMEOUT',
        answers: 0,
        ad: false,
        truncated: false,
        ms: 3000,
        atMs: 1_234_567,
        error: 'no UDP answer from 192.0.2.1:53 in 3000 ms',
      },
    ];
    const log = new WireLog();
    for (const e of logged) log.push(e);
    assert.equal(log.length, 3);
    const servers = ['192.0.2.1:53', '[2001:db8::1]:5353'];
    // Compared as JSON: the same fields, values and order, the server named instead of numbered.
    assert.equal(
      JSON.stringify(log.entries(servers)),
      JSON.stringify(logged.map((e) => ({ ...e, server: servers[e.server] }))),
    );
  });

  it('keeps every type and rcode apart', () => {
    const log = new WireLog();
    const types = Object.keys(RR_TYPES) as RrType[];
    const rcodes = DNS_RCODES;
    types.forEach((type, i) =>
      log.push({
        name: `n${i}`,
        type,
        server: 255,
        transport: 'udp',
        rcode: rcodes[i % rcodes.length]!,
        answers: i,
        ad: false,
        truncated: false,
        ms: i,
        atMs: i,
      }),
    );
    const servers = Array.from({ length: 256 }, (_, i) => `s${i}`);
    const entries = log.entries(servers);
    assert.deepEqual(
      entries.map((e) => [e.type, e.rcode, e.server]),
      types.map((t, i) => [t, rcodes[i % rcodes.length], 's255']),
    );
    assert.ok(entries.every((e) => !('ra' in e) && !('error' in e)));
  });
});
