import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDomain } from '../../src/input/domain.js';

describe('normalizeDomain', () => {
  const accepted: [string, string, string, string, string?][] = [
    // name, input, ascii, unicode, localPart
    ['plain', 'example.com', 'example.com', 'example.com'],
    ['surrounding spaces and upper case', '  ExAmPle.COM  ', 'example.com', 'example.com'],
    ['trailing dot (fully qualified)', 'example.com.', 'example.com', 'example.com'],
    ['IDN in Unicode', 'bücher.example', 'xn--bcher-kva.example', 'bücher.example'],
    ['IDN already in punycode', 'XN--BCHER-KVA.example', 'xn--bcher-kva.example', 'bücher.example'],
    ['email address', 'Alice@Example.com', 'example.com', 'example.com', 'Alice'],
    ['email with IDN domain', 'jörg@münchen.de', 'xn--mnchen-3ya.de', 'münchen.de', 'jörg'],
    ['quoted local part with @', '"a@b"@example.org', 'example.org', 'example.org', '"a@b"'],
    ['deep subdomain', 'a.b.c.d.example.co.uk', 'a.b.c.d.example.co.uk', 'a.b.c.d.example.co.uk'],
    ['label of exactly 63', `${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
    ['full-width dot (IDNA maps it)', 'example。com', 'example.com', 'example.com'],
  ];
  for (const [name, input, ascii, unicode, localPart] of accepted) {
    it(`accepts ${name}`, () => {
      const r = normalizeDomain(input);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.domain.ascii, ascii);
      assert.equal(r.domain.unicode, unicode);
      assert.equal(r.domain.localPart, localPart);
      assert.equal(r.domain.input, input);
    });
  }

  const rejected: [string, string, RegExp][] = [
    ['empty', '   ', /No domain was given/],
    ['over 253 octets', Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.') + '.com', /253/],
    ['a label over 63', `${'a'.repeat(64)}.com`, /limit is 63/],
    ['illegal characters', 'exa$mple.com', /character "\$"/],
    ['a symbol beyond ASCII', 'exa\u2603mple.com', /character "\u2603"/],
    ['an illegal ASCII character in an IDN', 'b\u00fccher$.example', /character "\$"/],
    ['underscore', 'mail_server.example.com', /"_"/],
    ['an IPv4 address', '192.0.2.1', /IP address/],
    ['an IPv6 address', '2001:db8::1', /IP address|character/],
    ['a bracketed IPv6 address', '[2001:db8::1]', /IP address/],
    ['a URL', 'https://example.com/path', /URL/],
    ['a mailto URL', 'mailto:bob@example.com', /URL/],
    ['a single label', 'localhost', /single label/],
    ['an empty label', 'example..com', /empty label/],
    ['a leading hyphen', '-example.com', /hyphen/],
    ['a numeric TLD', 'example.123', /all-numeric/],
    ['an email with empty domain', 'bob@', /no domain after "@"/],
    ['an email with empty local part', '@example.com', /nothing before "@"/],
    ['an address literal', 'bob@[192.0.2.1]', /address literal/],
    ['spaces inside', 'exa mple.com', /spaces/],
  ];
  for (const [name, input, message] of rejected) {
    it(`rejects ${name} with a message that says what is accepted`, () => {
      const r = normalizeDomain(input);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.match(r.error, message);
        assert.match(r.error, /Expected a domain name such as example\.com/);
      }
    });
  }
});
