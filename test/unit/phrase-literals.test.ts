import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PHRASE_RULES } from '../../src/bounce/patterns.js';
import { LiteralScanner, compileRequirement, holds, requirement } from '../../src/smtp/literals.js';
import type { Requirement } from '../../src/smtp/literals.js';
import { literalsTableText } from '../../src/docs/literals-table.js';
import { REQUIREMENTS, literalsKey } from '../../src/smtp/literals-table.js';
import { WORDING, anyPhrase, phraseMatches, phraseReader } from '../../src/smtp/wording.js';

/**
 * The phrase tables are screened by the literals their matches require (src/smtp/literals.ts)
 * before their expressions run. The screen may only ever skip an expression that could not have matched:
 * these tests hold the literal reader to the expression grammar, and the screened reader to
 * exactly the answers of running every expression.
 */

describe('what every match of an expression requires', () => {
  it('requires the literal runs a match must contain, all of those of a sequence', () => {
    assert.deepEqual(requirement(/user unknown/i), 'user unknown');
    // Classes, `.` and assertions end runs; a sequence requires each run and group in it.
    assert.deepEqual(requirement(/\bno such (?:user|mailbox)\b.{0,20}here/i), {
      all: ['no such ', { any: ['user', 'mailbox'] }, 'here'],
    });
    // An alternation needs one of its alternatives.
    assert.deepEqual(requirement(/mailbox (?:is )?full|over quota|quota exceeded/i), {
      any: [{ all: ['mailbox ', 'full'] }, 'over quota', 'quota exceeded'],
    });
    // Escaped punctuation is literal; an optional character splits the run around it.
    assert.deepEqual(requirement(/groups\.google\.com\/support/i), 'groups.google.com/support');
    assert.deepEqual(requirement(/colou?r scheme/), { all: ['colo', 'r scheme'] });
    // A repeated character is there once; the run cannot go on past it.
    assert.deepEqual(requirement(/ab+cdef/), 'cdef');
    assert.deepEqual(requirement(/abc+def/), { all: ['abc', 'def'] });
  });

  it('leaves out literals too short to look for, unless nothing longer is required', () => {
    assert.deepEqual(requirement(/a \d+ days/), ' days');
    assert.deepEqual(requirement(/xa{2}b/), 'xa');
    assert.deepEqual(requirement(/(?:abc)*x/), 'x');
    // One short alternative makes the whole alternation as weak as it.
    assert.deepEqual(requirement(/(?:ab|cdef) ghij/), ' ghij');
  });

  it('requires nothing of what may be absent', () => {
    // One alternative without a literal: nothing is required of the whole.
    assert.equal(requirement(/spam|\d{3}/i), null);
    assert.equal(requirement(/(?:abc)?\w+/), null);
    // Lookarounds match no characters of their own.
    assert.deepEqual(requirement(/(?<![@\w.-])host(?!name)/i), 'host');
    assert.equal(requirement(/(?=abc)\w/), null);
    // An empty alternative: the group requires nothing, the runs around it still count.
    assert.equal(requirement(/(?:bc|)\d/), null);
    assert.deepEqual(requirement(/abc(?:defg|)hij/), { all: ['abc', 'hij'] });
  });

  it('leaves out characters it cannot compare by lower case', () => {
    // Non-ASCII letters end a run; with the `u` flag case folding can map non-ASCII text onto
    // ASCII letters (U+017F matches "s"), so no literal is trusted there.
    assert.deepEqual(requirement(/nicht zustellbar|unzustellbar/i), {
      any: ['nicht zustellbar', 'unzustellbar'],
    });
    assert.deepEqual(requirement(/配信エラー: mailbox/i), ': mailbox');
    assert.equal(requirement(/spam/iu), null);
    assert.ok(/spam/iu.test('\u017Fpam'));
    assert.deepEqual(requirement(/spam/u), 'spam');
    // Escapes for characters by number, back-references, named groups: not read as literals.
    assert.deepEqual(requirement(/\x41bc/), 'bc');
    assert.deepEqual(requirement(/(?<w>abc)d\k<w>/), 'abc');
    assert.deepEqual(requirement(/(a)bcd\1/), 'bcd');
  });

  it('gives up on what it does not parse, rather than guess', () => {
    assert.equal(requirement(/a{,3}b/), null); // a brace that is a literal in Annex B
  });

  it('is tested, compiled, against the literals a text holds', () => {
    const ids = new Map<string, number>();
    const idOf = (literal: string): number => {
      if (!ids.has(literal)) ids.set(literal, ids.size);
      return ids.get(literal)!;
    };
    const code = compileRequirement(
      requirement(/\bno such (?:user|mailbox)\b.{0,20}here|user unknown/i)!,
      idOf,
    );
    const found = (...literals: string[]): number[] =>
      [...ids.keys()].map((l) => (literals.includes(l) ? 1 : 0));
    assert.equal(holds(code, found('no such ', 'mailbox', 'here')), true);
    assert.equal(holds(code, found('user unknown')), true);
    assert.equal(holds(code, found('no such ', 'here')), false);
    assert.equal(holds(code, found('no such ', 'user', 'mailbox')), false);
    assert.equal(holds(code, found()), false);
  });
});

/** Whether a lower-case text meets a requirement, read directly (the reference for the compiled test). */
function meets(r: Requirement | null, text: string): boolean {
  if (r === null) return true;
  if (typeof r === 'string') return text.includes(r);
  return 'all' in r ? r.all.every((x) => meets(x, text)) : r.any.some((x) => meets(x, text));
}

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

  it('lists the groups it marks, once each, when asked', () => {
    const scanner = new LiteralScanner([
      { text: 'he', group: 0 },
      { text: 'she', group: 1 },
      { text: 'hers', group: 1 },
    ]);
    const found = [0, 0];
    const marked: number[] = [];
    scanner.groupsIn('she hers he', found, marked);
    assert.deepEqual(found, [1, 1]);
    assert.deepEqual(
      marked.sort((a, b) => a - b),
      [0, 1],
    );
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
        assert.ok(REQUIREMENTS.has(literalsKey(re)), re.source);
        assert.deepEqual(REQUIREMENTS.get(literalsKey(re)), requirement(re), re.source);
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

  it('finds every match of every expression meeting its requirement', () => {
    // The match alone, not only the text around it, holds what the expression requires.
    let checked = 0;
    for (const p of [...WORDING, ...PHRASE_RULES]) {
      for (const re of [p.re, ...(p.sameLine ?? []).map((s) => s.first)]) {
        const required = requirement(re);
        const once = new RegExp(re.source, re.flags.replace('g', ''));
        for (const text of texts) {
          const m = once.exec(text);
          if (!m) continue;
          checked++;
          assert.ok(meets(required, m[0].toLowerCase()), `${re.source} on ${m[0]}`);
        }
      }
    }
    assert.ok(checked > 1000, `only ${checked} matches`);
  });

  it('knows a requirement for nearly every phrase', () => {
    const without = [...WORDING, ...PHRASE_RULES].filter((p) => requirement(p.re) === null);
    assert.ok(without.length <= 3, `no literals for ${without.map((p) => p.re.source).join(', ')}`);
  });
});
