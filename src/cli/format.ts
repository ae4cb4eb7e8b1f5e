import type { Finding, Report, Status } from '../report/model.js';
import { sortWorstFirst } from '../report/score.js';
import { GROUPS, groupOf } from '../report/groups.js';
import { visibleControls } from '../report/visible-text.js';
import { scoreOf } from '../report/grade.js';
import { formatTimeline } from './format-timeline.js';

/**
 * Human-readable report output for the terminal: a verdict line, then findings grouped by
 * area, worst first, one line each, with the fix underneath for warn/fail. Colour only when
 * asked (TTY and no NO_COLOR). Remote text is printed as text; control characters are
 * replaced so a hostile banner cannot drive the terminal.
 */
const COLORS: Record<Status, string> = { pass: '32', warn: '33', fail: '31', info: '36', error: '35' };
const LABELS: Record<Status, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  info: 'INFO',
  error: 'ERROR',
};

/** Replaces control characters (ESC, a bare CR, BEL…) with visible escapes (shared with the web pages). */
export const safeText = visibleControls;

export interface FormatOptions {
  color: boolean;
  verbose: boolean;
  /** Columns to fit the timeline of -v in (the terminal's width); 100 when absent. */
  width?: number;
}

export function formatReport(report: Report, options: FormatOptions): string {
  const paint = (code: string, text: string): string =>
    options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  const bold = (text: string): string => paint('1', text);
  const lines: string[] = [];
  const name =
    report.domain.unicode !== report.domain.ascii
      ? `${report.domain.unicode} (${report.domain.ascii})`
      : report.domain.ascii;
  lines.push(
    `${bold(`mxdoctor ${report.tool.version}`)} — ${safeText(name)}, ${report.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  const c = report.counts;
  const verdictStatus: Status = report.verdict;
  lines.push(
    `${bold('Verdict:')} ${paint(COLORS[verdictStatus], LABELS[verdictStatus])}${report.complete ? '' : ' (incomplete: some things could not be tested)'} — ${c.fail} fail, ${c.warn} warn, ${c.error} error, ${c.pass} pass, ${c.info} info`,
  );

  lines.push(`${bold('Score:')} ${scoreLine(report)}`);

  const byGroup = new Map<string, Finding[]>();
  for (const f of report.checks) {
    const g = groupOf(f.id);
    byGroup.set(g, [...(byGroup.get(g) ?? []), f]);
  }
  const order = [...GROUPS.map((g) => g.title), 'Other'];
  for (const group of order) {
    const findings = byGroup.get(group);
    if (!findings) continue;
    lines.push('', bold(group));
    for (const f of sortWorstFirst(findings)) {
      const label = paint(COLORS[f.status], LABELS[f.status].padEnd(5));
      const where = f.subject?.address
        ? ` [${f.subject.host ?? ''}${f.subject.host ? ' ' : ''}${f.subject.address}]`
        : '';
      lines.push(`  ${label} ${safeText(f.title)}${safeText(where)}: ${safeText(f.summary)}`);
      if (f.remedy && (f.status === 'fail' || f.status === 'warn' || options.verbose)) {
        lines.push(`        ${paint('2', 'Fix:')} ${safeText(f.remedy)}`);
      }
      if (options.verbose) lines.push(`        ${paint('2', `id ${f.id}`)}`);
    }
  }

  if (options.verbose) {
    const timeline = formatTimeline(report, { width: options.width ?? 100, paint });
    if (timeline.length) lines.push('', ...timeline);
    const transcripts = transcriptsOf(report);
    for (const t of transcripts) {
      lines.push('', bold(`SMTP transcript ${safeText(t.title)}`));
      for (const line of t.lines) lines.push(`  ${safeText(line)}`);
    }
    lines.push('', bold(`DNS queries (${report.dnsLog.length})`));
    for (const q of report.dnsLog) {
      lines.push(
        `  ${String(q.atMs).padStart(6)} ms  ${q.type.padEnd(5)} ${safeText(q.name)} @${q.server}/${q.transport} → ${q.rcode}${q.ad ? ' AD' : ''}${q.truncated ? ' TC' : ''}, ${q.answers} answer${q.answers === 1 ? '' : 's'}, ${q.ms} ms${q.error ? ` (${safeText(q.error)})` : ''}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * SMTP transcripts, when the SMTP check put them in its data as
 * `data.smtp.sessions[].{host,address,transcript[]}`.
 */
function transcriptsOf(report: Report): { title: string; lines: string[] }[] {
  const smtp = report.data.smtp as
    | {
        sessions?: {
          host?: string;
          address?: string;
          kind?: string;
          cached?: { storedAt?: string };
          transcript?: unknown[];
        }[];
      }
    | undefined;
  return (smtp?.sessions ?? []).map((s) => ({
    title:
      `${s.host ?? ''} ${s.address ?? ''}${s.kind && s.kind !== 'probe' ? ` (${s.kind.replace('_', ' ')})` : ''}${s.cached?.storedAt ? ` (cached, observed ${s.cached.storedAt})` : ''}`.trim(),
    lines: (s.transcript ?? []).map((l) =>
      typeof l === 'string'
        ? l
        : `${String((l as { atMs?: number }).atMs ?? '').padStart(6)} ${(l as { dir?: string }).dir ?? ''}: ${(l as { line?: string }).line ?? ''}`,
    ),
  }));
}

/** "87/100 (MX 100, SMTP & TLS 80, …)": the total and each scored area; see docs/score.md. */
export function scoreLine(report: Report): string {
  const score = scoreOf(report);
  const areas = score.areas
    .filter((a) => a.weight > 0)
    .map((a) => `${a.area} ${a.score === null ? 'not tested' : a.score}`);
  return `${score.value === null ? 'not scored (nothing could be tested)' : `${score.value}/100`}${areas.length ? ` (${areas.join(', ')})` : ''}`;
}
