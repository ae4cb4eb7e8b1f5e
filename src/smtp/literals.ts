/**
 * Required literals of a regular expression: a few lower-case ASCII strings of which every match
 * contains at least one. A text whose lower-case form holds none of them cannot match, so the
 * expression need not run: `includes` over a text is several times cheaper than running an
 * expression of many alternatives over it, and most phrase rules do not apply to most replies.
 *
 * The reading is conservative. Anything it does not understand yields null (no filter), and
 * only what a match must contain is kept:
 *   - a run of literal characters between two non-literal atoms (classes, `.`, escapes such as
 *     `\w`, assertions, quantified atoms) is required when it is not optional;
 *   - an alternation requires one of its alternatives' literals, so none when one has none;
 *   - a group repeated at least once requires what its content requires;
 *   - lookarounds and anything optional require nothing.
 * Only ASCII characters are taken into literals. Under the `i` flag without `u`, the
 * expression compares characters by their upper case and no non-ASCII character matches an
 * ASCII one (ECMA-262 Canonicalize), so the lower-cased text holds a match's ASCII part
 * unchanged. With `u` or `v` Unicode folding lets non-ASCII characters match ASCII ones
 * (U+017F "ſ" matches "s"): those expressions get no literals when they ignore case.
 */
export function requiredLiterals(re: RegExp): readonly string[] | null {
  if (re.ignoreCase && (re.unicode || re.flags.includes('v'))) return null;
  try {
    const reader = new Reader(re.source);
    const found = reader.alternation();
    return reader.done() && found ? [...found] : null;
  } catch {
    return null;
  }
}

/** A set of strings one of which a match contains, or null for none known. */
type Required = ReadonlySet<string> | null;

/** The more selective of two requirements: the one whose shortest literal is longest. */
function stronger(a: Required, b: Required): Required {
  if (!a) return b;
  if (!b) return a;
  const shortest = (s: ReadonlySet<string>): number => Math.min(...[...s].map((x) => x.length));
  return shortest(b) > shortest(a) ? b : a;
}

/** Escapes that stand for one literal character (anything else after `\` is a class or an assertion). */
const LITERAL_ESCAPE = /[^A-Za-z0-9]/;

class Reader {
  private at = 0;
  constructor(private readonly src: string) {}

  done(): boolean {
    return this.at === this.src.length;
  }

  /** alternative ('|' alternative)* */
  alternation(): Required {
    const alternatives = [this.sequence()];
    while (this.src[this.at] === '|') {
      this.at++;
      alternatives.push(this.sequence());
    }
    if (alternatives.length === 1) return alternatives[0]!;
    const union = new Set<string>();
    for (const a of alternatives) {
      if (!a) return null;
      for (const s of a) union.add(s);
    }
    return union;
  }

  /** The atoms of one alternative: the strongest requirement among its literal runs and groups. */
  private sequence(): Required {
    let run = '';
    let best: Required = null;
    const endRun = (): void => {
      if (run) best = stronger(best, new Set([run]));
      run = '';
    };
    while (this.at < this.src.length && this.src[this.at] !== '|' && this.src[this.at] !== ')') {
      const atom = this.atom();
      const { min, more } = this.quantifier();
      if (atom.kind === 'literal' && atom.char.charCodeAt(0) < 0x80) {
        if (min > 0) run += atom.char.toLowerCase();
        // Optional, or repeated (there at least once, but then the run cannot go on).
        if (min === 0 || more) endRun();
        continue;
      }
      endRun();
      if (atom.kind === 'group' && min > 0) best = stronger(best, atom.required);
    }
    endRun();
    return best;
  }

  /** The quantifier after an atom: its minimum count, and whether it allows more than one. */
  private quantifier(): { min: number; more: boolean } {
    const c = this.src[this.at];
    let q: { min: number; more: boolean };
    if (c === '?') q = { min: 0, more: false };
    else if (c === '*') q = { min: 0, more: true };
    else if (c === '+') q = { min: 1, more: true };
    else if (c === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(this.src.slice(this.at, this.at + 24));
      if (!m) throw new Error('a brace that is not a quantifier');
      const min = Number(m[1]);
      q = { min, more: m[2] !== undefined || min > 1 };
      this.at += m[0].length - 1;
    } else return { min: 1, more: false };
    this.at++;
    if (this.src[this.at] === '?') this.at++; // lazy
    return q;
  }

  private atom():
    { kind: 'literal'; char: string } | { kind: 'group'; required: Required } | { kind: 'other' } {
    const src = this.src;
    const c = src[this.at]!;
    const literal = (char: string) => ({ kind: 'literal' as const, char });
    if (c === '\\') {
      const next = src[this.at + 1];
      if (next === undefined) throw new Error('a trailing backslash');
      this.at += 2;
      if (LITERAL_ESCAPE.test(next)) return literal(next);
      // \d \w \s \b \n \xHH \uHHHH \p{…} \k<…> \1 …: not a literal character the reader knows.
      if (next === 'x') this.at += 2;
      else if (next === 'u') this.at += src[this.at] === '{' ? src.indexOf('}', this.at) - this.at + 1 : 4;
      else if (next === 'c') this.at += 1;
      else if (next === 'p' || next === 'P') this.at = src.indexOf('}', this.at) + 1;
      else if (next === 'k') this.at = src.indexOf('>', this.at) + 1;
      if (this.at <= 0) throw new Error('an unfinished escape');
      return { kind: 'other' };
    }
    if (c === '[') {
      this.at++;
      if (src[this.at] === '^') this.at++;
      if (src[this.at] === ']') this.at++;
      while (src[this.at] !== ']') {
        if (this.at >= src.length) throw new Error('an unfinished class');
        if (src[this.at] === '\\') this.at++;
        this.at++;
      }
      this.at++;
      return { kind: 'other' };
    }
    if (c === '(') {
      this.at++;
      let look = false;
      if (src[this.at] === '?') {
        const after = src.slice(this.at + 1, this.at + 3);
        if (after[0] === ':') this.at += 2;
        else if (after[0] === '=' || after[0] === '!') {
          look = true;
          this.at += 2;
        } else if (after === '<=' || after === '<!') {
          look = true;
          this.at += 3;
        } else if (after[0] === '<') this.at = src.indexOf('>', this.at) + 1;
        else throw new Error('a group the reader does not know');
      }
      const required = this.alternation();
      if (src[this.at] !== ')') throw new Error('an unclosed group');
      this.at++;
      return look ? { kind: 'other' } : { kind: 'group', required };
    }
    if (c === ')' || c === '|' || c === '*' || c === '+' || c === '?' || c === '{' || c === '}' || c === ']')
      throw new Error(`a stray ${c}`);
    this.at++;
    if (c === '.' || c === '^' || c === '$') return { kind: 'other' };
    return literal(c);
  }
}

/**
 * Finds which of many literals occur in a text in one pass (an Aho–Corasick automaton, built
 * once): each literal belongs to a group (a phrase), and `groupsIn` says which groups have at
 * least one literal in the text. Literals are lower-case ASCII; the text's ASCII letters are
 * compared lower-cased and any other character ends every partial match (no literal holds one).
 */
export class LiteralScanner {
  /** Column of each ASCII character that occurs in some literal (0: any other character). */
  private readonly column = new Uint8Array(128);
  private readonly width: number;
  /** The automaton's transitions, state × column (a complete table: no failure links to follow). */
  private readonly next: Int32Array;
  /** The groups each state completes a literal of, its failure chain's included. */
  private readonly output: (readonly number[] | undefined)[];
  private readonly groups: number;

  constructor(literals: readonly { text: string; group: number }[]) {
    let width = 1;
    for (const { text } of literals) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) throw new Error(`literal ${text} is not lower-case ASCII`);
        if (!this.column[c]) this.column[c] = width++;
      }
    }
    for (let c = 0x41; c <= 0x5a; c++) this.column[c] = this.column[c + 0x20]!;
    this.width = width;
    this.groups = literals.reduce((n, l) => Math.max(n, l.group + 1), 0);

    // The trie.
    const trie: number[][] = [new Array<number>(width).fill(-1)];
    const ends: Set<number>[] = [new Set()];
    for (const { text, group } of literals) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        const col = this.column[text.charCodeAt(i)]!;
        if (trie[s]![col] === -1) {
          trie[s]![col] = trie.length;
          trie.push(new Array<number>(width).fill(-1));
          ends.push(new Set());
        }
        s = trie[s]![col]!;
      }
      ends[s]!.add(group);
    }
    // Failure links, breadth first, turned into a complete transition table.
    const next = new Int32Array(trie.length * width);
    const fail = new Int32Array(trie.length);
    const queue: number[] = [];
    for (let col = 0; col < width; col++) {
      const t = col === 0 ? -1 : trie[0]![col]!;
      next[col] = t === -1 ? 0 : t;
      if (t > 0) queue.push(t);
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const g of ends[fail[s]!]!) ends[s]!.add(g);
      for (let col = 0; col < width; col++) {
        const t = col === 0 ? -1 : trie[s]![col]!;
        if (t === -1) next[s * width + col] = next[fail[s]! * width + col]!;
        else {
          next[s * width + col] = t;
          fail[t] = next[fail[s]! * width + col]!;
          queue.push(t);
        }
      }
    }
    this.next = next;
    this.output = ends.map((e) => (e.size ? [...e] : undefined));
  }

  /** For each group, whether one of its literals is in the text. */
  groupsIn(text: string): Uint8Array {
    const found = new Uint8Array(this.groups);
    const { column, next, output, width } = this;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = next[s * width + (c < 0x80 ? column[c]! : 0)]!;
      const out = output[s];
      if (out) for (const g of out) found[g] = 1;
    }
    return found;
  }
}
