import type { Config } from '../config/index.js';
import { bulkServices, runBulk } from '../checks/bulk.js';
import type { BulkItem, BulkOutcome } from '../checks/bulk.js';
import { domainList } from '../input/list.js';
import { BULK_AREAS, CSV_HEADER, bulkErrorRow, bulkRow, csvLine } from '../report/bulk.js';
import type { BulkRow } from '../report/bulk.js';
import type { CheckOptions } from '../report/model.js';
import { EXIT, UsageError } from './errors.js';
import { DEFAULT_CONCURRENCY } from './list-flags.js';
import { safeText } from './format.js';
import { readTextInput } from './input.js';
import { ProgressBar, duration } from './progress.js';

/**
 * `mxdoctor check --file domains.txt`: the domains of a list (one domain or address a line,
 * "-" for standard input), checked concurrently with shared SMTP services (checks/bulk.ts),
 * printed as a summary table, JSON Lines (one report a line) or CSV, in input order unless
 * --unordered. Invalid lines are reported on standard error with their line numbers and the
 * run goes on. The exit status is that of one check over all of them: 1 when any domain
 * failed, 2 when a line of the list was invalid, 3 when a check could not run at all.
 */

export interface BulkFlags {
  file: string;
  concurrency?: number;
  unordered?: boolean;
  json?: boolean;
  csv?: boolean;
}

/** Largest list read (about 400,000 lines of domain names). */
export const MAX_LIST_BYTES = 16 * 1024 * 1024;
/** Writes lines in input order (holding finished ones until those before them are out), or as they come. */
class OrderedOutput {
  private next = 0;
  private readonly held = new Map<number, string | null>();

  constructor(
    private readonly ordered: boolean,
    private readonly write: (text: string) => void,
  ) {}

  /** `text` null: the item produced no line (its error went to standard error). */
  put(index: number, text: string | null): void {
    if (!this.ordered) {
      if (text !== null) this.write(text);
      return;
    }
    this.held.set(index, text);
    while (this.held.has(this.next)) {
      const t = this.held.get(this.next)!;
      this.held.delete(this.next);
      if (t !== null) this.write(t);
      this.next++;
    }
  }
}

const COLUMNS = { domain: 34, verdict: 8, score: 6, count: 5 };

function tableHeader(): string {
  return `${'DOMAIN'.padEnd(COLUMNS.domain)} ${'VERDICT'.padEnd(COLUMNS.verdict)}${'SCORE'.padStart(COLUMNS.score)}${'FAIL'.padStart(COLUMNS.count)}${'WARN'.padStart(COLUMNS.count)}${'ERR'.padStart(COLUMNS.count)}  WORST PROBLEM\n`;
}

export function tableLine(row: BulkRow, width = 120): string {
  const domain =
    row.domain.length > COLUMNS.domain - 1 ? `${row.domain.slice(0, COLUMNS.domain - 2)}…` : row.domain;
  const head = `${safeText(domain).padEnd(COLUMNS.domain)} ${row.verdict.toUpperCase().padEnd(COLUMNS.verdict)}${String(row.score ?? '–').padStart(COLUMNS.score)}${String(row.counts.fail).padStart(COLUMNS.count)}${String(row.counts.warn).padStart(COLUMNS.count)}${String(row.counts.error).padStart(COLUMNS.count)}`;
  const room = Math.max(20, width - head.length - 2);
  const problem = safeText(row.problem ?? row.error ?? '');
  return `${head}  ${problem.length > room ? `${problem.slice(0, room - 1)}…` : problem}`.trimEnd() + '\n';
}

export async function runBulkCli(
  flags: BulkFlags,
  config: Config,
  options: CheckOptions,
  setExit: (code: number) => void,
): Promise<void> {
  if (flags.json && flags.csv) throw new UsageError('--json and --csv cannot be combined; choose one output');
  const source = flags.file === '-' ? 'standard input' : flags.file;
  const text = await readTextInput(flags.file, MAX_LIST_BYTES, 'the list');
  const list = domainList(text);
  const err = (line: string): boolean => process.stderr.write(`mxdoctor: ${line}\n`);
  for (const bad of list.invalid) err(`${source}:${bad.line}: ${safeText(bad.error)}`);
  for (const dup of list.duplicates)
    err(`${source}:${dup.line}: ${safeText(dup.text)} repeats the domain of line ${dup.of}; checked once`);
  if (list.domains.length === 0) throw new UsageError(`${source} names no domain to check`);

  const items: BulkItem[] = list.domains.map((d, index) => ({ index, domain: d.domain }));
  const lineOf = (item: BulkItem): number => list.domains[item.index]!.line;
  const services = bulkServices(config);
  const bar = new ProgressBar(process.stderr, items.length, 'domains');
  const toStdout = (t: string): void => {
    bar.clear();
    process.stdout.write(t);
  };
  const out = new OrderedOutput(!flags.unordered, toStdout);
  if (flags.csv) toStdout(CSV_HEADER.join(',') + '\n');
  else if (!flags.json) toStdout(tableHeader());

  const width = process.stdout.columns ?? 120;
  const rows: BulkRow[] = [];
  let running = 0;
  let internal = 0;
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const t0 = Date.now();
  try {
    await runBulk(items, options, {
      config,
      concurrency: flags.concurrency ?? DEFAULT_CONCURRENCY,
      services,
      signal: controller.signal,
      onStart: () => {
        running++;
        bar.update(rows.length, running, rows.filter((r) => r.verdict === 'fail').length);
      },
      onResult: (item: BulkItem, outcome: BulkOutcome) => {
        running--;
        const row = outcome.ok
          ? bulkRow(outcome.report, lineOf(item))
          : bulkErrorRow(item.domain.unicode, outcome.error, lineOf(item));
        rows.push(row);
        if (!outcome.ok) {
          internal++;
          bar.clear();
          err(
            `${source}:${lineOf(item)}: ${item.domain.unicode} could not be checked: ${safeText(outcome.error)}`,
          );
        }
        const line = flags.json
          ? outcome.ok
            ? JSON.stringify(outcome.report) + '\n'
            : null
          : flags.csv
            ? csvLine(row) + '\n'
            : tableLine(row, width);
        out.put(item.index, line);
        bar.update(
          rows.length,
          running,
          rows.filter((r) => r.verdict === 'fail').length,
          rows.length === items.length,
        );
      },
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    bar.clear();
  }

  const summary = summarize(rows, items.length, Date.now() - t0, services);
  if (flags.json || flags.csv) process.stderr.write(summary);
  else process.stdout.write('\n' + summary);
  if (controller.signal.aborted) {
    err(`interrupted after ${rows.length} of ${items.length} domains`);
    setExit(130);
    return;
  }
  setExit(
    internal > 0
      ? EXIT.internal
      : list.invalid.length > 0
        ? EXIT.usage
        : rows.some((r) => r.verdict === 'fail')
          ? EXIT.fail
          : EXIT.ok,
  );
}

function summarize(
  rows: readonly BulkRow[],
  total: number,
  ms: number,
  services: ReturnType<typeof bulkServices>,
): string {
  const by = (v: BulkRow['verdict']): number => rows.filter((r) => r.verdict === v).length;
  const scores = rows
    .map((r) => r.score)
    .filter((s): s is number => s !== null)
    .sort((a, b) => a - b);
  const median = scores.length ? scores[Math.floor(scores.length / 2)] : undefined;
  const sessions = [...services.addressLimiter.sessions.values()].reduce((a, b) => a + b, 0);
  const addresses = services.addressLimiter.sessions.size;
  const cache = services.connectionCache.stats;
  const areaLows = BULK_AREAS.map((area) => {
    const values = rows.map((r) => r.areas[area]).filter((v): v is number => v !== null && v !== undefined);
    return values.length
      ? `${area} ${Math.round(values.reduce((a, b) => a + b, 0) / values.length)}`
      : undefined;
  }).filter(Boolean);
  return (
    [
      `${rows.length} of ${total} domain${total === 1 ? '' : 's'} checked in ${duration(ms)}: ${by('pass')} pass, ${by('warn')} warn, ${by('fail')} fail${by('error') ? `, ${by('error')} could not be checked` : ''}${median !== undefined ? `; median score ${median}` : ''}`,
      ...(areaLows.length ? [`Mean score per area: ${areaLows.join(', ')}`] : []),
      `SMTP: ${sessions} session${sessions === 1 ? '' : 's'} to ${addresses} MX address${addresses === 1 ? '' : 'es'}; connection facts shared ${cache.hits} time${cache.hits === 1 ? '' : 's'}`,
    ].join('\n') + '\n'
  );
}
