import { scoreOf } from './grade.js';
import { GROUPS } from './groups.js';
import type { Report } from './model.js';
import { sortWorstFirst } from './score.js';

/**
 * One line per domain of a bulk check (`mxdoctor check --file`, the batch API): what a
 * summary table, a CSV export and a batch's progress show. Pure: computed from a report.
 */
export interface BulkRow {
  /** Line of the input list, when the domain came from one. */
  line?: number;
  domain: string;
  verdict: 'pass' | 'warn' | 'fail' | 'error';
  score: number | null;
  counts: { fail: number; warn: number; error: number; info: number; pass: number };
  complete: boolean;
  /** Score of each area of the report (groups.ts), null when not scored. */
  areas: Record<string, number | null>;
  /** The worst finding, for people: "SPF record: none published". */
  problem?: string;
  /** Why there is no report (verdict "error"). */
  error?: string;
}

/** The areas a CSV export has a column for, in report order. */
export const BULK_AREAS: readonly string[] = GROUPS.map((g) => g.title);

export function bulkRow(report: Report, line?: number): BulkRow {
  const score = scoreOf(report);
  const areas: Record<string, number | null> = {};
  for (const area of BULK_AREAS) areas[area] = score.areas.find((a) => a.area === area)?.score ?? null;
  const worst = sortWorstFirst(report.checks.filter((f) => f.status === 'fail' || f.status === 'warn'))[0];
  const c = report.counts;
  return {
    ...(line !== undefined ? { line } : {}),
    domain: report.domain.unicode,
    verdict: report.verdict,
    score: score.value,
    counts: { fail: c.fail, warn: c.warn, error: c.error, info: c.info, pass: c.pass },
    complete: report.complete,
    areas,
    ...(worst ? { problem: `${worst.title}: ${worst.summary}` } : {}),
  };
}

/** A row for a domain whose check could not run at all. */
export function bulkErrorRow(domain: string, error: string, line?: number): BulkRow {
  return {
    ...(line !== undefined ? { line } : {}),
    domain,
    verdict: 'error',
    score: null,
    counts: { fail: 0, warn: 0, error: 0, info: 0, pass: 0 },
    complete: false,
    areas: Object.fromEntries(BULK_AREAS.map((a) => [a, null])),
    error,
  };
}

export const CSV_HEADER: readonly string[] = [
  'line',
  'domain',
  'verdict',
  'score',
  'fail',
  'warn',
  'error',
  'info',
  'pass',
  'complete',
  ...BULK_AREAS,
  'problem',
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a field that a
 * spreadsheet would run as a formula (= + - @ at the start) gets a leading apostrophe.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(row: BulkRow): string {
  return [
    row.line,
    row.domain,
    row.verdict,
    row.score,
    row.counts.fail,
    row.counts.warn,
    row.counts.error,
    row.counts.info,
    row.counts.pass,
    row.complete,
    ...BULK_AREAS.map((a) => row.areas[a]),
    row.problem ?? row.error,
  ]
    .map(csvField)
    .join(',');
}
