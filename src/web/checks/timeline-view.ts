import type { Report } from '../../report/model.js';
import { timelineRows } from '../../report/timeline-rows.js';
import type { TimelineRow } from '../../report/timeline-rows.js';

/**
 * The report page's timeline: the rows of report/timeline-rows.ts with their offsets in words
 * and their bar as numbers on a 0–1000 scale (the template draws each as an SVG rectangle:
 * geometry attributes, no inline style, so the page's strict CSP holds). Pure; the template
 * escapes every label.
 */
export interface TimelineRowView {
  label: string;
  group: TimelineRow['group'];
  level: TimelineRow['level'];
  start: string;
  took: string;
  slowest: boolean;
  /** Where the bar starts and how wide it is, on a scale of 1000. */
  x: number;
  width: number;
}

export interface TimelineView {
  totalText: string;
  rows: TimelineRowView[];
  /** DNS queries not listed under the DNS row (the DNS queries section lists them all). */
  dnsNotShown: number;
}

/** DNS queries listed under the DNS row: the slowest. */
const DNS_SHOWN = 5;

export function timelineView(report: Report): TimelineView | undefined {
  const t = report.timeline;
  if (!t) return undefined;
  const rows = timelineRows(t, { dnsShown: DNS_SHOWN });
  const total = Math.max(1, t.totalMs, ...rows.map((r) => r.startMs + r.ms));
  const scale = (ms: number): number => Math.round((ms / total) * 1000);
  return {
    totalText: `${t.totalMs} ms`,
    rows: rows.map((r) => {
      const x = Math.min(995, scale(r.startMs));
      return {
        label: r.label,
        group: r.group,
        level: r.level,
        start: `${r.startMs} ms`,
        took: `${r.ms} ms`,
        slowest: r.slowest === true,
        x,
        width: Math.max(5, Math.min(1000 - x, scale(r.ms))),
      };
    }),
    dnsNotShown: t.dns.length - rows.filter((r) => r.group === 'dns' && r.level === 1).length,
  };
}
