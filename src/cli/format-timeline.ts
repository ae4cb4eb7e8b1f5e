import type { Report } from '../report/model.js';
import { timelineRows } from '../report/timeline-rows.js';
import type { TimelineRow } from '../report/timeline-rows.js';
import { visibleControls } from '../report/visible-text.js';

/**
 * The timeline of `mxdoctor check -v`: where the time of the check went, one line per SMTP
 * session and HTTPS fetch and one per phase under it, the DNS queries as one line with the
 * slowest few under it. Each line: start and duration (ms since the check started), a bar on
 * the check's time scale, the label. The slowest phase is marked. The bar and the labels fit
 * `width` columns; colour only when asked.
 */

/** DNS queries listed under the DNS line (the slowest; the DNS log lists them all). */
const DNS_SHOWN = 5;

export function formatTimeline(
  report: Report,
  options: { width: number; paint: (code: string, text: string) => string },
): string[] {
  const timeline = report.timeline;
  if (!timeline) return [];
  const rows = timelineRows(timeline, { dnsShown: DNS_SHOWN });
  const total = Math.max(1, timeline.totalMs, ...rows.map((r) => r.startMs + r.ms));
  // "  12345 ms  1234 ms  [bar]  label": 21 columns of numbers, the bar, then the label.
  const width = Math.max(60, options.width);
  const barWidth = Math.max(10, Math.min(40, width - 21 - 4 - 50));
  const labelWidth = width - 21 - barWidth - 4;
  const { paint } = options;
  const lines = [
    `${paint('1', 'Timeline')} (${timeline.totalMs} ms; ms since the check started, duration, ${paint('1', '*')} the slowest step)`,
  ];
  for (const r of rows) {
    const mark = r.slowest ? '*' : ' ';
    const label = fit(`${r.level === 1 ? '  ' : ''}${visibleControls(r.label)}`, labelWidth - 2);
    const text = `${String(r.startMs).padStart(7)} ms ${String(r.ms).padStart(6)} ms  ${bar(r, total, barWidth)}  ${mark} ${label}`;
    lines.push(r.slowest ? paint('1', text) : r.level === 0 ? text : paint('2', text));
  }
  if (timeline.dns.length > rows.filter((r) => r.group === 'dns' && r.level === 1).length)
    lines.push(`  (the ${DNS_SHOWN} slowest DNS queries are shown; the DNS log below lists every one)`);
  return lines;
}

/** The row's span on a scale of `width` characters: "·" before and after, "█" (at least one) while it ran. */
function bar(r: TimelineRow, total: number, width: number): string {
  const from = Math.min(width - 1, Math.floor((r.startMs / total) * width));
  const to = Math.max(from + 1, Math.min(width, Math.round(((r.startMs + r.ms) / total) * width)));
  return `${'·'.repeat(from)}${(r.level === 0 ? '▒' : '█').repeat(to - from)}${'·'.repeat(width - to)}`;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(1, width - 1))}…`;
}
