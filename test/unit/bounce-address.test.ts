import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { containsAddress, scanAddresses } from '../../src/bounce/address.js';
import { withoutLeadingAddress } from '../../src/bounce/notice.js';

/**
 * The address scanner against the regular expression it replaces (kept here as the
 * specification): on random text built from the characters that matter, the same matches at
 * the same places, in the same order.
 */
const SPEC =
  /<?([a-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}|[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@\[[0-9a-f:.]+\])>?/gi;

function bySpec(text: string): { start: number; end: number; address: string }[] {
  return [...text.matchAll(SPEC)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    address: m[1]!,
  }));
}

const ALPHABET = [
  'a',
  'b',
  'Z',
  'f',
  '1',
  '0',
  '.',
  '-',
  '@',
  '<',
  '>',
  '[',
  ']',
  ':',
  ' ',
  '_',
  '+',
  'é',
  '\n',
  ',',
];

describe('address scanner', () => {
  it('finds what the pattern finds, on random text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        assert.deepEqual([...scanAddresses(text)], bySpec(text));
        assert.equal(containsAddress(text), bySpec(text).length > 0);
      }),
      { numRuns: 20_000, seed: 1313 },
    );
  });

  it('finds what the pattern finds in real-looking text', () => {
    for (const text of [
      '<jane.doe@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <jane.doe@example.com>... User unknown',
      'a@b.cc,d@e.ff <x@[192.0.2.7]> x@a.bc1y@d.ef a@b.com-x@c.org <a@b.cc>d@e.ff',
      'Final-Recipient: rfc822; "quoted"@example.org; Mixed.Case@EXAMPLE.COM.',
      `x@${'a.'.repeat(70)}${'b'.repeat(70)} y@sub.example.co.uk`,
    ]) {
      assert.deepEqual([...scanAddresses(text)], bySpec(text), text);
    }
  });

  it('reads a long dotted token in linear time', () => {
    const text = `x@${'a.'.repeat(200_000)} 550 5.1.1 ${'a.'.repeat(200_000)}@`;
    const t0 = performance.now();
    assert.deepEqual([...scanAddresses(text)], []);
    assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  });

  it('removes a leading address as its pattern did', () => {
    const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const chars = ['a', 'B', '!', '.', '<', '>', ':', ' ', '@', 'x', '_', 'é', 'ı', 'I'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...chars), { maxLength: 12 }),
        fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 6 }),
        fc.array(fc.constantFrom(...chars), { maxLength: 8 }),
        fc.boolean(),
        (before, address, after, upper) => {
          const a = address.join('');
          const text = before.join('') + (upper ? a.toUpperCase() : a) + after.join('');
          const spec = text.replace(new RegExp(`^\\W*${escape(a)}>?\\s*:?\\s*`, 'i'), '');
          assert.equal(withoutLeadingAddress(text, a), spec, JSON.stringify({ text, a }));
        },
      ),
      { numRuns: 20_000, seed: 2024 },
    );
  });
});
