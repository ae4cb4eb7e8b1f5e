import type { Check } from '../../checks/types.js';
import type { RunDiff } from '../../monitor/diff.js';
import { RULE_DESCRIPTIONS, RULE_IDS } from '../../monitor/alerts.js';
import { changeTexts } from '../../monitor/message.js';
import type { Destination, Monitor } from '../../monitor/model.js';
import { displayUrl, scheduleText } from '../../monitor/model.js';
import type { Report } from '../../report/model.js';
import type { AlertRecord, DeliveryRecord, LastRun, RunRecord } from '../../store/monitors.js';
import { VERDICT_TEXT, ageText, reportView } from '../checks/view-model.js';

/**
 * What the monitor pages show, computed from monitors, runs, alerts and deliveries. Pure:
 * the templates only print these strings (escaped).
 */
export function when(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

function relative(iso: string, now: Date): string {
  const future = Date.parse(iso) > now.getTime();
  const age = ageText(future ? now.toISOString() : iso, future ? new Date(iso) : now);
  return future ? `in ${age}` : `${age} ago`;
}

export interface TrendCell {
  verdict: 'pass' | 'warn' | 'fail';
  label: string;
}

export function trendCells(trend: string): TrendCell[] {
  const map = { p: 'pass', w: 'warn', f: 'fail' } as const;
  return [...trend]
    .filter((c): c is keyof typeof map => c in map)
    .map((c) => ({ verdict: map[c], label: VERDICT_TEXT[map[c]].label }));
}

export interface MonitorRow {
  id: string;
  title: string;
  domain: string;
  schedule: string;
  paused: boolean;
  labels: string[];
  lastRun?: {
    when: string;
    ago: string;
    verdict: string;
    verdictLabel: string;
    counts: string;
    runId: string;
  };
  trend: TrendCell[];
  nextRun?: string;
  certDays?: number;
}

function domainText(m: Monitor): string {
  return m.domain.unicode !== m.domain.ascii ? `${m.domain.unicode} (${m.domain.ascii})` : m.domain.ascii;
}

export function countsText(c: RunRecord['counts']): string {
  return `${c.fail} fail, ${c.warn} warn, ${c.error} could not check`;
}

export function monitorRow(
  m: Monitor,
  last: LastRun | undefined,
  next: Date | undefined,
  now: Date,
): MonitorRow {
  return {
    id: m.id,
    title: m.name ?? domainText(m),
    domain: domainText(m),
    schedule: scheduleText(m.schedule),
    paused: m.paused,
    labels: m.labels,
    ...(last
      ? {
          lastRun: {
            when: when(last.at),
            ago: relative(last.at, now),
            verdict: last.verdict,
            verdictLabel: VERDICT_TEXT[last.verdict].label,
            counts: countsText(last.counts),
            runId: last.runId,
          },
        }
      : {}),
    trend: trendCells(last?.trend ?? ''),
    ...(next ? { nextRun: `${when(next.toISOString())} (${relative(next.toISOString(), now)})` } : {}),
    ...(last?.certDays !== undefined ? { certDays: last.certDays } : {}),
  };
}

export interface RunRow {
  runId: string;
  when: string;
  ago: string;
  verdict: string;
  verdictLabel: string;
  counts: string;
  trigger: string;
  duration: string;
  changes: string[];
  changeCount: number;
  alerts: number;
  previousRunId?: string;
}

const TRIGGERS = { schedule: 'scheduled', manual: 'run now', initial: 'first run' } as const;

export function runRow(r: RunRecord, now: Date): RunRow {
  return {
    runId: r.runId,
    when: when(r.at),
    ago: relative(r.at, now),
    verdict: r.verdict,
    verdictLabel: VERDICT_TEXT[r.verdict].label,
    counts: countsText(r.counts),
    trigger: TRIGGERS[r.trigger],
    duration: `${(r.durationMs / 1000).toFixed(1)} s`,
    changes: r.changes?.texts ?? [],
    changeCount: r.changes?.count ?? 0,
    alerts: r.alerts.length,
    ...(r.changes ? { previousRunId: r.changes.previousRunId } : {}),
  };
}

export interface AlertRow {
  when: string;
  kind: string;
  level: string;
  title: string;
  text: string;
  runId: string;
  deliveries: { destination: string; status: string; detail?: string }[];
}

const KINDS = {
  problem: 'Problem',
  changed: 'Changed',
  recovered: 'Recovered',
  unknown: 'Untestable',
} as const;

export function alertRows(
  alerts: AlertRecord[],
  deliveries: DeliveryRecord[],
  destinations: Destination[],
  admin: boolean,
): AlertRow[] {
  return alerts.map((a) => ({
    when: when(a.at),
    kind: KINDS[a.kind],
    level: a.kind === 'recovered' ? 'pass' : a.level === 'info' ? 'info' : a.level,
    title: a.title,
    text: a.text,
    runId: a.runId,
    deliveries: admin
      ? Object.entries(a.deliveryIds).map(([destId, deliveryId]) => {
          const latest = deliveries.find((d) => d.deliveryId === deliveryId);
          const dest = destinations.find((d) => d.id === destId);
          return {
            destination: dest ? destinationText(dest) : '(removed destination)',
            status: latest?.status ?? 'queued',
            ...(latest?.detail ? { detail: latest.detail } : {}),
          };
        })
      : [],
  }));
}

export function destinationText(d: Destination): string {
  return d.type === 'email'
    ? `Email to ${d.to.join(', ')}`
    : `${d.format === 'slack' ? 'Slack webhook' : 'Webhook'} ${displayUrl(d.url)}`;
}

export interface DestinationRow {
  id: string;
  text: string;
  minLevel: string;
  secret?: string;
  last?: { status: string; when: string; detail?: string; test: boolean };
}

export function destinationRows(m: Monitor, status: Record<string, DeliveryRecord>): DestinationRow[] {
  return m.destinations.map((d) => {
    const s = status[d.id];
    return {
      id: d.id,
      text: destinationText(d),
      minLevel: d.minLevel,
      ...(d.type === 'webhook' ? { secret: d.secret } : {}),
      ...(s
        ? {
            last: {
              status: s.status,
              when: when(s.at),
              test: s.test,
              ...(s.detail ? { detail: s.detail } : {}),
            },
          }
        : {}),
    };
  });
}

export function rulesText(m: Monitor): string[] {
  return RULE_IDS.filter((id) => m.alerts.rules[id].enabled).map((id) => {
    const k = m.alerts.rules[id].persistence;
    return `${RULE_DESCRIPTIONS[id]}${k > 1 ? ` (after ${k} runs in a row)` : ''}`;
  });
}

export interface DiffView {
  from: { runId: string; when: string; verdict: string; verdictLabel: string };
  to: { runId: string; when: string; verdict: string; verdictLabel: string };
  same: boolean;
  texts: string[];
}

export function diffView(d: RunDiff): DiffView {
  const side = (s: RunDiff['from']) => ({
    runId: s.reportId,
    when: when(s.at),
    verdict: s.verdict,
    verdictLabel: VERDICT_TEXT[s.verdict as 'pass'].label,
  });
  return { from: side(d.from), to: side(d.to), same: d.same, texts: changeTexts(d, 200) };
}

// ---------------------------------------------------------------------------------------
// Page models: what each monitor page renders, besides the CSRF token and the page's styles.

/** The list page: monitors with `label` (all when empty), by title, and every label in use. */
export function monitorListView(
  monitors: Monitor[],
  last: Record<string, LastRun>,
  next: Map<string, Date>,
  label: string,
  now: Date,
) {
  const rows = monitors
    .filter((m) => !label || m.labels.includes(label))
    .map((m) => monitorRow(m, last[m.id], next.get(m.id), now))
    .sort((a, b) => a.title.localeCompare(b.title));
  const labels = [...new Set(monitors.flatMap((m) => m.labels))].sort();
  return { rows, labels, label, total: monitors.length };
}

const NOTICES: Record<string, string> = {
  run: 'A run is queued; it appears below when it has finished (reload the page).',
  test: 'The test alert is queued; its outcome appears under Destinations.',
  paused: 'The monitor is paused: it does not run until you resume it.',
  resumed: 'The monitor runs on its schedule again.',
  saved: 'Saved.',
};

/** What the monitor page is built from (deliveries and destination status: admin only). */
export interface MonitorPageData {
  runs: RunRecord[];
  alerts: AlertRecord[];
  deliveries: DeliveryRecord[];
  destinationStatus: Record<string, DeliveryRecord>;
  last: LastRun | undefined;
  next: Date | undefined;
  runCount: number;
}

/** One monitor: its settings, history timeline, alerts and their deliveries, destinations. */
export function monitorPageView(
  m: Monitor,
  data: MonitorPageData,
  o: { admin: boolean; notice: string; emailEnabled: boolean; now: Date },
) {
  return {
    admin: o.admin,
    m: {
      ...monitorRow(m, data.last, data.next, o.now),
      rules: rulesText(m),
      verify: m.options.verify,
      dkimSelectors: m.options.dkimSelectors,
      smtp: m.options.smtp,
      retention: `${m.retention.days} days or ${m.retention.runs} runs, whichever is fewer`,
      created: when(m.createdAt),
      unknownAfter: m.alerts.unknownAfter,
      expiry: `${m.alerts.expiryWarnDays} / ${m.alerts.expiryFailDays} days`,
    },
    runs: data.runs.map((r) => runRow(r, o.now)),
    runCount: data.runCount,
    alerts: alertRows(data.alerts, data.deliveries, m.destinations, o.admin),
    destinations: o.admin ? destinationRows(m, data.destinationStatus) : [],
    destinationCount: m.destinations.length,
    deliveries: data.deliveries.slice(0, 30).map((d) => ({ ...d, when: when(d.at) })),
    notice: NOTICES[o.notice] ?? '',
    emailEnabled: o.emailEnabled,
    // Without JavaScript, the page reloads itself until the first run is there.
    refreshSeconds: data.runs.length === 0 && !m.paused ? 5 : 0,
  };
}

function monitorTitle(m: Monitor): { id: string; title: string } {
  return { id: m.id, title: m.name ?? m.domain.unicode };
}

/** A run's page: its report as on the check page, and what changed since the run before. */
export function runPageView(
  m: Monitor,
  found: { run: RunRecord; report: Report; previous?: string; next?: string },
  diff: RunDiff | undefined,
  checks: readonly Check[],
  now: Date,
) {
  return {
    monitorRun: true,
    history: [],
    id: found.run.runId,
    monitor: monitorTitle(m),
    run: runRow(found.run, now),
    report: reportView(found.report, checks, new Date(found.report.startedAt)),
    diff: diff ? diffView(diff) : undefined,
    previousRunId: found.previous ?? '',
    nextRunId: found.next ?? '',
  };
}

/** The diff page: run pickers, and the diff or why there is none. */
export function diffPageView(
  m: Monitor,
  runs: RunRecord[],
  asked: { from?: string | undefined; to?: string | undefined },
  result: { ok: true; diff: RunDiff } | { ok: false; message: string },
) {
  return {
    monitor: monitorTitle(m),
    runs: runs.map((x) => ({ runId: x.runId, label: `${when(x.at)} — ${x.verdict}` })),
    from: asked.from ?? (result.ok ? result.diff.from.reportId : ''),
    to: asked.to ?? (result.ok ? result.diff.to.reportId : ''),
    diff: result.ok ? diffView(result.diff) : undefined,
    error: result.ok ? '' : result.message,
  };
}
