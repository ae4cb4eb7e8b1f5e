import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateMx, isIpLiteralName, isPublicDomain } from '../../src/mx/check.js';
import type { MxFacts } from '../../src/mx/check.js';
import type { DnsAnswer, DnsRcode, RecordOf } from '../../src/dns/types.js';

/** Pure MX analysis on given answers, without sockets. */
function answer<T extends 'MX' | 'A' | 'AAAA'>(
  name: string,
  type: T,
  records: Omit<RecordOf<T>, 'name' | 'ttl' | 'type'>[],
  rcode: DnsRcode = 'NOERROR',
  cnameChain: string[] = [],
): DnsAnswer<RecordOf<T>> {
  return {
    name,
    type,
    rcode,
    records: records.map((r) => ({ name, ttl: 300, type, ...r }) as RecordOf<T>),
    cnameChain,
    ad: false,
    ms: 1,
  };
}

function host(name: string, v4: string[], v6: string[] = [], rcode: DnsRcode = 'NOERROR') {
  return {
    a: answer(
      name,
      'A',
      v4.map((address) => ({ address })),
      rcode,
    ),
    aaaa: answer(
      name,
      'AAAA',
      v6.map((address) => ({ address })),
      rcode,
    ),
  };
}

function facts(partial: Partial<MxFacts> & Pick<MxFacts, 'mx'>): MxFacts {
  return { domain: 'example.com', publicDomain: true, allowPrivate: false, hosts: {}, ...partial };
}

const ids = (r: ReturnType<typeof evaluateMx>) => r.findings.map((f) => `${f.id}:${f.status}`).sort();

describe('evaluateMx', () => {
  it('orders hosts by preference, then name, whatever the answer order', () => {
    const r = evaluateMx(
      facts({
        mx: answer('example.com', 'MX', [
          { preference: 20, exchange: 'b.example.com' },
          { preference: 10, exchange: 'z.example.com' },
          { preference: 20, exchange: 'a.example.com' },
        ]),
        hosts: {
          'a.example.com': host('a.example.com', ['93.184.215.1']),
          'b.example.com': host('b.example.com', ['93.184.215.2']),
          'z.example.com': host('z.example.com', ['93.184.215.3']),
        },
      }),
    );
    assert.deepEqual(
      r.mx.hosts.map((h) => h.name),
      ['z.example.com', 'a.example.com', 'b.example.com'],
    );
  });

  it('keeps the real hosts of a mixed null MX and fails the null', () => {
    const r = evaluateMx(
      facts({
        mx: answer('example.com', 'MX', [
          { preference: 0, exchange: '' },
          { preference: 10, exchange: 'mx.example.com' },
        ]),
        hosts: { 'mx.example.com': host('mx.example.com', ['93.184.215.1']) },
      }),
    );
    assert.ok(ids(r).includes('mx.null:fail'));
    assert.equal(r.mx.kind, 'mx');
  });

  it('warns about a null MX with a non-zero preference', () => {
    const r = evaluateMx(facts({ mx: answer('example.com', 'MX', [{ preference: 10, exchange: '' }]) }));
    assert.deepEqual(ids(r), ['mx.null:warn']);
    assert.equal(r.mx.kind, 'null');
  });

  it('reports an MX target whose lookups failed as error, not dangling', () => {
    const r = evaluateMx(
      facts({
        mx: answer('example.com', 'MX', [{ preference: 10, exchange: 'mx.example.com' }]),
        hosts: { 'mx.example.com': host('mx.example.com', [], [], 'SERVFAIL') },
      }),
    );
    assert.deepEqual(ids(r), ['mx.dangling:error', 'mx.records:error']);
  });

  it('treats private addresses of a domain under a non-public suffix as info', () => {
    const r = evaluateMx(
      facts({
        domain: 'corp.internal',
        publicDomain: false,
        mx: answer('corp.internal', 'MX', [{ preference: 10, exchange: 'mx.corp.internal' }]),
        hosts: { 'mx.corp.internal': host('mx.corp.internal', ['10.0.0.25']) },
      }),
    );
    assert.ok(ids(r).includes('mx.private_address:info'));
    assert.equal(r.findings.find((f) => f.id === 'mx.private_address')!.remedy, undefined);
  });

  it('notes hosts that share one address', () => {
    const r = evaluateMx(
      facts({
        mx: answer('example.com', 'MX', [
          { preference: 10, exchange: 'mx1.example.com' },
          { preference: 20, exchange: 'mx2.example.com' },
        ]),
        hosts: {
          'mx1.example.com': host('mx1.example.com', ['93.184.215.1']),
          'mx2.example.com': host('mx2.example.com', ['93.184.215.1']),
        },
      }),
    );
    assert.ok(ids(r).includes('mx.duplicate:info'));
  });

  it('names hosts without IPv6', () => {
    const r = evaluateMx(
      facts({
        mx: answer('example.com', 'MX', [
          { preference: 10, exchange: 'mx1.example.com' },
          { preference: 20, exchange: 'mx2.example.com' },
        ]),
        hosts: {
          'mx1.example.com': host('mx1.example.com', ['93.184.215.1'], ['2606:2800:21f:cb07::1']),
          'mx2.example.com': host('mx2.example.com', ['93.184.215.2']),
        },
      }),
    );
    const f = r.findings.find((x) => x.id === 'mx.ipv6')!;
    assert.equal(f.status, 'info');
    assert.match(f.summary, /1 of 2 .*without: mx2\.example\.com/);
  });

  it('recognises IP literals and public domains', () => {
    assert.equal(isIpLiteralName('192.0.2.1'), true);
    assert.equal(isIpLiteralName('[2001:db8::1]'), true);
    assert.equal(isIpLiteralName('mx1.example.com'), false);
    assert.equal(isPublicDomain('example.co.uk'), true);
    assert.equal(isPublicDomain('corp.local'), false);
  });
});
