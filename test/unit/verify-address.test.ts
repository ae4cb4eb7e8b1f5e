import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDisposableDomain, parseAddress } from '../../src/verify/address.js';

describe('address syntax for verification (RFC 5321/6531)', () => {
  const ok = (s: string) => {
    const r = parseAddress(s);
    assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error}`);
    return r.address;
  };
  const bad = (s: string, reason: string) => {
    const r = parseAddress(s);
    assert.ok(!r.ok, `${s} should be invalid`);
    assert.equal(r.reason, reason, r.error);
  };

  it('accepts dot-atoms, quoted strings, UTF-8 local parts and IDN domains', () => {
    assert.equal(ok('Alice.Smith+tag@Example.COM.').address, 'Alice.Smith+tag@example.com');
    assert.equal(ok("o'brien!#$%&*/=?^_`{|}~-@example.com").quoted, false);
    assert.equal(ok('"john doe"@example.com').quoted, true);
    assert.equal(ok('"a\\"b"@example.com').quoted, true);
    const u = ok('josé@bücher.example');
    assert.equal(u.address, 'josé@xn--bcher-kva.example');
    assert.equal(u.utf8, true);
    assert.equal(ok('<bob@example.com>').address, 'bob@example.com');
  });

  it('refuses what is not an address, saying why', () => {
    bad('', 'empty');
    bad('example.com', 'no_at');
    bad('@example.com', 'no_local_part');
    bad('a..b@example.com', 'invalid_local_part');
    bad('.a@example.com', 'invalid_local_part');
    bad('a b@example.com', 'invalid_local_part');
    bad('"unterminated@example.com', 'invalid_local_part');
    bad(`${'a'.repeat(65)}@example.com`, 'local_part_too_long');
    bad('a@[192.0.2.1]', 'address_literal');
    bad('a@localhost', 'invalid_domain');
    bad(
      `${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.com`,
      'too_long',
    );
  });

  it('flags role accounts (ignoring +tags) and disposable domains from the maintained list', () => {
    assert.equal(ok('Postmaster+x@example.com').role, true);
    assert.equal(ok('alice@example.com').role, false);
    assert.equal(ok('temp@mailinator.com').disposable, true);
    assert.equal(isDisposableDomain('sub.mailinator.com'), true);
    assert.equal(isDisposableDomain('example.com'), false);
  });
});
