import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

export async function scoreCorpus(): Promise<CorpusScore> {
  const { expected, files, notBounces } = loadCorpus();
  const byFile = new Map<string, ExpectedRecord[]>();
  for (const e of expected) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const score: CorpusScore = {
    records: expected.length,
    files: byFile.size,
    reason: { right: 0, total: 0 },
    status: { right: 0, total: 0 },
    hard: { right: 0, total: 0 },
    count: { right: 0, total: byFile.size },
    notBounces: { right: 0, total: notBounces.size },
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
  for (const [file, bytes] of notBounces) {
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
