import type { RunDiff } from '../../monitor/diff.js';
import { RULE_DESCRIPTIONS, RULE_IDS } from '../../monitor/alerts.js';
import { changeTexts } from '../../monitor/message.js';
import type { Destination, Monitor } from '../../monitor/model.js';
import { displayUrl, scheduleText } from '../../monitor/model.js';
import type { AlertRecord, DeliveryRecord, LastRun, RunRecord } from '../../store/monitors.js';
import { VERDICT_TEXT, ageText } from '../checks/view-model.js';

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

/** Values of the create/edit form (strings as typed, so errors can show them again). */
export interface MonitorFormValues {
  domain: string;
  name: string;
  every: string;
  cron: string;
  tz: string;
  verify: string;
  dkimSelectors: string;
  smtpOff: boolean;
  labels: string;
  emails: string;
  emailMinLevel: string;
  webhooks: { url: string; format: string; minLevel: string }[];
  rules: Record<string, { enabled: boolean; persistence: string }>;
  unknownAfter: string;
  expiryWarnDays: string;
  expiryFailDays: string;
  recovered: boolean;
  paused: boolean;
  retentionDays: string;
  retentionRuns: string;
  /** The form cannot show every destination (several email destinations, many webhooks). */
  destinationsLocked: boolean;
}

export const WEBHOOK_ROWS = 3;

export function formValuesOf(
  m: Monitor | undefined,
  defaults: { retentionDays: number; retentionRuns: number; rules: Monitor['alerts'] },
): MonitorFormValues {
  const emails = m?.destinations.filter((d) => d.type === 'email') ?? [];
  const hooks = m?.destinations.filter((d) => d.type === 'webhook') ?? [];
  const alerts = m?.alerts ?? defaults.rules;
  const webhooks = hooks.map((h) => ({ url: h.url, format: h.format, minLevel: h.minLevel }));
  while (webhooks.length < WEBHOOK_ROWS) webhooks.push({ url: '', format: 'json', minLevel: 'info' });
  return {
    domain: m?.domain.unicode ?? '',
    name: m?.name ?? '',
    every: m && 'every' in m.schedule ? m.schedule.every : m ? '' : '15m',
    cron: m && 'cron' in m.schedule ? m.schedule.cron : '',
    tz: m && 'cron' in m.schedule ? (m.schedule.tz ?? '') : '',
    verify: m?.options.verify.join('\n') ?? '',
    dkimSelectors: m?.options.dkimSelectors.join(' ') ?? '',
    smtpOff: m ? !m.options.smtp : false,
    labels: m?.labels.join(' ') ?? '',
    emails: emails[0]?.to.join('\n') ?? '',
    emailMinLevel: emails[0]?.minLevel ?? 'info',
    webhooks,
    rules: Object.fromEntries(
      RULE_IDS.map((id) => [
        id,
        { enabled: alerts.rules[id].enabled, persistence: String(alerts.rules[id].persistence) },
      ]),
    ),
    unknownAfter: alerts.unknownAfter,
    expiryWarnDays: String(alerts.expiryWarnDays),
    expiryFailDays: String(alerts.expiryFailDays),
    recovered: alerts.recovered,
    paused: m?.paused ?? false,
    retentionDays: String(m?.retention.days ?? defaults.retentionDays),
    retentionRuns: String(m?.retention.runs ?? defaults.retentionRuns),
    destinationsLocked: emails.length > 1 || hooks.length > WEBHOOK_ROWS,
  };
}

function list(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A number field: the number, or the text as typed (so the error can quote it); undefined when empty. */
function int(text: string): number | string | undefined {
  if (!text.trim()) return undefined;
  return /^\s*\d{1,6}\s*$/.test(text) ? Number(text) : text.trim();
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads the form body into form values (bounded lengths). */
export function readForm(body: unknown): MonitorFormValues {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (k: string, max = 2048) => {
    const v = b[k];
    return (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '').slice(0, max);
  };
  const webhooks = [];
  for (let i = 0; i < WEBHOOK_ROWS; i++) {
    webhooks.push({
      url: text(`webhookUrl${i}`).trim(),
      format: text(`webhookFormat${i}`, 10) === 'slack' ? 'slack' : 'json',
      minLevel: ['info', 'warn', 'fail'].includes(text(`webhookMinLevel${i}`, 10))
        ? text(`webhookMinLevel${i}`, 10)
        : 'info',
    });
  }
  return {
    domain: text('domain', 1024),
    name: text('name', 100),
    every: text('every', 20),
    cron: text('cron', 100),
    tz: text('tz', 60),
    verify: text('verify', 8192),
    dkimSelectors: text('dkimSelectors', 4096),
    smtpOff: text('smtpOff') === '1',
    labels: text('labels', 2048),
    emails: text('emails', 8192),
    emailMinLevel: ['info', 'warn', 'fail'].includes(text('emailMinLevel', 10))
      ? text('emailMinLevel', 10)
      : 'info',
    webhooks,
    rules: Object.fromEntries(
      RULE_IDS.map((id) => [
        id,
        { enabled: text(`rule_${id}`) === '1', persistence: text(`persist_${id}`, 6) },
      ]),
    ),
    unknownAfter: text('unknownAfter', 20),
    expiryWarnDays: text('expiryWarnDays', 6),
    expiryFailDays: text('expiryFailDays', 6),
    recovered: text('recovered') === '1',
    paused: text('paused') === '1',
    retentionDays: text('retentionDays', 6),
    retentionRuns: text('retentionRuns', 6),
    destinationsLocked: text('destinationsLocked') === '1',
  };
}

/** The form as an API request body (validated by the same code as the API). */
export function formToInput(v: MonitorFormValues): Record<string, unknown> {
  const schedule = v.cron.trim()
    ? { cron: v.cron.trim(), ...(v.tz.trim() ? { tz: v.tz.trim() } : {}) }
    : { every: v.every.trim() || '' };
  const destinations = [
    ...(v.emails.trim() ? [{ type: 'email', to: list(v.emails), minLevel: v.emailMinLevel }] : []),
    ...v.webhooks
      .filter((w) => w.url)
      .map((w) => ({ type: 'webhook', url: w.url, format: w.format, minLevel: w.minLevel })),
  ];
  return {
    domain: v.domain,
    name: v.name,
    schedule,
    verify: list(v.verify),
    dkimSelectors: list(v.dkimSelectors),
    options: { smtp: !v.smtpOff },
    labels: list(v.labels),
    ...(v.destinationsLocked ? {} : { destinations }),
    alerts: defined({
      rules: Object.fromEntries(
        Object.entries(v.rules).map(([id, r]) => [
          id,
          defined({ enabled: r.enabled, persistence: int(r.persistence) }),
        ]),
      ),
      unknownAfter: v.unknownAfter.trim() || undefined,
      expiryWarnDays: int(v.expiryWarnDays),
      expiryFailDays: int(v.expiryFailDays),
      recovered: v.recovered,
    }),
    paused: v.paused,
    retention: defined({ days: int(v.retentionDays), runs: int(v.retentionRuns) }),
  };
}
