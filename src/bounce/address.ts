/**
 * E-mail addresses in free text, found by scanning instead of a regular expression. The
 * pattern this replaces,
 *
 *   /<?([L]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}|[L]+@\[[0-9a-f:.]+\])>?/gi
 *
 * (L: the RFC 5322 atext characters and "."), is tried by a backtracking engine at every
 * character: on a long run of L characters without "@" — a dotted token of 64,000 labels —
 * each start reads to the end of the run, quadratic time (issue 13: 38 s of CPU for a 128 KB
 * bounce). The scanner finds the same matches, in the same order, reading each character a
 * bounded number of times: a match needs an "@", its local part is the run of L characters
 * before that "@" (from where the previous match ended), and its domain is read once after it.
 * test/unit/bounce-address.test.ts compares it with the pattern on random text.
 */

export interface AddressMatch {
  /** Where the match starts (at "<" when the address is in angle brackets) and ends. */
  start: number;
  end: number;
  /** The address, as written. */
  address: string;
}

/**
 * RFC 5322 atext and ".", the local-part characters of the pattern (case-insensitive): 1 by
 * character code (all ASCII), a table rather than a set of one-character strings, read for
 * every character of every local part.
 */
const LOCAL = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-")
  LOCAL[c.charCodeAt(0)] = 1;

function isLocal(c: number): boolean {
  return c < 128 && LOCAL[c] === 1;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * The end of the domain after an "@" at `at` (`(?:label\.)+[a-z]{2,63}`, greedy, or an address
 * literal `\[[0-9a-f:.]+\]`), or -1.
 */
function domainEnd(text: string, at: number): number {
  // Labels "x." / "x-y." one after the other; each ends at its dot, so there is one way to read them.
  const afterLabels: number[] = [];
  let p = at + 1;
  for (;;) {
    if (p >= text.length || !isAlnum(text.charCodeAt(p))) break;
    let q = p + 1;
    while (q < text.length && (isAlnum(text.charCodeAt(q)) || text[q] === '-')) q++;
    if (text[q] !== '.' || !isAlnum(text.charCodeAt(q - 1))) break;
    p = q + 1;
    afterLabels.push(p);
  }
  // The top-level domain after as many labels as possible: two to 63 letters.
  for (let i = afterLabels.length - 1; i >= 0; i--) {
    const from = afterLabels[i]!;
    let letters = 0;
    while (letters < 63 && from + letters < text.length && isLetter(text.charCodeAt(from + letters)))
      letters++;
    if (letters >= 2) return from + letters;
  }
  // An address literal.
  if (text[at + 1] === '[') {
    let q = at + 2;
    while (q < text.length && (isHex(text.charCodeAt(q)) || text[q] === ':' || text[q] === '.')) q++;
    if (q > at + 2 && text[q] === ']') return q + 1;
  }
  return -1;
}

/**
 * Every address in the text, in order (the first `limit`): the matches of the global pattern
 * above. An array, not a generator: a few dozen calls per message, most finding one address
 * or none, each paid a generator's and its results' objects, and resumed in the interpreter.
 */
export function scanAddresses(text: string, limit = Infinity): AddressMatch[] {
  const out: AddressMatch[] = [];
  let from = 0;
  for (let at = text.indexOf('@', 1); at >= 0 && out.length < limit; at = text.indexOf('@', at + 1)) {
    // The local part: the run of L characters before the "@", not before `from`.
    let local = at;
    while (local > from && isLocal(text.charCodeAt(local - 1))) local--;
    if (local === at) continue;
    const end = domainEnd(text, at);
    if (end < 0) continue;
    const start = local > from && text[local - 1] === '<' ? local - 1 : local;
    const close = text[end] === '>' ? end + 1 : end;
    out.push({ start, end: close, address: text.slice(local, end) });
    from = close;
  }
  return out;
}

/** Whether the text holds an address anywhere. */
export function containsAddress(text: string): boolean {
  return scanAddresses(text, 1).length > 0;
}
