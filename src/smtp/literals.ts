/**
 * What every match of a regular expression contains, as a formula over lower-case ASCII
 * literals: a literal, all of several requirements, or one of several. A text whose lower-case
 * form does not meet it cannot match, so the expression need not run: one pass of
 * LiteralScanner (below) over a text finds the literals of a whole table of phrases for less
 * than running a few of their expressions, and most phrase rules do not apply to most replies.
 *
 * The reading is conservative. Anything it does not understand yields null (no requirement),
 * and only what a match must contain is kept:
 *   - a run of literal characters between two non-literal atoms (classes, `.`, escapes such as
 *     `\w`, assertions, quantified atoms) is required when it is not optional;
 *   - a sequence requires all of its runs and of its groups' requirements (a group repeated at
 *     least once requires what its content requires), in any order: the screen does not check
 *     where in the text each one is;
 *   - an alternation requires one of its alternatives' requirements, so none when one has none;
 *   - lookarounds and anything optional require nothing.
 * Only ASCII characters are taken into literals. Under the `i` flag without `u`, the
 * expression compares characters by their upper case and no non-ASCII character matches an
 * ASCII one (ECMA-262 Canonicalize), so the lower-cased text holds a match's ASCII part
 * unchanged. With `u` or `v` Unicode folding lets non-ASCII characters match ASCII ones
 * (U+017F "ſ" matches "s"): those expressions get no requirement when they ignore case.
 *
 * All of a sequence, not only its most selective part: "too many recipients" is rare in a
 * bounce's text, "try again later" common, and an expression with `try again later.{0,40}too
 * many` in it ran on every text holding the first. Over the bounce corpus ×10, with one
 * literal of each alternative required, the bounce phrases' expressions ran 37,280 times for
 * 6,020 matches; with all of each, 9,970 times for the same matches.
 */
export type Requirement =
  string | { readonly all: readonly Requirement[] } | { readonly any: readonly Requirement[] };

export function requirement(re: RegExp): Requirement | null {
  if (re.ignoreCase && (re.unicode || re.flags.includes('v'))) return null;
  try {
    const reader = new Reader(re.source);
    const found = reader.alternation();
    return reader.done() ? found : null;
  } catch {
    return null;
  }
}

/** One of several requirements (null when one of them is none), nested alternatives flattened. */
export function anyOf(alternatives: readonly (Requirement | null)[]): Requirement | null {
  const flat: Requirement[] = [];
  for (const a of alternatives) {
    if (a === null) return null;
    for (const r of typeof a !== 'string' && 'any' in a ? a.any : [a]) if (!flat.includes(r)) flat.push(r);
  }
  return flat.length === 1 ? flat[0]! : { any: flat };
}

/**
 * Literals shorter than this are not worth looking for beside longer ones (a space, "at"):
 * nearly every text holds them, and each occurrence costs the scanner a step.
 */
const SHORTEST_USEFUL = 3;

/** The length of the shortest literal a text meeting the requirement must hold. */
function strength(r: Requirement): number {
  if (typeof r === 'string') return r.length;
  if ('any' in r) return Math.min(...r.any.map(strength));
  return Math.max(...r.all.map(strength));
}

/**
 * All of several requirements, nested conjunctions flattened. Those weaker than
 * SHORTEST_USEFUL are left out when a stronger one is there (requiring less is always safe),
 * else only the strongest is kept; none is no requirement.
 */
function allOf(parts: readonly Requirement[]): Requirement | null {
  const flat: Requirement[] = [];
  for (const p of parts)
    for (const r of typeof p !== 'string' && 'all' in p ? p.all : [p]) if (!flat.includes(r)) flat.push(r);
  const useful = flat.filter((r) => strength(r) >= SHORTEST_USEFUL);
  if (useful.length === 0) {
    let best: Requirement | null = null;
    for (const r of flat) if (!best || strength(r) > strength(best)) best = r;
    return best;
  }
  return useful.length === 1 ? useful[0]! : { all: useful };
}

/**
 * Literals one of which every text meeting the requirement holds: all those of one-of, those
 * of the strongest part of all-of. A screen need test the whole requirement only once a text
 * holds one of these (with any of its literals, common words among them, "mail" or "user",
 * would have it tested on nearly every text).
 */
export function triggers(r: Requirement): string[] {
  if (typeof r === 'string') return [r];
  if ('any' in r) return [...new Set(r.any.flatMap(triggers))];
  let best = r.all[0]!;
  for (const p of r.all) if (strength(p) > strength(best)) best = p;
  return triggers(best);
}

/** The operators of a compiled requirement (literal IDs are 0 and up). */
const ALL = -1;
const ANY = -2;

/**
 * A requirement compiled for testing against the literals a scanner found (`holds`): literal
 * IDs (from `idOf`, 0 and up) and, for all-of and one-of, an operator and the index after the
 * node, in prefix order. One array and one loop rather than objects to walk: it is tested for
 * every phrase one of whose triggers a text holds.
 */
export function compileRequirement(r: Requirement, idOf: (literal: string) => number): Int32Array {
  const code: number[] = [];
  const emit = (n: Requirement): void => {
    if (typeof n === 'string') {
      code.push(idOf(n));
      return;
    }
    const at = code.length;
    code.push('all' in n ? ALL : ANY, 0);
    for (const c of 'all' in n ? n.all : n.any) emit(c);
    code[at + 1] = code.length;
  };
  emit(r);
  return Int32Array.from(code);
}

/** Whether the literals found (1 at each one's ID) meet a compiled requirement, from its node at `at`. */
export function holds(code: Int32Array, found: readonly number[], at = 0): boolean {
  const op = code[at]!;
  if (op >= 0) return found[op] === 1;
  const all = op === ALL;
  const end = code[at + 1]!;
  for (let c = at + 2; c < end;) {
    // A literal is read here, not through a call: most nodes are literals.
    const child = code[c]!;
    let met: boolean;
    if (child >= 0) {
      met = found[child] === 1;
      c++;
    } else {
      met = holds(code, found, c);
      c = code[c + 1]!;
    }
    if (met !== all) return !all;
  }
  return all;
}

const literal = (char: string) => ({ kind: 'literal' as const, char });

/** Escapes that stand for one literal character (anything else after `\` is a class or an assertion). */
const LITERAL_ESCAPE = /[^A-Za-z0-9]/;

class Reader {
  private at = 0;
  constructor(private readonly src: string) {}

  done(): boolean {
    return this.at === this.src.length;
  }

  /** alternative ('|' alternative)* */
  alternation(): Requirement | null {
    const alternatives = [this.sequence()];
    while (this.src[this.at] === '|') {
      this.at++;
      alternatives.push(this.sequence());
    }
    return anyOf(alternatives);
  }

  /** The atoms of one alternative: all of its literal runs and groups' requirements. */
  private sequence(): Requirement | null {
    const parts: Requirement[] = [];
    let run = '';
    const endRun = (): void => {
      if (run) parts.push(run);
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
      if (atom.kind === 'group' && min > 0 && atom.required) parts.push(atom.required);
    }
    endRun();
    return allOf(parts);
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
    { kind: 'literal'; char: string } | { kind: 'group'; required: Requirement | null } | { kind: 'other' } {
    const src = this.src;
    const c = src[this.at]!;
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
 * Finds which of many literals occur in a text in one pass (an Aho–Corasick automaton): each
 * literal belongs to a group (a phrase), and `groupsIn` says which groups have at least one
 * literal in the text. Literals are lower-case ASCII; the text's ASCII letters are compared
 * lower-cased and any other character ends every partial match (no literal holds one).
 *
 * Built in time linear in the literals' length: the trie and its failure links only. A
 * transition the trie lacks is worked out along the failure links the first time a text needs
 * it and kept in the table, so a one-off run (one bounce from the command line) does not pay
 * for the whole state × character table, and a long one soon has every transition it uses.
 */
/** The scanner's first state (state 0 is none). */
const ROOT = 1;

export class LiteralScanner {
  /** Column of each ASCII character that occurs in some literal (0: any other character). */
  private readonly column = new Uint8Array(128);
  private readonly width: number;
  /** Transitions, state × column: the trie's edges, and the others once worked out; 0 unknown. */
  private readonly next: Int32Array;
  private readonly fail: Int32Array;
  /** The groups each state completes a literal of, its failure chain's included. */
  private readonly output: (readonly number[] | undefined)[];
  /**
   * 1 for the states with an output: the scan tests this for every character, and a byte
   * array read costs it less than an array of arrays and holes (~2 ns a character less).
   */
  private readonly completes: Uint8Array;
  private readonly groups: number;

  constructor(literals: readonly { text: string; group: number }[]) {
    const column = this.column;
    let width = 1;
    let length = 0;
    for (const { text } of literals) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) throw new Error(`literal ${text} is not lower-case ASCII`);
        if (!column[c]) column[c] = width++;
      }
      length += text.length;
    }
    for (let c = 0x41; c <= 0x5a; c++) column[c] = column[c + 0x20]!;
    this.width = width;
    this.groups = literals.reduce((n, l) => Math.max(n, l.group + 1), 0);

    // The trie: at most one state per literal character, and the root, numbered from ROOT (0
    // is none, so that the typed arrays need no filling: they start as zeros). Each state's
    // children are a list through two typed arrays (its first child, each child's next
    // sibling), and the groups whose literal ends at a state are kept only for those states:
    // no small array per state (thousands of them cost a one-off run more to allocate and
    // collect than the rest of the construction).
    const states = length + 1;
    const next = new Int32Array((ROOT + states) * width);
    const firstChild = new Int32Array(ROOT + states);
    const sibling = new Int32Array(ROOT + states);
    // The column each state is entered by, for the step from its parent's failure state.
    const entry = new Int32Array(ROOT + states);
    const ends: (number[] | undefined)[] = new Array<undefined>(ROOT + states);
    let count = ROOT + 1;
    for (const { text, group } of literals) {
      let s = ROOT;
      for (let i = 0; i < text.length; i++) {
        const col = column[text.charCodeAt(i)]!;
        let t = next[s * width + col]!;
        if (t === 0) {
          t = count++;
          next[s * width + col] = t;
          entry[t] = col;
          sibling[t] = firstChild[s]!;
          firstChild[s] = t;
        }
        s = t;
      }
      const own = ends[s];
      if (own) own.push(group);
      else ends[s] = [group];
    }
    // The root goes back to itself on every character that starts no literal.
    for (let col = 0; col < width; col++) if (next[ROOT * width + col] === 0) next[ROOT * width + col] = ROOT;
    this.next = next;
    const fail = new Int32Array(count);
    this.fail = fail;
    // Failure links breadth first: a state's longest proper suffix that is also in the trie.
    const output: (readonly number[] | undefined)[] = new Array<undefined>(count);
    const queue = new Int32Array(count);
    queue[0] = ROOT;
    let tail = 1;
    for (let q = 0; q < tail; q++) {
      const s = queue[q]!;
      for (let t = firstChild[s]!; t !== 0; t = sibling[t]!) {
        let f = ROOT;
        if (s !== ROOT) {
          f = next[fail[s]! * width + entry[t]!]!;
          if (f === 0) f = this.step(fail[s]!, entry[t]!);
        }
        fail[t] = f;
        const own = ends[t];
        const inherited = output[f];
        output[t] = own ? (inherited ? [...own, ...inherited] : own) : inherited;
        queue[tail++] = t;
      }
    }
    this.output = output;
    this.completes = new Uint8Array(count);
    for (let t = 0; t < count; t++) if (output[t]) this.completes[t] = 1;
  }

  /** The state after `col` from `s`, worked out along the failure links and kept when unknown. */
  private step(s: number, col: number): number {
    const at = s * this.width + col;
    let t = this.next[at]!;
    if (t === 0) {
      t = this.step(this.fail[s]!, col);
      this.next[at] = t;
    }
    return t;
  }

  /**
   * For each group, whether one of its literals is in the text: 1 at the group's index in
   * `found`, which is marked and not cleared (by default, a new array of zeros). A plain
   * array: a typed array of more than 64 bytes keeps its bytes outside V8's heap, and
   * allocating one for every text scanned cost a mailbox run more than the scanning of its
   * shorter texts. The groups marked by this call are also added to `marked`, when given (to
   * clear or read them without going through every group).
   */
  groupsIn(
    text: string,
    found: number[] = new Array<number>(this.groups).fill(0),
    marked?: number[],
  ): number[] {
    const { column, next, output, completes, width } = this;
    let s = ROOT;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const col = c < 0x80 ? column[c]! : 0;
      const t = next[s * width + col]!;
      s = t === 0 ? this.step(s, col) : t;
      if (completes[s] === 1) {
        for (const g of output[s]!) {
          if (found[g] === 1) continue;
          found[g] = 1;
          marked?.push(g);
        }
      }
    }
    return found;
  }
}
