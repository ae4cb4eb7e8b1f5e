import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRegExpLiteral, visitRegExpAST } from '@eslint-community/regexpp';
import type { AST } from '@eslint-community/regexpp';
import { PHRASE_RULES } from '../../src/bounce/patterns.js';
import { requirement } from '../../src/smtp/literals.js';
import type { Requirement } from '../../src/smtp/literals.js';
import { REQUIREMENTS, literalsKey } from '../../src/smtp/literals-table.js';
import { WORDING, anyPhrase, phraseMatches, phraseReader } from '../../src/smtp/wording.js';

/**
 * The phrase screens skip an expression when the text lacks the literals its table entry
 * (src/smtp/literals-table.ts) says every match holds. test/unit/phrase-literals.test.ts
 * checks that on the fixtures, which hold only the shapes someone has already seen: a
 * requirement derived wrongly for an optional group, a class, a quantifier or a case no
 * fixture holds would pass there and silently lose the classification on such a reply.
 *
 * Here the texts come from the expressions themselves. Each expression's syntax tree is walked
 * to build strings it matches, choosing every alternative, both sides of every optional part,
 * the smallest, next and largest counts of every quantifier, every member of every class
 * (non-ASCII look-alikes and other white space among them) and upper, lower, written and mixed
 * case, least-used choice first and the rest at random from a fixed seed. Those strings, set in
 * random text, must match their expression; every match must hold what the table requires; and
 * the screened readers must answer as running every expression does.
 */

/** An expression the screens read. */
interface Screened {
  /** The first phrase it belongs to (its ID, and "(same line)" for a same-line first). */
  id: string;
  key: string;
  re: RegExp;
  /** The `then` of a same-line pair whose `first` this is: a text needs both for the phrase. */
  then?: RegExp;
}

/** Every expression the screens read (the tables' own and their same-line firsts), once each. */
function screenedExpressions(): Screened[] {
  const byKey = new Map<string, Screened>();
  for (const p of [...WORDING, ...PHRASE_RULES]) {
    const key = literalsKey(p.re);
    if (!byKey.has(key)) byKey.set(key, { id: p.id, key, re: p.re });
    for (const s of p.sameLine ?? []) {
      const first = literalsKey(s.first);
      if (!byKey.has(first))
        byKey.set(first, { id: `${p.id} (same line)`, key: first, re: s.first, then: s.then });
    }
  }
  return [...byKey.values()];
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same texts on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Characters tried for every class, `.`, escape and (for case folding) literal character:
 * printable ASCII, the other white space a reply may carry, and non-ASCII characters that
 * case folding or lower-casing relates to ASCII letters (U+017F "ſ" and "s", U+212A KELVIN
 * SIGN and "k", "İ" whose lower case is "i" and a combining dot, "ı").
 */
const CHARACTERS = [
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\u017f',
  '\u212a',
  '\u0130',
  '\u0131',
  '\u00e9',
  '\u00c9',
  '\u00df',
  '\u914d',
];

/** How the letters of one string are cased (only under the `i` flag do the others occur). */
const CASES = ['written', 'lower', 'upper', 'mixed'] as const;
type Casing = (typeof CASES)[number];

/**
 * An option of a choice, as listed when no generated match took it: an alternative by its index,
 * a quantifier by its count, and where the choice is in the expression's source (the nodes are
 * parsed from the literal, `/` and all).
 */
const option = (node: AST.Node, n: number): string => `${node.raw}@${n} at ${node.start - 1}`;

/** The options of a choice between alternatives (none when there is one). */
const alternativesOf = (node: AST.Pattern | AST.Group | AST.CapturingGroup): string[] =>
  node.alternatives.length > 1 ? node.alternatives.map((_, i) => option(node, i)) : [];

/**
 * Builds strings an expression matches by walking its syntax tree. At each choice (an
 * alternative, a count, a character) it takes the option used least so far, at random among
 * equals, so a few hundred strings take every option and many of their combinations.
 * Assertions take no characters. A word boundary (`\b`, `\B`) that the characters around it
 * do not make is mended by picking another member for a class or `.` beside it; a string the
 * expression still refuses (a lookaround not met, a boundary between two literal letters) is
 * dropped by running the expression on it (`sample`).
 */
class MatchGenerator {
  private readonly uses = new Map<object, number[]>();
  private readonly characters = new Map<AST.Node, string[]>();
  /** Options taken by the strings the expression matched (see option). */
  private readonly exercised = new Set<string>();
  private readonly flags: string;
  private readonly pattern: AST.Pattern;
  private readonly whole: RegExp;
  private readonly word: RegExp;
  /** The string being built, a character at a time, with the node each came from (to mend boundaries). */
  private out: string[] = [];
  private from: (AST.Node | null)[] = [];
  private boundaries: { at: number; negate: boolean }[] = [];
  private taken: string[] = [];
  private captures = new Map<AST.CapturingGroup, string>();
  /** Whether the expression has assertions, the only reason a generated string may be refused. */
  readonly asserts: boolean;
  /**
   * The options of its choices (see option): every alternative of a choice between several,
   * every count a quantifier is tried with (see counts); not those inside lookarounds, which
   * take no characters of the match (what surrounds it meets them or not).
   */
  readonly options: readonly string[];
  /** Strings built that the expression refused. */
  refused = 0;

  constructor(
    readonly re: RegExp,
    private readonly random: () => number,
  ) {
    this.flags = re.flags.replace(/[gy]/g, '');
    this.pattern = parseRegExpLiteral(re).pattern;
    this.whole = new RegExp(`^(?:${re.source})$`, this.flags);
    this.word = new RegExp('^\\w$', this.flags);
    let asserts = false;
    let lookaround = 0;
    const options: string[] = [];
    const add = (listed: string[]): void => {
      if (lookaround === 0) options.push(...listed);
    };
    visitRegExpAST(this.pattern, {
      onAssertionEnter: (a) => {
        asserts = true;
        if (a.kind === 'lookahead' || a.kind === 'lookbehind') lookaround++;
      },
      onAssertionLeave: (a) => {
        if (a.kind === 'lookahead' || a.kind === 'lookbehind') lookaround--;
      },
      onQuantifierEnter: (q) => add(this.counts(q).map((n) => option(q, n))),
      onPatternEnter: (node) => add(alternativesOf(node)),
      onGroupEnter: (node) => add(alternativesOf(node)),
      onCapturingGroupEnter: (node) => add(alternativesOf(node)),
    });
    this.asserts = asserts;
    this.options = options;
  }

  /** A string the whole expression matches, built in the given case (undefined after 20 refusals). */
  sample(casing: Casing): string | undefined {
    for (let attempt = 0; attempt < 20; attempt++) {
      this.out = [];
      this.from = [];
      this.boundaries = [];
      this.taken = [];
      this.captures = new Map();
      this.alternatives(this.pattern, this.pattern.alternatives, casing);
      this.mendBoundaries();
      const s = this.out.join('');
      if (this.whole.test(s)) {
        for (const t of this.taken) this.exercised.add(t);
        return s;
      }
      this.refused++;
    }
    return undefined;
  }

  /** The options no string the expression matched has taken. */
  unexercised(): string[] {
    return this.options.filter((o) => !this.exercised.has(o));
  }

  /** The index of the option used least so far (at random among equals). */
  private choose(node: object, options: number): number {
    let counts = this.uses.get(node);
    if (!counts) {
      counts = new Array<number>(options).fill(0);
      this.uses.set(node, counts);
    }
    const least = Math.min(...counts);
    const ties = counts.flatMap((c, i) => (c === least ? [i] : []));
    const pick = ties[Math.floor(this.random() * ties.length)]!;
    counts[pick]!++;
    return pick;
  }

  private alternatives(node: AST.Node, alternatives: readonly AST.Alternative[], casing: Casing): void {
    let i = 0;
    if (alternatives.length > 1) {
      i = this.choose(node, alternatives.length);
      this.taken.push(option(node, i));
    }
    for (const e of alternatives[i]!.elements) this.element(e, casing);
  }

  /** The counts a quantifier is tried with: its least, one more, and its most (or a few more). */
  private counts(q: AST.Quantifier): number[] {
    const most = Number.isFinite(q.max) ? q.max : q.min + 3;
    return [...new Set([q.min, Math.min(q.min + 1, most), most])];
  }

  private element(e: AST.Element, casing: Casing): void {
    switch (e.type) {
      case 'Quantifier': {
        const counts = this.counts(e);
        // The listed counts, and one more option: any count up to the most.
        const c = this.choose(e, counts.length + 1);
        let n: number;
        if (c < counts.length) {
          n = counts[c]!;
          this.taken.push(option(e, n));
        } else n = e.min + Math.floor(this.random() * (counts[counts.length - 1]! - e.min + 1));
        for (let k = 0; k < n; k++) this.element(e.element, casing);
        return;
      }
      case 'Group':
        if (e.modifiers) throw new Error(`modifiers in ${e.raw}: extend the generator`);
        this.alternatives(e, e.alternatives, casing);
        return;
      case 'CapturingGroup': {
        const at = this.out.length;
        this.alternatives(e, e.alternatives, casing);
        this.captures.set(e, this.out.slice(at).join(''));
        return;
      }
      case 'Backreference':
        for (const g of Array.isArray(e.resolved) ? e.resolved : [e.resolved])
          for (const c of this.captures.get(g) ?? '') this.push(c, null);
        return;
      case 'Assertion':
        // Lookarounds are met by what surrounds them or not, which `sample` finds out.
        if (e.kind === 'word') this.boundaries.push({ at: this.out.length, negate: e.negate });
        return;
      case 'Character':
      case 'CharacterClass':
      case 'CharacterSet':
        this.push(this.character(e, casing), e);
        return;
      default:
        throw new Error(`${e.type} ${e.raw}: extend the generator`);
    }
  }

  private push(c: string, node: AST.Node | null): void {
    this.out.push(c);
    this.from.push(node);
  }

  /** The characters a node matches (those of CHARACTERS, and its own). */
  private members(node: AST.Character | AST.CharacterClass | AST.CharacterSet): string[] {
    let members = this.characters.get(node);
    if (!members) {
      // A character stands for itself, escaped (its raw text may not: Annex B reads `\c1` as
      // `\`, `c`, `1`); a class for its raw text, and lists its own members too (`[\b]`).
      const own: string[] = [];
      let one: RegExp;
      if (node.type === 'Character') {
        const c = String.fromCodePoint(node.value);
        own.push(c);
        one = new RegExp(`^(?:${c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')})$`, this.flags);
      } else {
        if (node.type === 'CharacterClass')
          for (const e of node.elements) {
            if (e.type === 'Character') own.push(String.fromCodePoint(e.value));
            else if (e.type === 'CharacterClassRange')
              own.push(String.fromCodePoint(e.min.value), String.fromCodePoint(e.max.value));
          }
        one = new RegExp(`^(?:${node.raw})$`, this.flags);
      }
      members = [...new Set([...own, ...CHARACTERS])].filter((c) => one.test(c));
      if (members.length === 0) throw new Error(`no character for ${node.raw}`);
      this.characters.set(node, members);
    }
    return members;
  }

  /** One character the node matches, in the casing when it allows one. */
  private character(node: AST.Character | AST.CharacterClass | AST.CharacterSet, casing: Casing): string {
    const members = this.members(node);
    let c =
      node.type === 'Character' && casing === 'written'
        ? String.fromCodePoint(node.value)
        : members[this.choose(node, members.length)]!;
    if (casing === 'lower' || casing === 'upper') {
      const cased = casing === 'lower' ? c.toLowerCase() : c.toUpperCase();
      if (members.includes(cased)) c = cased;
    }
    return c;
  }

  /**
   * Makes each word boundary hold where a class or `.` beside it can: the character after it
   * (else the one before) becomes a member that is a word character exactly when the other is
   * not (for `\B`, when it is).
   */
  private mendBoundaries(): void {
    const isWord = (at: number): boolean => at >= 0 && at < this.out.length && this.word.test(this.out[at]!);
    for (const { at, negate } of this.boundaries) {
      if ((isWord(at - 1) !== isWord(at)) !== negate) continue;
      for (const [change, other] of [
        [at, at - 1],
        [at - 1, at],
      ] as const) {
        const node = this.from[change];
        if (!node || node.type === 'Character' || change < 0 || change >= this.out.length) continue;
        const want = isWord(other) === negate;
        const fits = this.members(node as AST.CharacterClass | AST.CharacterSet).filter(
          (c) => this.word.test(c) === want,
        );
        if (fits.length === 0) continue;
        this.out[change] = fits[Math.floor(this.random() * fits.length)]!;
        break;
      }
    }
  }
}

/** Lower-cases ASCII letters only, as the literal scanner compares them (not "İ" to "i̇"). */
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Whether a text (its ASCII letters lower-cased) holds what a requirement asks. */
function meets(r: Requirement | null, text: string): boolean {
  if (r === null) return true;
  if (typeof r === 'string') return text.includes(r);
  return 'all' in r ? r.all.every((x) => meets(x, text)) : r.any.some((x) => meets(x, text));
}

/** Words and separators around the generated matches: reply text, non-ASCII, line breaks. */
const NOISE = [
  '550',
  '5.1.1',
  '<jo@example.com>',
  'host mx1.example.net said:',
  '(in reply to RCPT TO command)',
  'smtp;',
  'the',
  'Mail',
  'user',
  'Unzustellbar',
  '配信エラー',
  '\u00e9',
  '\u00a0',
  '\u017f',
  '\n',
  '\r\n',
  '\t',
  ' ',
];
const SEPARATORS = [' ', '', '\n', ': ', '(', '"', '\t', '\u00a0', ', ', '.'];

/** The literals of a requirement (near misses are made of them). */
function literalsOf(r: Requirement | null): string[] {
  if (r === null) return [];
  if (typeof r === 'string') return [r];
  return ('all' in r ? r.all : r.any).flatMap(literalsOf);
}

/**
 * Random surroundings: noise words and near misses of the table's literals (a literal less its
 * last character, or with a letter swapped for a non-ASCII look-alike), which put the literal
 * scanner in partial matches right before a real one.
 */
function surroundings(random: () => number, literals: readonly string[], after = false): string {
  let s = '';
  const n = Math.floor(random() * 5);
  for (let k = 0; k < n; k++) {
    // Separators between the words, and between the match and the nearest word (seldom none).
    if (after) s += SEPARATORS[Math.floor(random() * SEPARATORS.length)]!;
    const pick = random();
    if (pick < 0.6 || literals.length === 0) s += NOISE[Math.floor(random() * NOISE.length)]!;
    else {
      const l = literals[Math.floor(random() * literals.length)]!;
      s +=
        pick < 0.8
          ? l.slice(0, -1)
          : l.replace(/[eksi]/, (c) => ({ e: 'é', k: '\u212a', s: 'ſ', i: 'ı' })[c]!);
    }
    if (!after) s += SEPARATORS[Math.floor(random() * SEPARATORS.length)]!;
  }
  return s;
}

/** What went wrong for one text: `re` matched it, and the match lacks what `required` asks. */
function violation(re: RegExp, required: Requirement | null, text: string): string | null {
  const m = new RegExp(re.source, re.flags.replace(/[gy]/g, '')).exec(text);
  if (!m || meets(required, asciiLower(m[0]))) return null;
  return `/${re.source}/${re.flags} matches ${JSON.stringify(m[0])} (in ${JSON.stringify(text)}), which lacks ${JSON.stringify(required)}`;
}

/** Matches generated of each expression, at least. */
const SAMPLES = 160;
/**
 * And as many per option of the expression: the least-used choice gives every option its turn,
 * but a wrong requirement may show only with two options together (an alternative of one group
 * with one of another: "exceeded maximum quota"). Dropping each alternative of the table's
 * requirements in turn (1,126 wrong tables), 8 matches per option catch the 976 that 3,000 per
 * expression catch, and 160 per expression only 973; the other 150 are no error (the literals
 * of another alternative are in every such match, in some order).
 */
const PER_OPTION = 8;
/**
 * At most, for an expression with options no match has taken yet: an option inside a rare
 * branch (an optional `'` in one alternative of an optional group in one alternative of eight)
 * comes up only every few hundred matches.
 */
const MOST_SAMPLES = SAMPLES * 8;

/**
 * Generated matches of one expression, in every casing its flags allow: `samples` of them, or
 * more until every option has been taken (at most MOST_SAMPLES).
 */
function generate(
  re: RegExp,
  random: () => number,
  samples = SAMPLES,
): { matches: string[]; generator: MatchGenerator } {
  const generator = new MatchGenerator(re, random);
  const casings = re.ignoreCase ? CASES : (['written', 'mixed'] as const);
  const matches: string[] = [];
  const wanted = Math.max(samples, PER_OPTION * generator.options.length);
  for (let k = 0; k < wanted || (k < MOST_SAMPLES && generator.unexercised().length > 0); k++) {
    const s = generator.sample(casings[k % casings.length]!);
    if (s !== undefined) matches.push(s);
  }
  return { matches, generator };
}

/** The violations of a requirement over generated matches of its expression set in random text. */
function violationsOf(re: RegExp, required: Requirement | null, seed: number): string[] {
  const random = seeded(seed);
  const { matches } = generate(re, random);
  const literals = literalsOf(required);
  const out: string[] = [];
  for (const m of matches) {
    const text = surroundings(random, literals) + m + surroundings(random, literals, true);
    const v = violation(re, required, text);
    if (v) out.push(v);
  }
  return out;
}

/**
 * Options of the phrase expressions that no match can take, by phrase ID, with the reason: the
 * generator must never produce them (else this list is out of date), and must produce every
 * other option.
 */
const IMPOSSIBLE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'generic.suspended': {
    '.{0,60}@0 at 233':
      'between `\\b(?:user|account|mailbox|address)\\b` and `\\btemporar`, two word characters with nothing between are no word boundary',
  },
};

describe('screens against generated matches of every screened expression', () => {
  const expressions = screenedExpressions();
  const allLiterals = [...new Set([...REQUIREMENTS.values()].flatMap(literalsOf))];
  const random = seeded(20261205);
  const generated = new Map<string, { matches: string[]; generator: MatchGenerator }>();
  for (const e of expressions) generated.set(e.key, generate(e.re, random));

  it('generates for every expression of the table, and only strings the expression matches', () => {
    assert.equal(expressions.length, REQUIREMENTS.size, 'the table and the phrase tables disagree');
    for (const e of expressions) {
      assert.ok(REQUIREMENTS.has(e.key), `${e.key} is not in the table`);
      const { matches, generator } = generated.get(e.key)!;
      // Only an assertion (\b, a lookaround) can refuse what the walk built; and even then,
      // most strings must pass for the samples to mean something.
      if (!generator.asserts) assert.equal(generator.refused, 0, `${e.key}: the generator is wrong`);
      assert.ok(matches.length >= SAMPLES * 0.9, `${e.key}: only ${matches.length} matches generated`);
    }
  });

  it('takes every alternative and count of every expression in some generated match', () => {
    const missed: Record<string, string[]> = {};
    for (const e of expressions) {
      const unexercised = generated.get(e.key)!.generator.unexercised();
      const impossible = IMPOSSIBLE[e.id] ?? {};
      for (const option of Object.keys(impossible))
        assert.ok(
          unexercised.includes(option),
          `${e.id}: ${option} is listed as impossible, and is not an option no match took`,
        );
      const left = unexercised.filter((o) => !(o in impossible));
      if (left.length > 0) missed[e.id] = left;
    }
    assert.deepEqual(missed, {});
  });

  it('finds what the table requires in every match of every expression, in any surroundings', () => {
    const failures: string[] = [];
    let matched = 0;
    let texts = 0;
    for (const e of expressions) {
      const required = REQUIREMENTS.get(e.key)!;
      for (const m of generated.get(e.key)!.matches) {
        const text = surroundings(random, allLiterals) + m + surroundings(random, allLiterals, true);
        texts++;
        if (e.re.test(text)) matched++;
        e.re.lastIndex = 0;
        const v = violation(e.re, required, text);
        if (v) failures.push(v);
      }
    }
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} matches lack their requirement`);
    // Surroundings may break a word boundary or a lookbehind, but seldom.
    assert.ok(matched > texts * 0.9, `only ${matched} of ${texts} texts matched`);
  });

  it('answers, screened, as running every expression does, on texts holding one or several matches', () => {
    const pool = expressions.flatMap((e) => {
      const { matches } = generated.get(e.key)!;
      if (!e.then) return matches;
      // A same-line first counts for its phrase only with its `then` after it on the line.
      const then = generate(e.then, random, matches.length).matches;
      return matches.map((m, k) => (k % 2 === 0 ? `${m} ${then[k % then.length]!}` : m));
    });
    const readers = [WORDING, PHRASE_RULES].map((table) => ({
      table,
      read: phraseReader(table),
      any: anyPhrase(table),
    }));
    const failures: string[] = [];
    let hits = 0;
    for (let k = 0; k < pool.length; k++) {
      // Most texts hold one generated match; one in four holds two or three of different expressions.
      let text = surroundings(random, allLiterals) + pool[k]!;
      if (k % 4 === 0)
        for (let n = 1 + Math.floor(random() * 2); n > 0; n--)
          text += surroundings(random, allLiterals) + pool[Math.floor(random() * pool.length)]!;
      text += surroundings(random, allLiterals, true);
      for (const { table, read, any } of readers) {
        const expected = table.map((p) => phraseMatches(p, text));
        const screened = read(text);
        hits += expected.filter(Boolean).length;
        table.forEach((p, i) => {
          if (screened[i] !== expected[i])
            failures.push(`${p.id}: ${expected[i]} unscreened on ${JSON.stringify(text)}`);
        });
        if (any(text) !== expected.includes(true))
          failures.push(`any phrase: ${expected.includes(true)} on ${JSON.stringify(text)}`);
      }
    }
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} screened answers differ`);
    assert.ok(hits > pool.length, `only ${hits} phrase matches over ${pool.length} texts`);
  });
});

describe('the generated-match check', () => {
  // Requirements derived wrongly for the shapes the screens' expressions use: each must be
  // caught, and what the reader derives for the same expression must not be.
  const wrong: [RegExp, Requirement, string][] = [
    [/colou?r scheme/i, 'colour scheme', 'an optional character'],
    [/\bmail ?box (?:is )?full\b/i, { all: ['mailbox ', 'full'] }, 'an optional space'],
    [/delivery not authori[sz]ed/i, 'delivery not authoriz', 'a class'],
    [/\bgr[ae]y[- ]?list(?:ed|ing)?\b/i, 'greylist', 'a class and an optional class'],
    [
      /no such (?:user|mailbox|recipient)/i,
      { all: ['no such ', { any: ['user', 'mailbox'] }] },
      'an alternative',
    ],
    [
      /no (?:mx|mail exchanger)(?: records?)? found/i,
      { all: ['no ', 'record', ' found'] },
      'an optional group',
    ],
    [/no\s+such user/i, 'no such user', '\\s for a space'],
    [/try again later.{0,40}too many/i, 'try again later too many', 'a quantifier {0,n}'],
    [/\[TSS?0?3\]/i, '[tss', 'an optional letter in brackets'],
    [/user unknown/i, 'User unknown', 'case: the text is compared in lower case'],
    [/spam/iu, 'spam', 'Unicode case folding ("ſ" for "s")'],
    [/(?<!sender )address rejected/i, 'sender address rejected', 'a lookbehind'],
    [/(ab|cd)-\1 rejected/, 'ab-ab', 'a back-reference'],
  ];
  for (const [re, required, shape] of wrong) {
    it(`catches a requirement wrong about ${shape}: /${re.source}/${re.flags}`, () => {
      assert.ok(violationsOf(re, required, 7).length > 0, 'the wrong requirement passed');
      assert.deepEqual(violationsOf(re, requirement(re), 7), [], 'the derived requirement failed');
    });
  }
});
