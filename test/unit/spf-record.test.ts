import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandDomainSpec, isSpfRecord, parseMacroString, parseSpf } from '../../src/spf/record.js';

describe('SPF record parser', () => {
  it('parses a typical record into mechanisms and modifiers', () => {
    const r = parseSpf(
      'v=spf1 mx a:mail.example.com/28//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all exp=why.%{d}',
    );
    assert.ok(r.ok);
    const m = r.record.mechanisms.map((x) => [
      x.qualifier,
      x.name,
      x.domainSpec?.text ?? x.ip ?? '',
      x.cidr4 ?? '',
      x.cidr6 ?? '',
    ]);
    assert.deepEqual(m, [
      ['+', 'mx', '', '', ''],
      ['+', 'a', 'mail.example.com', 28, 64],
      ['+', 'ip4', '192.0.2.0', 24, ''],
      ['+', 'ip6', '2001:db8::', '', 32],
      ['+', 'include', '_spf.example.net', '', ''],
      ['~', 'all', '', '', ''],
    ]);
    assert.equal(r.record.exp?.value.text, 'why.%{d}');
  });

  it('recognises records by "v=spf1" followed by a space or the end, in any case', () => {
    assert.ok(isSpfRecord('v=spf1'));
    assert.ok(isSpfRecord('V=SPF1 -all'));
    assert.ok(!isSpfRecord('v=spf10 -all'));
    assert.ok(!isSpfRecord('v=spf1-all'));
  });

  const errors: { name: string; record: string; message: RegExp; term?: string; at: number }[] = [
    {
      name: 'prefix length over 32',
      record: 'v=spf1 ip4:192.0.2.0/33 -all',
      message: /"\/33" is not a valid prefix length/,
      term: 'ip4:192.0.2.0/33',
      at: 20,
    },
    {
      name: 'leading zero in a prefix length',
      record: 'v=spf1 ip4:192.0.2.0/024',
      message: /no leading zeros/,
      term: 'ip4:192.0.2.0/024',
      at: 20,
    },
    {
      name: 'IPv6 prefix over 128',
      record: 'v=spf1 ip6:2001:db8::/129',
      message: /"\/129"/,
      term: 'ip6:2001:db8::/129',
      at: 21,
    },
    {
      name: 'an IPv4 address with an octet over 255',
      record: 'v=spf1 mx ip4:192.0.2.300',
      message: /"192\.0\.2\.300" is not an IPv4 address/,
      term: 'ip4:192.0.2.300',
      at: 14,
    },
    {
      name: 'include without a domain',
      record: 'v=spf1 include -all',
      message: /"include" needs a domain/,
      term: 'include',
      at: 14,
    },
    {
      name: 'a numeric top-level label',
      record: 'v=spf1 a:192.0.2.1 -all',
      message: /not a domain name/,
      term: 'a:192.0.2.1',
      at: 9,
    },
    {
      name: 'an unknown macro letter',
      record: 'v=spf1 exists:%{z}.example.com',
      message: /"%\{z\}" is not a valid macro/,
      term: 'exists:%{z}.example.com',
      at: 14,
    },
    {
      name: 'an explanation-only macro in a domain',
      record: 'v=spf1 exists:%{c}.example.com',
      message: /only allowed in explanation/,
      term: 'exists:%{c}.example.com',
      at: 14,
    },
    {
      name: 'a zero macro digit',
      record: 'v=spf1 exists:%{d0}.example.com',
      message: /non-zero/,
      term: 'exists:%{d0}.example.com',
      at: 14,
    },
    {
      name: 'a bare percent sign',
      record: 'v=spf1 a:50%.example.com',
      message: /"%" must start a macro/,
      term: 'a:50%.example.com',
      at: 11,
    },
    {
      name: 'a tab between terms',
      record: 'v=spf1 a\tmx -all',
      message: /control character 0x09/,
      term: 'a\tmx',
      at: 8,
    },
    {
      name: 'an unknown mechanism',
      record: 'v=spf1 ipv4:192.0.2.1 -all',
      message: /"ipv4:192\.0\.2\.1" is not a mechanism or modifier/,
      term: 'ipv4:192.0.2.1',
      at: 7,
    },
    {
      name: '"all" with an argument',
      record: 'v=spf1 -all:example.com',
      message: /"all" takes no argument/,
      term: '-all:example.com',
      at: 11,
    },
    {
      name: 'two redirects',
      record: 'v=spf1 redirect=a.example.com redirect=b.example.com',
      message: /appears twice/,
      term: 'redirect=b.example.com',
      at: 30,
    },
    {
      name: 'non-ASCII text',
      record: 'v=spf1 a:exämple.com -all',
      message: /non-ASCII "ä"/,
      term: 'a:exämple.com',
      at: 11,
    },
  ];
  for (const e of errors) {
    it(`reports ${e.name} with the term and its offset`, () => {
      const r = parseSpf(e.record);
      assert.ok(!r.ok, 'must not parse');
      assert.match(r.error.message, e.message);
      assert.equal(r.error.term, e.term);
      assert.equal(r.error.at, e.at);
    });
  }

  it('accepts unknown modifiers (receivers ignore them) and reports them', () => {
    const r = parseSpf('v=spf1 ip4=192.0.2.1 moo.cow-far_out=man:dog/cat -all');
    assert.ok(r.ok);
    assert.deepEqual(
      r.record.unknownModifiers.map((m) => m.name),
      ['ip4', 'moo.cow-far_out'],
    );
  });
});

describe('SPF macro expansion (RFC 7208 §7.4 examples)', () => {
  const ctx4 = {
    sender: 'strong-bad@email.example.com',
    domain: 'email.example.com',
    ip: '192.0.2.3',
    helo: 'mx.example.org',
  };
  const ctx6 = { ...ctx4, ip: '2001:db8::cb01' };
  const cases: [string, string, typeof ctx4][] = [
    ['%{s}', 'strong-bad@email.example.com', ctx4],
    ['%{o}', 'email.example.com', ctx4],
    ['%{d4}', 'email.example.com', ctx4],
    ['%{d2}', 'example.com', ctx4],
    ['%{d1}', 'com', ctx4],
    ['%{dr}', 'com.example.email', ctx4],
    ['%{d2r}', 'example.email', ctx4],
    ['%{l}', 'strong-bad', ctx4],
    ['%{l-}', 'strong.bad', ctx4],
    ['%{lr}', 'strong-bad', ctx4],
    ['%{lr-}', 'bad.strong', ctx4],
    ['%{l1r-}', 'strong', ctx4],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com', ctx4],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com', ctx4],
    ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com', ctx4],
    ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com', ctx4],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net', ctx4],
    [
      '%{ir}.%{v}._spf.%{d2}',
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com',
      ctx6,
    ],
  ];
  for (const [spec, expected, ctx] of cases) {
    it(`${spec} → ${expected}`, () => {
      assert.equal(expandDomainSpec(parseMacroString(spec), ctx), expected);
    });
  }

  it('URL-escapes uppercase macros and drops left labels beyond 253 octets', () => {
    assert.equal(
      expandDomainSpec(parseMacroString('%{L}.example.com'), { ...ctx4, sender: 'a b=c@example.com' }),
      'a%20b%3Dc.example.com',
    );
    const long = expandDomainSpec(parseMacroString('%{l}.example.com'), {
      ...ctx4,
      sender: `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}@e.com`,
    });
    assert.ok(long.length <= 253);
    assert.ok(long.endsWith('.example.com'));
  });
});
