/**
 * Matching line by line what a pattern with the `m` flag would match in the whole text. A
 * pattern anchored with `^` under `m` is tried by the engine at every character of the text
 * (failing fast, but its analysis by the ReDoS test is slow); tried on each line it is
 * anchored once per line. The lines are those of `^` and `$` under `m`: split at LF, CR,
 * U+2028 and U+2029.
 */
const LINE_END = /[\n\r\u2028\u2029]/g;

/**
 * The first line one of the patterns (anchored with `^`, without the `m` flag) matches: where
 * the match starts in the text, its length, and which pattern it was (the first in the list
 * when several match that line). Null when none does.
 *
 * With `cue` (a global pattern that every line a pattern matches contains, such as a word all
 * of them share), only the lines where the cue occurs are tried: a text of a million empty
 * lines is then one search for the cue, not a million lines times the patterns.
 */
export function firstMatchingLine(
  text: string,
  patterns: readonly RegExp[],
  cue?: RegExp,
): { index: number; length: number; pattern: number } | null {
  // Loops by index, lines without a generator: every line of a notice is tried, and until the
  // optimising compiler takes these loops on (late, in a mailbox run) each step of an iterator
  // is a call and an allocation.
  const tryLine = (
    start: number,
    line: string,
  ): { index: number; length: number; pattern: number } | null => {
    for (let i = 0; i < patterns.length; i++) {
      const m = patterns[i]!.exec(line);
      if (m) return { index: start + m.index, length: m[0].length, pattern: i };
    }
    return null;
  };
  if (!cue) {
    for (let start = 0; ;) {
      LINE_END.lastIndex = start;
      const end = LINE_END.exec(text)?.index ?? text.length;
      const found = tryLine(start, text.slice(start, end));
      if (found || end === text.length) return found;
      start = end + 1;
    }
  }
  cue.lastIndex = 0;
  for (let m = cue.exec(text); m; m = cue.exec(text)) {
    const start = lineStart(text, m.index);
    LINE_END.lastIndex = m.index;
    const end = LINE_END.exec(text)?.index ?? text.length;
    const found = tryLine(start, text.slice(start, end));
    if (found) return found;
    cue.lastIndex = end;
  }
  return null;
}

/** Where the line holding `index` starts. */
function lineStart(text: string, index: number): number {
  let start = index;
  while (start > 0 && !'\n\r\u2028\u2029'.includes(text[start - 1]!)) start--;
  return start;
}

/**
 * The lines of a text as `text.split(/\r?\n/)` gives them: split at LF, a CR before each LF
 * dropped. Splitting at a character is much cheaper than at an expression (which created its
 * pieces through the regular-expression machinery, 1% of a mailbox run), and most texts have
 * no CR at all.
 */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (!text.includes('\r')) return lines;
  // Every piece but the last ended at an LF.
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  return lines;
}
