import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withoutPhraseRules } from '../../src/bounce/classify.js';
import { BounceInputError, diagnoseBounce } from '../../src/bounce/index.js';
import type { BounceRecord } from '../../src/bounce/index.js';
import { ROOT } from './cli.js';

/**
 * Scoring the bounce parser and classifier against the shared corpus
 * (/work/shared/corpus/bounces, see its README): shared by the accuracy test and the bench.
 */

export const CORPUS_DIR = resolve(ROOT, '..', 'shared', 'corpus', 'bounces');

export interface ExpectedRecord {
  file: string;
  record: number;
  records: number;
  status: string;
  statusIsGuess: boolean;
  replyCode: string;
  reason: string;
  reasonAlso?: string[];
  hard: boolean;
  kind: string;
}

export interface Mismatch {
  file: string;
  record: number;
  field: 'reason' | 'status' | 'hard' | 'missing' | 'count' | 'error';
  expected: string;
  got: string;
  diagnostic?: string;
}

export interface CorpusScore {
  records: number;
  files: number;
  reason: { right: number; total: number };
  status: { right: number; total: number };
  hard: { right: number; total: number };
  /** Files whose number of records matches the expectation. */
  count: { right: number; total: number };
  notBounces: { right: number; total: number };
  mismatches: Mismatch[];
  /** expected reason → produced reason → count, over wrong reasons. */
  confusion: Record<string, Record<string, number>>;
  ms: number;
}

export function corpusAvailable(): boolean {
  return existsSync(join(CORPUS_DIR, 'expected.json'));
}

export function loadExpected(): ExpectedRecord[] {
  return JSON.parse(readFileSync(join(CORPUS_DIR, 'expected.json'), 'utf8')) as ExpectedRecord[];
}

export const PRODUCERS_DIR = resolve(ROOT, 'test', 'fixtures', 'bounces', 'producers');

interface ProducerCase {
  file: string;
  records: { reason: string; reasonAlso?: string[]; hard: boolean; status: string | null }[];
}

/**
 * The project's own bounces from real MTAs (test/fixtures/bounces/producers, see its README),
 * in the corpus's shape: files named `producers/<mta>/<case>.eml`, so each MTA is one more
 * producer group in the grouped evaluation.
 */
export function loadProducers(): { expected: ExpectedRecord[]; files: Map<string, Buffer> } {
  const cases = JSON.parse(readFileSync(join(PRODUCERS_DIR, 'manifest.json'), 'utf8')) as ProducerCase[];
  const expected: ExpectedRecord[] = [];
  const files = new Map<string, Buffer>();
  for (const c of cases) {
    const file = `producers/${c.file}`;
    files.set(file, readFileSync(join(PRODUCERS_DIR, c.file)));
    c.records.forEach((r, i) =>
      expected.push({
        file,
        record: i + 1,
        records: c.records.length,
        status: r.status ?? '',
        statusIsGuess: r.status === null,
        replyCode: '',
        reason: r.reason,
        ...(r.reasonAlso ? { reasonAlso: r.reasonAlso } : {}),
        hard: r.hard,
        kind: 'bounce',
      }),
    );
  }
  return { expected, files };
}

/** Reads every corpus file once (so timing measures parsing, not the disk). */
export function loadCorpus(): {
  expected: ExpectedRecord[];
  files: Map<string, Buffer>;
  notBounces: Map<string, Buffer>;
} {
  const expected = loadExpected();
  const files = new Map<string, Buffer>();
  for (const e of expected) if (!files.has(e.file)) files.set(e.file, readFileSync(join(CORPUS_DIR, e.file)));
  const notBounces = new Map<string, Buffer>();
  const nb = join(CORPUS_DIR, 'not-bounces');
  if (existsSync(nb))
    for (const f of readdirSync(nb).sort()) notBounces.set(`not-bounces/${f}`, readFileSync(join(nb, f)));
  return { expected, files, notBounces };
}

export interface ScoreOptions {
  /** Only these corpus files (by their `file` name); not-bounces are scored only without it. */
  only?: ReadonlySet<string>;
  /** The corpus, when the caller has already read it (the evaluation reads it once). */
  corpus?: ReturnType<typeof loadCorpus>;
  /** Called with each file's records as diagnosed (the evaluation collects rule firings). */
  onDiagnosed?: (file: string, records: readonly BounceRecord[]) => void;
}

export async function scoreCorpus(options: ScoreOptions = {}): Promise<CorpusScore> {
  const { expected, files, notBounces } = options.corpus ?? loadCorpus();
  const byFile = new Map<string, ExpectedRecord[]>();
  for (const e of expected) {
    if (options.only && !options.only.has(e.file)) continue;
    byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  }
  const scoredNotBounces = options.only ? new Map<string, Buffer>() : notBounces;
  const score: CorpusScore = {
    records: [...byFile.values()].reduce((n, w) => n + w.length, 0),
    files: byFile.size,
    reason: { right: 0, total: 0 },
    status: { right: 0, total: 0 },
    hard: { right: 0, total: 0 },
    count: { right: 0, total: byFile.size },
    notBounces: { right: 0, total: scoredNotBounces.size },
    mismatches: [],
    confusion: {},
    ms: 0,
  };
  const t0 = performance.now();
  for (const [file, wanted] of byFile) {
    let got: BounceRecord[] = [];
    try {
      got = (await diagnoseBounce(files.get(file)!)).bounces;
    } catch (err) {
      score.mismatches.push({ file, record: 0, field: 'error', expected: '', got: (err as Error).message });
    }
    options.onDiagnosed?.(file, got);
    scoreFile(score, file, wanted, got);
  }
  for (const [file, bytes] of scoredNotBounces) {
    try {
      const d = await diagnoseBounce(bytes);
      if (d.bounces.length === 0) score.notBounces.right++;
      else
        score.mismatches.push({
          file,
          record: 0,
          field: 'count',
          expected: '0',
          got: `${d.bounces.length} (${d.bounces.map((b) => b.reason).join(',')})`,
        });
    } catch (err) {
      if (err instanceof BounceInputError) score.notBounces.right++;
      else
        score.mismatches.push({ file, record: 0, field: 'error', expected: '', got: (err as Error).message });
    }
  }
  score.ms = performance.now() - t0;
  return score;
}

/** One file's records against what was expected of it. */
function scoreFile(score: CorpusScore, file: string, wanted: ExpectedRecord[], got: BounceRecord[]): void {
  if (got.length === wanted.length) score.count.right++;
  else
    score.mismatches.push({
      file,
      record: 0,
      field: 'count',
      expected: String(wanted.length),
      got: String(got.length),
    });
  wanted.sort((a, b) => a.record - b.record);
  for (const [i, e] of wanted.entries()) {
    const r = got[i];
    score.reason.total++;
    score.hard.total++;
    if (!e.statusIsGuess) score.status.total++;
    if (!r) {
      score.mismatches.push({ file, record: e.record, field: 'missing', expected: e.reason, got: '' });
      bump(score.confusion, e.reason, '(none)');
      continue;
    }
    const okReason = r.reason === e.reason || (e.reasonAlso ?? []).includes(r.reason);
    if (okReason) score.reason.right++;
    else {
      bump(score.confusion, e.reason, r.reason);
      score.mismatches.push({
        file,
        record: e.record,
        field: 'reason',
        expected: e.reason,
        got: r.reason,
        diagnostic: `${r.diagnostic.slice(0, 160)} [${r.matched.slice(0, 3).join(' ')}]`,
      });
    }
    if (r.hard === e.hard) score.hard.right++;
    else
      score.mismatches.push({
        file,
        record: e.record,
        field: 'hard',
        expected: String(e.hard),
        got: String(r.hard),
      });
    if (!e.statusIsGuess) {
      if ((r.status ?? '') === e.status) score.status.right++;
      else
        score.mismatches.push({
          file,
          record: e.record,
          field: 'status',
          expected: e.status,
          got: r.status ?? '',
        });
    }
  }
}

/** Adds one score into another (the grouped evaluation sums its groups). */
export function addScore(into: CorpusScore, part: CorpusScore): void {
  into.records += part.records;
  into.files += part.files;
  for (const k of ['reason', 'status', 'hard', 'count', 'notBounces'] as const) {
    into[k].right += part[k].right;
    into[k].total += part[k].total;
  }
  into.mismatches.push(...part.mismatches);
  for (const [want, gots] of Object.entries(part.confusion))
    for (const [got, n] of Object.entries(gots)) {
      into.confusion[want] ??= {};
      into.confusion[want]![got] = (into.confusion[want]![got] ?? 0) + n;
    }
  into.ms += part.ms;
}

export function emptyScore(): CorpusScore {
  return {
    records: 0,
    files: 0,
    reason: { right: 0, total: 0 },
    status: { right: 0, total: 0 },
    hard: { right: 0, total: 0 },
    count: { right: 0, total: 0 },
    notBounces: { right: 0, total: 0 },
    mismatches: [],
    confusion: {},
    ms: 0,
  };
}

/**
 * The producer group of a corpus file: the MTA or provider that made it, from the file name's
 * prefix ("emails/lhost-postfix-17.eml" → "lhost-postfix"). Only the evaluation reads names.
 */
export function producerGroup(file: string): string {
  if (file.startsWith('producers/')) return `producer-${file.split('/')[1]}`;
  const base = file.slice(file.lastIndexOf('/') + 1).replace(/\.eml$/, '');
  return base.replace(/-\d+$/, '');
}

function bump(table: Record<string, Record<string, number>>, a: string, b: string): void {
  table[a] ??= {};
  table[a]![b] = (table[a]![b] ?? 0) + 1;
}

export function percent(x: { right: number; total: number }): number {
  return x.total === 0 ? 100 : Math.round((x.right / x.total) * 1000) / 10;
}

/** The per-reason confusion as text lines ("user_unknown → filtered ×3"). */
export function confusionText(score: CorpusScore): string {
  const rows: [string, string, number][] = [];
  for (const [want, gots] of Object.entries(score.confusion))
    for (const [got, n] of Object.entries(gots)) rows.push([want, got, n]);
  rows.sort((a, b) => b[2] - a[2] || a[0].localeCompare(b[0]));
  return rows.map(([w, g, n]) => `  expected ${w} → got ${g} ×${n}`).join('\n');
}

export function summaryText(score: CorpusScore): string {
  return [
    `records ${score.records} in ${score.files} files`,
    `reason ${score.reason.right}/${score.reason.total} (${percent(score.reason)}%)`,
    `status ${score.status.right}/${score.status.total} (${percent(score.status)}%)`,
    `hard/soft ${score.hard.right}/${score.hard.total} (${percent(score.hard)}%)`,
    `record count ${score.count.right}/${score.count.total} files`,
    `not-bounces ${score.notBounces.right}/${score.notBounces.total}`,
  ].join('; ');
}

export interface GroupedScore {
  /** Every group scored without the phrase rules only its own samples fire. */
  grouped: CorpusScore;
  /** Every file with every rule (the plain corpus score). */
  plain: CorpusScore;
  groups: {
    group: string;
    files: number;
    /** Reasons right with every rule (read off the plain run). */
    plainReason: { right: number; total: number };
    held: CorpusScore;
    rulesOff: string[];
  }[];
  /** Phrase rule ID → the groups whose samples it fires on. */
  firesIn: Map<string, Set<string>>;
}

/**
 * Leave-one-group-out evaluation (npm run eval:bounces): the corpus grouped by the producer of
 * each message, each group scored with every phrase rule switched off that fires on that
 * group's samples and on no other group's — a rule that exists only because of that producer,
 * which a producer nobody has seen would not have. Provenance is derived from a first pass
 * (fires = is among a record's evidence, winning or not), not declared.
 */
export async function scoreGrouped(options: { withProducers?: boolean } = {}): Promise<GroupedScore> {
  const corpus = loadCorpus();
  if (options.withProducers) {
    // The real-MTA fixtures join as more groups; their expectations come from their manifest.
    const producers = loadProducers();
    corpus.expected.push(...producers.expected);
    for (const [file, bytes] of producers.files) corpus.files.set(file, bytes);
  }
  const members = new Map<string, Set<string>>();
  for (const e of corpus.expected) {
    const g = producerGroup(e.file);
    if (!members.has(g)) members.set(g, new Set());
    members.get(g)!.add(e.file);
  }
  const firesIn = new Map<string, Set<string>>();
  const plain = await scoreCorpus({
    corpus,
    onDiagnosed(file, records) {
      const g = producerGroup(file);
      for (const r of records)
        for (const id of r.matched) {
          const m = /^(?:phrase|context):(.+)$/.exec(id);
          if (!m) continue;
          if (!firesIn.has(m[1]!)) firesIn.set(m[1]!, new Set());
          firesIn.get(m[1]!)!.add(g);
        }
    },
  });
  const owned = new Map<string, string[]>();
  for (const [rule, gs] of firesIn)
    if (gs.size === 1) {
      const g = [...gs][0]!;
      owned.set(g, [...(owned.get(g) ?? []), rule]);
    }
  const grouped = emptyScore();
  const groups: GroupedScore['groups'] = [];
  for (const [group, only] of [...members].sort((a, b) => a[0].localeCompare(b[0]))) {
    const rulesOff = (owned.get(group) ?? []).sort();
    const held = await withoutPhraseRules(new Set(rulesOff), () => scoreCorpus({ corpus, only }));
    addScore(grouped, held);
    const total = corpus.expected.filter((e) => only.has(e.file)).length;
    const wrong = plain.mismatches.filter(
      (m) => only.has(m.file) && (m.field === 'reason' || m.field === 'missing'),
    ).length;
    groups.push({ group, files: only.size, plainReason: { right: total - wrong, total }, held, rulesOff });
  }
  // Not-bounces belong to no producer: they count as in the plain run.
  grouped.notBounces = { ...plain.notBounces };
  return { grouped, plain, groups, firesIn };
}
