import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PHRASE_RULES } from '../../src/bounce/patterns.js';
import { LiteralScanner, requiredLiterals } from '../../src/smtp/literals.js';
import { literalsTableText } from '../../src/docs/literals-table.js';
import { REQUIRED_LITERALS, literalsKey } from '../../src/smtp/literals-table.js';
import { WORDING, anyPhrase, phraseMatches, phraseReader } from '../../src/smtp/wording.js';

/**
 * The phrase tables are screened by required literals (src/smtp/literals.ts) before their
 * expressions run. The screen may only ever skip an expression that could not have matched:
 * these tests hold the literal reader to the expression grammar, and the screened reader to
 * exactly the answers of running every expression.
 */

const sorted = (re: RegExp): string[] | null => {
  const l = requiredLiterals(re);
  return l && [...l].sort();
};

describe('required literals of an expression', () => {
  it('takes the literal runs a match must contain', () => {
    assert.deepEqual(sorted(/user unknown/i), ['user unknown']);
    // The longest run of a sequence; classes, `.` and assertions end runs.
    assert.deepEqual(sorted(/\bno such (?:user|mailbox)\b.{0,20}here/i), ['no such ']);
    // An alternation needs one of its alternatives' literals.
    assert.deepEqual(sorted(/mailbox (?:is )?full|over quota|quota exceeded/i), [
      'mailbox ',
      'over quota',
      'quota exceeded',
    ]);
    // Escaped punctuation is literal; an optional character splits the run around it.
    assert.deepEqual(sorted(/groups\.google\.com\/support/i), ['groups.google.com/support']);
    assert.deepEqual(sorted(/colou?r scheme/), ['r scheme']);
    // A repeated character is there once; the run cannot go on past it.
    assert.deepEqual(sorted(/ab+cdef/), ['cdef']);
    assert.deepEqual(sorted(/xa{2}b/), ['xa']);
  });

  it('requires nothing of what may be absent', () => {
    // One alternative without a literal: nothing is required of the whole.
    assert.equal(requiredLiterals(/spam|\d{3}/i), null);
    assert.equal(requiredLiterals(/(?:abc)?\w+/), null);
    assert.deepEqual(sorted(/(?:abc)*x/), ['x']);
    // Lookarounds match no characters of their own.
    assert.deepEqual(sorted(/(?<![@\w.-])host(?!name)/i), ['host']);
    assert.equal(requiredLiterals(/(?=abc)\w/), null);
    // An empty alternative: the group requires nothing, the runs around it still count.
    assert.equal(requiredLiterals(/(?:bc|)\d/), null);
    assert.deepEqual(sorted(/ab(?:cdef|)g/), ['ab']);
  });

  it('leaves out characters it cannot compare by lower case', () => {
    // Non-ASCII letters end a run; with the `u` flag case folding can map non-ASCII text onto
    // ASCII letters (U+017F matches "s"), so no literal is trusted there.
    assert.deepEqual(sorted(/nicht zustellbar|unzustellbar/i), ['nicht zustellbar', 'unzustellbar']);
    assert.deepEqual(sorted(/配信エラー: mailbox/i), [': mailbox']);
    assert.equal(requiredLiterals(/spam/iu), null);
    assert.ok(/spam/iu.test('\u017Fpam'));
    assert.deepEqual(sorted(/spam/u), ['spam']);
    // Escapes for characters by number, back-references, named groups: not read as literals.
    assert.deepEqual(sorted(/\x41bc/), ['bc']);
    assert.deepEqual(sorted(/(?<w>ab)c\k<w>/), ['ab']);
    assert.deepEqual(sorted(/(a)bcd\1/), ['bcd']);
  });

  it('gives up on what it does not parse, rather than guess', () => {
    assert.equal(requiredLiterals(/a{,3}b/), null); // a brace that is a literal in Annex B
  });
});

describe('literal scanner', () => {
  it('finds every literal, overlapping ones and ones inside others too', () => {
    const scanner = new LiteralScanner([
      { text: 'he', group: 0 },
      { text: 'she', group: 1 },
      { text: 'hers', group: 2 },
      { text: 'his', group: 3 },
      { text: 'user unknown', group: 4 },
      { text: 'unknown', group: 5 },
    ]);
    assert.deepEqual([...scanner.groupsIn('uSHErs')], [1, 1, 1, 0, 0, 0]);
    assert.deepEqual([...scanner.groupsIn('USER UNKNOWN')], [0, 0, 0, 0, 1, 1]);
    assert.deepEqual([...scanner.groupsIn('user\u00a0unknown')], [0, 0, 0, 0, 0, 1]);
    assert.deepEqual([...scanner.groupsIn('')], [0, 0, 0, 0, 0, 0]);
    // A non-ASCII character breaks a partial match: "hé" + "rs" is not "hers".
    assert.deepEqual([...scanner.groupsIn('hérs')], [0, 0, 0, 0, 0, 0]);
  });

  it('refuses literals that are not lower-case ASCII', () => {
    assert.throws(() => new LiteralScanner([{ text: 'User', group: 0 }]), /not lower-case ASCII/);
  });
});

/** Reply texts from the fixtures: the documented provider replies and the real MTAs' bounces. */
function fixtureTexts(): string[] {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'bounces');
  const provider = JSON.parse(readFileSync(join(dir, 'provider-replies.json'), 'utf8')) as {
    cases: { reply: string }[];
  };
  const texts = provider.cases.map((c) => c.reply);
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(eml|txt|mbox)$/.test(name)) {
        // Whole messages, and each line: phrases see both short replies and long contexts.
        const text = readFileSync(path, 'latin1');
        texts.push(text, ...text.split('\n').filter((l) => l.length > 20));
      }
    }
  };
  walk(dir);
  // The phrase tables' own sources quote the wording they are written for.
  for (const p of [...WORDING, ...PHRASE_RULES]) if ('source' in p) texts.push(String(p.source));
  return texts;
}

/** The same text in other cases and with non-ASCII noise, as replies come. */
const variants = (t: string): string[] => [t, t.toUpperCase(), t.toLowerCase(), t.replace(/ /g, ' \u00e9 ')];

describe('the generated table of required literals', () => {
  it('is current (run `npm run docs` when this fails)', () => {
    assert.equal(readFileSync('src/smtp/literals-table.ts', 'utf8'), literalsTableText());
  });

  it('holds every expression the screens read, with what reading it now gives', () => {
    for (const p of [...WORDING, ...PHRASE_RULES]) {
      for (const re of [p.re, ...(p.sameLine ?? []).map((s) => s.first)]) {
        assert.ok(REQUIRED_LITERALS.has(literalsKey(re)), re.source);
        assert.deepEqual(REQUIRED_LITERALS.get(literalsKey(re)), requiredLiterals(re), re.source);
      }
    }
  });
});

describe('screened phrase reading', () => {
  const texts = fixtureTexts().flatMap(variants);

  for (const [name, table] of [
    ['the wording table', WORDING],
    ['the bounce phrase rules', PHRASE_RULES],
  ] as const) {
    it(`answers exactly as running every expression of ${name}`, () => {
      const read = phraseReader(table);
      let matched = 0;
      for (const text of texts) {
        const expected = table.map((p) => phraseMatches(p, text));
        assert.deepEqual(read(text), expected, text.slice(0, 200));
        matched += expected.filter(Boolean).length;
      }
      // The comparison means something only if the texts make many phrases match.
      assert.ok(matched > 1000, `only ${matched} matches over ${texts.length} texts`);
    });

    it(`says whether any phrase of ${name} is in a text exactly as trying each in turn`, () => {
      const any = anyPhrase(table);
      let yes = 0;
      for (const text of texts) {
        const expected = table.some((p) => phraseMatches(p, text));
        assert.equal(any(text), expected, text.slice(0, 200));
        if (expected) yes++;
      }
      // Both answers must occur for the comparison to mean something.
      assert.ok(yes > 100 && yes < texts.length, `${yes} of ${texts.length} texts hold a phrase`);
    });
  }

  it('knows required literals for nearly every phrase', () => {
    const without = [...WORDING, ...PHRASE_RULES].filter((p) => requiredLiterals(p.re) === null);
    assert.ok(without.length <= 3, `no literals for ${without.map((p) => p.re.source).join(', ')}`);
  });
});
