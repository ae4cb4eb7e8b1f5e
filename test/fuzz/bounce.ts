import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { BounceInputError, MAX_RECORDS, diagnoseBounce } from '../../src/bounce/index.js';
import { ROOT } from '../support/cli.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzContext, FuzzTarget } from './harness.js';

/**
 * The bounce parser (src/bounce/index.ts diagnoseBounce) on mutated real messages: the
 * shared corpus (/work/shared/corpus/bounces, read-only; when it is absent, the project's own
 * fixtures in test/fixtures/bounces, which are always included). Mutations: truncation, byte
 * flips, broken MIME boundaries, wrong charsets and transfer encodings, deep nesting of
 * message/rfc822 parts, huge and deeply folded headers, long runs of one token, NULs, line
 * ends changed. Properties:
 * - diagnoseBounce resolves, or rejects with BounceInputError — nothing else;
 * - each case finishes within the budget;
 * - the diagnosis is plain data with at most MAX_RECORDS records and a size proportional to
 *   its input.
 */

const CORPUS = join(ROOT, '..', 'shared', 'corpus', 'bounces');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'bounces');
const BUDGET_MS = 2000;
/** Largest input a mutation builds (the parser's own limit is 5 MiB). */
const MAX_GROWTH = 400_000;

function files(dir: string, accept: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return files(path, accept);
      return accept(name) ? [path] : [];
    });
}

/** The seed messages: corpus and fixtures, as bytes. */
export function seedMessages(): { name: string; bytes: Buffer }[] {
  const isMessage = (n: string): boolean => /\.(eml|txt|mbox)$/.test(n) && n !== 'README.md';
  const paths = [
    ...files(join(CORPUS, 'emails'), isMessage),
    ...files(join(CORPUS, 'not-bounces'), isMessage),
    ...files(FIXTURES, isMessage),
  ];
  return paths.map((p) => ({ name: relative(ROOT, p), bytes: readFileSync(p) }));
}

export type BounceMutation =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; value: number }
  | { op: 'boundary'; how: 'drop-close' | 'drop-open' | 'rename' | 'unquote' | 'empty'; which: number }
  | { op: 'charset'; value: string }
  | { op: 'encoding'; value: string }
  | { op: 'nest'; depth: number; kind: 'rfc822' | 'multipart' }
  | { op: 'header'; name: string; size: number; folded: boolean }
  | { op: 'token'; at: number; unit: string; count: number }
  | { op: 'nul'; at: number; count: number }
  | { op: 'newlines'; to: '\n' | '\r\n' | '\r' }
  | { op: 'merge-head' };

/** Tokens repeated to build adversarial runs. */
const TOKENS = [
  '@',
  'x',
  '5.1.1 ',
  '<',
  '>',
  ' ',
  '-',
  '=',
  ':',
  '550 ',
  '\t',
  '0',
  'a@b ',
  '(',
  '[',
  'a.',
  'x@a.',
  '.',
];

/**
 * Long runs of characters an e-mail address can be made of (x@a.a.a.a…, vvvv…, 0000…)
 * make the address patterns of src/bounce/ndr.ts backtrack: 40,000 of them take seconds,
 * 150,000 minutes. That is issue 13 §1, being fixed separately; until it lands the short run
 * (npm test) keeps such runs below SHORT_RUN_MAX characters, and the full run (npm run fuzz)
 * goes up to 200,000. Raise SHORT_RUN_MAX to the full sizes once §1 is fixed.
 */
export const SHORT_RUN_MAX = 2000;

export function mutationArb(ctx: FuzzContext): fc.Arbitrary<BounceMutation> {
  const longest = (full: number): number => (ctx.mode === 'full' ? full : SHORT_RUN_MAX);
  return fc.oneof(
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
    fc.record({
      op: fc.constant('boundary' as const),
      how: fc.constantFrom('drop-close', 'drop-open', 'rename', 'unquote', 'empty'),
      which: fc.nat({ max: 4 }),
    }),
    fc.record({
      op: fc.constant('charset' as const),
      value: fc.constantFrom(
        'utf-7',
        'x-unknown',
        'iso-2022-jp',
        'utf-16',
        '',
        '"',
        'ebcdic-cp-us',
        'utf-8"; x="',
      ),
    }),
    fc.record({
      op: fc.constant('encoding' as const),
      value: fc.constantFrom('base64', 'quoted-printable', 'x-uuencode', 'binary', '8bit', 'garbage'),
    }),
    fc.record({
      op: fc.constant('nest' as const),
      depth: fc.integer({ min: 1, max: ctx.mode === 'full' ? 400 : 60 }),
      kind: fc.constantFrom('rfc822', 'multipart'),
    }),
    fc.oneof(
      // Folded: many short lines (no long run); one line: a run of one character.
      fc.record({
        op: fc.constant('header' as const),
        name: fc.constantFrom('Subject', 'X-Junk', 'Received', 'Content-Type', 'To', 'Final-Recipient'),
        size: fc.integer({ min: 1000, max: 200_000 }),
        folded: fc.constant(true),
      }),
      fc.record({
        op: fc.constant('header' as const),
        name: fc.constantFrom('Subject', 'X-Junk', 'Received', 'Content-Type', 'To', 'Final-Recipient'),
        size: fc.integer({ min: 1000, max: longest(200_000) }),
        folded: fc.constant(false),
      }),
    ),
    fc
      .record({
        op: fc.constant('token' as const),
        at: fc.nat(),
        unit: fc.constantFrom(...TOKENS),
        count: fc.integer({ min: 100, max: longest(40_000) }),
      })
      .map((m) => ({ ...m, count: Math.min(m.count, Math.floor(longest(200_000) / m.unit.length)) })),
    fc.record({ op: fc.constant('nul' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ op: fc.constant('newlines' as const), to: fc.constantFrom('\n', '\r\n', '\r') }),
    fc.record({ op: fc.constant('merge-head' as const) }),
  );
}

function nest(body: string, depth: number, kind: 'rfc822' | 'multipart'): string {
  let out = body;
  for (let i = 0; i < depth; i++) {
    const b = `nest${i}`;
    out =
      kind === 'rfc822'
        ? `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"\r\n\r\n--${b}\r\nContent-Type: message/rfc822\r\n\r\n${out}\r\n--${b}--\r\n`
        : `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n--${b}\r\n${out}\r\n--${b}--\r\n`;
  }
  return out;
}

/** Applies one mutation to the message, as Latin-1 text (so that every byte survives). */
export function applyMutation(text: string, m: BounceMutation): string {
  const at = (n: number): number => (text.length === 0 ? 0 : n % (text.length + 1));
  switch (m.op) {
    case 'truncate':
      return text.slice(0, at(m.at));
    case 'flip': {
      const i = at(m.at);
      return i < text.length ? text.slice(0, i) + String.fromCharCode(m.value) + text.slice(i + 1) : text;
    }
    case 'boundary': {
      const found = [...text.matchAll(/boundary="?([^";\r\n]+)"?/gi)].map((x) => x[1]!);
      const b = found[m.which % Math.max(found.length, 1)];
      if (!b) return text;
      const esc = b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      switch (m.how) {
        case 'drop-close':
          return text.replace(new RegExp(`--${esc}--`, 'g'), '');
        case 'drop-open':
          return text.replace(new RegExp(`\\n--${esc}(?!-)`), '\n');
        case 'rename':
          return text.replace(new RegExp(`boundary="?${esc}"?`, 'i'), 'boundary="renamed-boundary"');
        case 'unquote':
          return text.replace(new RegExp(`boundary="${esc}"`, 'i'), `boundary=${b} extra`);
        case 'empty':
          return text.replace(new RegExp(`boundary="?${esc}"?`, 'i'), 'boundary=""');
      }
      return text;
    }
    case 'charset':
      return text.replace(/charset="?[^";\s]*"?/gi, `charset="${m.value}"`);
    case 'encoding':
      return text.replace(/Content-Transfer-Encoding:[^\r\n]*/gi, `Content-Transfer-Encoding: ${m.value}`);
    case 'nest':
      return nest(text, m.depth, m.kind);
    case 'header': {
      const value = m.folded ? 'x\r\n '.repeat(Math.ceil(m.size / 4)) : 'v'.repeat(m.size);
      return `${m.name}: ${value}\r\n${text}`;
    }
    case 'token': {
      const i = at(m.at);
      return text.slice(0, i) + m.unit.repeat(m.count) + text.slice(i);
    }
    case 'nul': {
      const i = at(m.at);
      return text.slice(0, i) + '\0'.repeat(m.count) + text.slice(i);
    }
    case 'newlines':
      return text.replace(/\r\n|\r|\n/g, m.to);
    case 'merge-head':
      return text.replace(/\r?\n\r?\n/, '\n');
  }
}

export function bounceProperty(ctx: FuzzContext, seeds: { name: string; bytes: Buffer }[]) {
  return fc.asyncProperty(
    fc.nat({ max: seeds.length - 1 }),
    fc.array(mutationArb(ctx), { minLength: 1, maxLength: 4 }),
    async (index, mutations) => {
      const seed = seeds[index]!;
      let text = seed.bytes.toString('latin1');
      for (const m of mutations) {
        const next = applyMutation(text, m);
        if (next.length <= seed.bytes.length + MAX_GROWTH) text = next;
      }
      const input = Buffer.from(text, 'latin1');
      const what = `diagnosing ${seed.name} mutated by ${JSON.stringify(mutations).slice(0, 600)} (${input.length} bytes)`;
      await withinBudget(
        BUDGET_MS,
        what,
        async () => {
          let diagnosis;
          try {
            diagnosis = await diagnoseBounce(input);
          } catch (err) {
            if (err instanceof BounceInputError) return;
            throw err;
          }
          violation(diagnosis.bounces.length <= MAX_RECORDS, `${diagnosis.bounces.length} records`);
          const json = JSON.stringify(diagnosis);
          violation(isDeepStrictEqual(JSON.parse(json), diagnosis), 'the diagnosis is not plain data');
          violation(
            json.length <= 8 * input.length + 200_000,
            `${json.length} characters of diagnosis from ${input.length} bytes`,
          );
        },
        { repeatable: true },
      );
    },
  );
}

export const bounceTarget: FuzzTarget = {
  name: 'bounce',
  about:
    'bounce parser on mutated corpus messages: only BounceInputError, within its budget, plain bounded diagnoses',
  shortRuns: 300,
  budgetMs: BUDGET_MS,
  async create(ctx) {
    const seeds = seedMessages();
    if (seeds.length === 0) throw new Error(`no bounce messages in ${FIXTURES}`);
    return { property: erase(bounceProperty(ctx, seeds)), stop: async () => {} };
  },
};
