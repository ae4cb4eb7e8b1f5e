import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { check } from 'recheck';
import type { AttackPattern, Diagnostics } from 'recheck';
import { ROOT } from '../support/cli.js';

/**
 * Every regular expression in src/ runs in linear time (issue 13 §1: one pattern that
 * backtracked on a dotted token froze the service for minutes). The TypeScript compiler finds
 * every pattern — regular-expression literals, and `new RegExp(…)`/`RegExp(…)` whose source is
 * a string literal or another literal's `.source` — and the recheck ReDoS analyser
 * (https://makenowjust-labs.github.io/recheck/) judges each one. The test fails on any pattern
 * recheck finds vulnerable, naming file:line and the attack string.
 *
 * How recheck is asked is described at judge() below. A pattern recheck cannot decide at all
 * must be in UNDECIDED, with the reason it is safe.
 *
 * Verdicts of "safe" are kept between runs in the system's temporary directory, keyed by the
 * recheck version, this test's policy (POLICY) and the pattern with its flags: an unchanged
 * pattern is not analysed again. REDOS_CACHE=0 analyses every pattern.
 *
 * Patterns built at run time from variables (a template with `${…}`) are listed in DYNAMIC
 * with why they are safe: a new one fails the test until it is reviewed and added.
 *
 * REDOS_VERBOSE=1 prints every pattern's verdict and the time it took.
 */

/** Bump when judge() changes: cached verdicts of another policy are not reused. */
const POLICY = 2;
const RECHECK_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules', 'recheck', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
const CACHE = join(tmpdir(), `mxdoctor-redos-recheck-${RECHECK_VERSION}-policy-${POLICY}.json`);

function readCache(): Set<string> {
  if (process.env.REDOS_CACHE === '0') return new Set();
  try {
    return new Set(JSON.parse(readFileSync(CACHE, 'utf8')) as string[]);
  } catch {
    return new Set();
  }
}

interface Pattern {
  file: string;
  line: number;
  source: string;
  flags: string;
}

/**
 * Patterns recheck cannot decide (status "unknown" from both checkers), each reviewed by hand.
 * Keyed by source and flags.
 */
const UNDECIDED: { source: string; flags: string; why: string }[] = [];

/** Run-time patterns, reviewed: the file and a piece of the expression that identifies it. */
const DYNAMIC: { file: string; contains: string; why: string }[] = [
  {
    file: 'src/bounce/reply.ts',
    contains: '(^|\\\\s)${code}[ -]',
    why: 'a three-digit code and an escaped status code, each a fixed string: no repetition but one optional group',
  },
  {
    file: 'src/bounce/reply.ts',
    contains: "(^|\\\\s)${status.replace(/\\./g, '\\\\.')}(?=\\\\s|$)",
    why: 'an escaped status code such as "5\\.1\\.1": a fixed string between anchors',
  },
  {
    file: 'src/bounce/mime.ts',
    contains: '`</${name}>`',
    why: 'a fixed closing tag, "</script>" or "</style>"',
  },
  {
    file: 'src/bounce/followups/sending-ip-ptr.ts',
    contains: '(?:^|[^0-9])${f}(?:[^0-9]|$)',
    why: 'an IP address written one way (digits, dots, dashes), fixed text between single-character guards',
  },
  {
    file: 'src/inbound/address.ts',
    contains: '^[a-z2-7]{${TOKEN_LENGTH}}$',
    why: 'one character class repeated a fixed number of times between anchors',
  },
  {
    file: 'src/inbound/address.ts',
    contains: '^test-([a-z2-7]{${TOKEN_LENGTH}})$',
    why: 'a fixed prefix and one character class repeated a fixed number of times between anchors',
  },
  {
    file: 'src/report/redact.ts',
    contains: '(?<![${LOCAL_CHAR}])(?:${locals',
    why: 'an alternation of escaped literal local parts (at most the verified addresses, 64 octets each) with one-character look-behind and look-ahead: linear in the text',
  },
  {
    file: 'src/spf/record.ts',
    contains: '[${delimiters.replace(',
    why: 'one character class of escaped SPF delimiters: a single character per match',
  },
];

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

function splitLiteral(text: string): { source: string; flags: string } {
  const end = text.lastIndexOf('/');
  return { source: text.slice(1, end), flags: text.slice(end + 1) };
}

/** The patterns of one file, and the run-time ones (their expression text). */
function patternsOf(path: string): { patterns: Pattern[]; dynamic: { line: number; text: string }[] } {
  const file = relative(ROOT, path).split('\\').join('/');
  const text = readFileSync(path, 'utf8');
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const patterns: Pattern[] = [];
  const dynamic: { line: number; text: string }[] = [];
  const lineOf = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  // Regular-expression literals bound to a name, for `new RegExp(NAME.source, flags)`.
  const named = new Map<string, string>();
  const collectNames = (n: ts.Node): void => {
    if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.initializer?.kind === ts.SyntaxKind.RegularExpressionLiteral
    )
      named.set(n.name.text, n.initializer.getText(sf));
    ts.forEachChild(n, collectNames);
  };
  collectNames(sf);
  const visit = (n: ts.Node): void => {
    if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      patterns.push({ file, line: lineOf(n), ...splitLiteral(n.getText(sf)) });
    } else if (
      (ts.isNewExpression(n) || ts.isCallExpression(n)) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'RegExp' &&
      n.arguments?.length
    ) {
      const [src, flagsArg] = n.arguments;
      const flags = flagsArg && ts.isStringLiteralLike(flagsArg) ? flagsArg.text : flagsArg ? null : '';
      let source: string | null = null;
      if (ts.isStringLiteralLike(src!)) source = src.text;
      else if (
        ts.isPropertyAccessExpression(src!) &&
        src.name.text === 'source' &&
        ts.isIdentifier(src.expression) &&
        named.has(src.expression.text)
      )
        source = splitLiteral(named.get(src.expression.text)!).source;
      if (source !== null && flags !== null) patterns.push({ file, line: lineOf(n), source, flags });
      else dynamic.push({ line: lineOf(n), text: n.getText(sf) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { patterns, dynamic };
}

interface Verdict {
  status: Diagnostics['status'];
  detail: string;
  ms: number;
}

/**
 * recheck's parameters: a minute per analysis (a pattern that needs both checkers can take
 * two), and four generations of fuzzing instead of ten — its seeds come from the pattern's
 * automaton and find the attacks; more generations mostly cost time on large safe patterns.
 */
const PARAMS = { timeout: 60_000, maxIteration: 4 } as const;
/** Length of the attack string V8 is given (see confirmInV8). */
const V8_ATTACK_LENGTH = 100_000;
/** An attack the fuzzer reports must slow V8 itself this much to count (see confirmInV8). */
const V8_ATTACK_MS = 2000;

/**
 * One pattern's verdict: recheck with its own choice of checker first — the automaton checker
 * for small patterns (exact: it decides from the pattern's automaton, but knows no look-around
 * or back-references), the fuzzer for large ones (it measures matching time on generated
 * inputs). When that checker cannot decide, the other one is asked. A "vulnerable" from the
 * fuzzer is a measurement that a busy machine or a bounded repeat (`.{0,60}` grows like n²
 * while n is below 60) can fake: it counts only if its attack string slows V8 itself down.
 */
async function judge(source: string, flags: string): Promise<Verdict> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  let d = await check(source, flags, PARAMS);
  let why = '';
  if (d.status === 'unknown') {
    why = `; ${d.checker ?? 'auto'}: ${errorText(d)}`;
    const other = d.checker === 'fuzz' ? 'automaton' : 'fuzz';
    d = await check(source, flags, { ...PARAMS, checker: other });
  }
  if (d.status !== 'vulnerable' || d.checker === 'automaton')
    return { status: d.status, detail: `${attackText(d)}${why}`, ms: ms() };
  const v8 = await confirmInV8(source, flags, attackOfLength(d.attack, V8_ATTACK_LENGTH));
  if (v8 === null)
    return {
      status: 'vulnerable',
      detail: `${attackText(d)}; V8 still matching after ${V8_ATTACK_MS} ms`,
      ms: ms(),
    };
  return {
    status: 'safe',
    detail: `fuzz claimed ${d.complexity.summary}, but V8 matched its attack in ${v8} ms${why}`,
    ms: ms(),
  };
}

/**
 * The fuzzer's attack with its pumped parts repeated to about `length` characters (recheck
 * sizes its own string for its slow virtual machine: a few thousand characters for a cubic
 * claim, too short to slow V8 down even when the claim is true).
 */
function attackOfLength(attack: AttackPattern, length: number): string {
  const pumped = attack.pumps.reduce((n, p) => n + p.pump.length, 0);
  const times = Math.max(attack.base, Math.ceil(length / Math.max(1, pumped)));
  return (
    attack.pumps.map((p) => p.prefix + p.pump.repeat(Math.max(1, times + p.bias))).join('') + attack.suffix
  );
}

/**
 * How long V8 takes to run the pattern over an attack string (in a worker thread, so a real
 * catastrophe can be stopped): the milliseconds, or null when it is still running after
 * V8_ATTACK_MS. A linear pattern reads 100,000 characters in milliseconds even on a loaded
 * machine; a polynomial one takes seconds (n² = 10¹⁰ steps) to hours.
 */
async function confirmInV8(source: string, flags: string, input: string): Promise<number | null> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const re = new RegExp(workerData.source, workerData.flags.replace('g', '') + 'g');
    const t0 = performance.now();
    for (const _ of workerData.input.matchAll(re)) {}
    parentPort.postMessage(Math.round(performance.now() - t0));`;
  const worker = new Worker(code, { eval: true, workerData: { source, flags, input } });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), V8_ATTACK_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

function attackText(d: Diagnostics): string {
  if (d.status === 'safe') return `${d.checker}: ${d.complexity.summary}`;
  if (d.status === 'unknown') return errorText(d);
  return `${d.complexity.summary} by ${d.checker}; attack ${d.attack.pattern.slice(0, 120)}`;
}

function errorText(d: Diagnostics): string {
  if (d.status !== 'unknown') return d.status;
  return 'message' in d.error ? `${d.error.kind} (${d.error.message})` : d.error.kind;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

describe('regular expressions in src/', () => {
  const files = sources(join(ROOT, 'src'));
  const found = files.map(patternsOf);
  const patterns = found.flatMap((f) => f.patterns);

  it('finds the patterns (the extraction works)', () => {
    assert.ok(patterns.length > 300, `only ${patterns.length} patterns found in src/`);
    assert.ok(patterns.some((p) => p.file === 'src/bounce/ndr.ts' && p.source.includes('@')));
  });

  it('builds no pattern at run time that nobody reviewed', () => {
    const unreviewed = found.flatMap((f, i) =>
      f.dynamic
        .filter((d) => {
          const file = relative(ROOT, files[i]!).split('\\').join('/');
          return !DYNAMIC.some((r) => r.file === file && d.text.includes(r.contains));
        })
        .map((d) => `${relative(ROOT, files[i]!)}:${d.line} ${d.text}`),
    );
    assert.deepEqual(unreviewed, [], 'review these run-time patterns and list them in DYNAMIC');
  });

  it('none is vulnerable to ReDoS (recheck)', { timeout: 600_000 }, async () => {
    // Each distinct pattern once, the slowest to analyse (the longest) first.
    const distinct = new Map<string, Pattern[]>();
    for (const p of patterns) {
      const key = `${p.flags}/${p.source}`;
      distinct.set(key, [...(distinct.get(key) ?? []), p]);
    }
    const cached = readCache();
    const keys = [...distinct.keys()].filter((k) => !cached.has(k)).sort((a, b) => b.length - a.length);
    const t0 = performance.now();
    const verdicts = await pool(keys, Math.max(2, availableParallelism()), async (key) => {
      const p = distinct.get(key)![0]!;
      return { key, ...(await judge(p.source, p.flags)) };
    });
    if (process.env.REDOS_CACHE !== '0') {
      const safe = [...distinct.keys()].filter(
        (k) => cached.has(k) || verdicts.some((v) => v.key === k && v.status === 'safe'),
      );
      writeFileSync(CACHE, JSON.stringify(safe));
    }
    const where = (key: string): string =>
      distinct
        .get(key)!
        .map((p) => `${p.file}:${p.line}`)
        .join(', ');
    if (process.env.REDOS_VERBOSE) {
      for (const v of [...verdicts].sort((a, b) => b.ms - a.ms))
        console.log(`${v.ms} ms ${v.status} (${v.detail}) ${where(v.key)}`);
      console.log(
        `${keys.length} of ${distinct.size} distinct patterns analysed in ${Math.round(performance.now() - t0)} ms`,
      );
    }
    const allowed = new Set(UNDECIDED.map((u) => `${u.flags}/${u.source}`));
    const problems = verdicts
      .filter((v) => v.status === 'vulnerable' || (v.status === 'unknown' && !allowed.has(v.key)))
      .map((v) => `${where(v.key)}: ${v.status} (${v.detail})\n    /${distinct.get(v.key)![0]!.source}/`);
    assert.deepEqual(problems, [], 'rewrite these patterns to run in linear time');
    const stale = UNDECIDED.filter((u) => !distinct.has(`${u.flags}/${u.source}`));
    assert.deepEqual(stale, [], 'UNDECIDED lists patterns that are no longer in src/');
  });
});
