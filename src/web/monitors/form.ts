import { DEFAULT_ALERT_RULES, RULE_DESCRIPTIONS, RULE_IDS } from '../../monitor/alerts.js';
import { toAlertSettings } from '../../monitor/model.js';
import type { Monitor } from '../../monitor/model.js';
import { formatInterval } from '../../monitor/schedule.js';
import type { Config } from '../../config/index.js';
import type { FieldError } from '../../input/check-request.js';

/**
 * The monitor create/edit form: its values as typed, read from a form body (bounded
 * lengths), turned into an API request body (validated by the same code as the API), and
 * the model the form page renders, with each error next to the field it is about.
 */
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

const EVERY_CHOICES = ['5m', '10m', '15m', '30m', '1h', '2h', '6h', '12h', '1d'];

/** The interval choices: the usual ones not below the minimum, the minimum, and the current value. */
export function everyChoices(minIntervalMs: number, current: string): string[] {
  const choices = EVERY_CHOICES.filter((c) => {
    const ms = /^(\d+)([mhd])$/.exec(c)!;
    return Number(ms[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ms[2] as 'm'] >= minIntervalMs;
  });
  if (!choices.includes(formatInterval(minIntervalMs))) choices.unshift(formatInterval(minIntervalMs));
  if (current && !choices.includes(current)) choices.push(current);
  return choices;
}

/** API field names → form field ids, for errors shown next to the right field. */
function fieldId(v: MonitorFormValues, field: string): string {
  const top = field.split(/\[\d+\]/)[0]!.split('.')[0]!;
  if (top === 'destinations') {
    const i = Number(/^destinations\[(\d+)\]/.exec(field)?.[1] ?? 0);
    const hasEmail = Boolean(v.emails.trim());
    if (hasEmail && i === 0) return 'emails';
    const hooks = v.webhooks.map((w, j) => (w.url ? j : -1)).filter((j) => j >= 0);
    return `webhookUrl${hooks[i - (hasEmail ? 1 : 0)] ?? 0}`;
  }
  if (top === 'schedule') return v.cron.trim() ? 'cron' : 'every';
  if (top === 'alerts') {
    const sub = field.split('.')[1] ?? '';
    return ['unknownAfter', 'expiryWarnDays', 'expiryFailDays'].includes(sub) ? sub : 'unknownAfter';
  }
  if (top === 'retention') return field.endsWith('runs') ? 'retentionRuns' : 'retentionDays';
  if (['domain', 'name', 'verify', 'dkimSelectors', 'labels'].includes(top)) return top;
  return 'domain';
}

export interface FormError {
  fieldId: string;
  message: string;
}

/** Errors of the API's validation, each with the form field it is about. */
export function formErrors(v: MonitorFormValues, errors: FieldError[]): FormError[] {
  return errors.map((e) => ({ fieldId: fieldId(v, e.field), message: e.message }));
}

/** The defaults a new monitor's form starts from (the server's retention and alert rules). */
export function formDefaults(config: Pick<Config, 'monitor'>) {
  return {
    retentionDays: Math.round(config.monitor.retentionMs / 86_400_000),
    retentionRuns: config.monitor.maxRuns,
    rules: toAlertSettings(DEFAULT_ALERT_RULES),
  };
}

/** What the form page shows (besides the CSRF token and the page's styles). */
export function formPageView(
  config: Pick<Config, 'monitor' | 'alert'>,
  values: MonitorFormValues,
  monitor: Monitor | undefined,
  errors: FormError[],
) {
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) fieldErrors[e.fieldId] ??= e.message;
  return {
    monitor: monitor ? { id: monitor.id, title: monitor.name ?? monitor.domain.unicode } : undefined,
    values,
    errors,
    fieldErrors,
    everyChoices: everyChoices(config.monitor.minIntervalMs, values.every),
    rules: RULE_IDS.map((id) => ({ id, description: RULE_DESCRIPTIONS[id] })),
    webhookRows: WEBHOOK_ROWS,
    minInterval: formatInterval(config.monitor.minIntervalMs),
    emailEnabled: Boolean(config.alert.smtpUrl),
  };
}
