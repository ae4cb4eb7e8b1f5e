import { z } from 'zod';
import { CheckOptionsSchema } from '../report/model.js';
import type { CheckOptions } from '../report/model.js';
import { connectAllowed } from '../net/address-guard.js';
import { parseCheckRequest } from '../input/check-request.js';
import type { FieldError } from '../input/check-request.js';
import { DEFAULT_ALERT_RULES, RULE_IDS } from './alerts.js';
import type { AlertRules, RuleId } from './alerts.js';
import { formatInterval, parseInterval, parseSchedule } from './schedule.js';
import type { Schedule } from './schedule.js';

/**
 * What a monitor is — a domain with check options, a schedule, alert rules, destinations,
 * a paused flag, labels and a retention — as stored in Redis and accepted by the API and
 * the form. Validation is pure and says, per field, what was wrong and what is accepted.
 */

export const MONITOR_ID_PATTERN = /^[A-Za-z0-9_-]{16}$/;
export const DESTINATION_ID_PATTERN = /^[A-Za-z0-9_-]{8}$/;
export const MAX_DESTINATIONS = 10;
export const MAX_EMAIL_RECIPIENTS = 20;
export const MAX_LABELS = 20;
const LABEL = /^[\p{L}\p{N}][\p{L}\p{N}_.:=/-]{0,63}$/u;
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export const LEVELS = ['info', 'warn', 'fail'] as const;
export type Level = (typeof LEVELS)[number];

export const ScheduleSchema = z
  .union([
    z.object({ every: z.string().describe('Interval, e.g. "5m", "15m", "1h", "1d"') }).strict(),
    z
      .object({
        cron: z.string().describe('Cron pattern, five fields, e.g. "*/15 * * * *"'),
        tz: z.string().optional().describe('IANA time zone of the pattern (default UTC)'),
      })
      .strict(),
  ])
  .describe('When the monitor runs; never more often than MXDOCTOR_MONITOR_MIN_INTERVAL (default 5m)');

const RuleSettingsSchema = z.object({
  enabled: z.boolean(),
  persistence: z
    .number()
    .int()
    .min(1)
    .max(50)
    .describe('Consecutive runs a new state must be seen before it alerts (flapping protection)'),
});

export const AlertSettingsSchema = z.object({
  rules: z.object(
    Object.fromEntries(RULE_IDS.map((id) => [id, RuleSettingsSchema])) as Record<
      RuleId,
      typeof RuleSettingsSchema
    >,
  ),
  unknownAfter: z
    .string()
    .describe('How long something that could be tested before may stay untestable before it alerts'),
  expiryWarnDays: z.number().int(),
  expiryFailDays: z.number().int(),
  recovered: z.boolean().describe('Send a notice when a problem clears'),
});
export type AlertSettings = z.infer<typeof AlertSettingsSchema>;

const DestinationBase = {
  id: z.string().describe('Stable id of the destination (8 characters), for test alerts and deliveries'),
  minLevel: z
    .enum(LEVELS)
    .describe('Least severe alert sent here: info (everything), warn or fail; default info'),
};
export const EmailDestinationSchema = z.object({
  ...DestinationBase,
  type: z.literal('email'),
  to: z.array(z.string()).describe('Recipient addresses'),
});
export const WebhookDestinationSchema = z.object({
  ...DestinationBase,
  type: z.literal('webhook'),
  url: z.string().describe('http(s) URL the alert is POSTed to'),
  format: z.enum(['json', 'slack']).describe('json: mxdoctor payload; slack: {"text"} for Slack-style hooks'),
  secret: z
    .string()
    .describe('HMAC-SHA256 key of the X-Mxdoctor-Signature header (generated when not given)'),
});
export const DestinationSchema = z.discriminatedUnion('type', [
  EmailDestinationSchema,
  WebhookDestinationSchema,
]);
export type Destination = z.infer<typeof DestinationSchema>;
export type EmailDestination = z.infer<typeof EmailDestinationSchema>;
export type WebhookDestination = z.infer<typeof WebhookDestinationSchema>;

export const MonitorSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  rev: z.number().int().describe('Increases with every change'),
  name: z.string().optional(),
  domain: z.object({ input: z.string(), ascii: z.string(), unicode: z.string() }),
  options: CheckOptionsSchema,
  schedule: ScheduleSchema,
  alerts: AlertSettingsSchema,
  destinations: z.array(DestinationSchema),
  paused: z.boolean(),
  labels: z.array(z.string()),
  retention: z.object({
    days: z.number().int().describe('Runs older than this are removed'),
    runs: z.number().int().describe('At most this many runs are kept'),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Monitor = z.infer<typeof MonitorSchema>;

/** Request bodies (create; PATCH takes any subset). Destinations are replaced as a whole. */
const DestinationInputSchema = z.union([
  z
    .object({
      id: z.string().optional(),
      type: z.literal('email'),
      to: z.union([z.string(), z.array(z.string().max(320)).max(MAX_EMAIL_RECIPIENTS)]),
      minLevel: z.enum(LEVELS).optional(),
    })
    .strict(),
  z
    .object({
      id: z.string().optional(),
      type: z.literal('webhook'),
      url: z.string().max(2048),
      format: z.enum(['json', 'slack']).optional(),
      secret: z.string().max(200).optional(),
      minLevel: z.enum(LEVELS).optional(),
    })
    .strict(),
]);

const AlertSettingsInputSchema = z
  .object({
    rules: z
      .object(
        Object.fromEntries(
          RULE_IDS.map((id) => [
            id,
            z
              .object({
                enabled: z.boolean().optional(),
                persistence: z.number().int().min(1).max(50).optional(),
              })
              .strict()
              .optional(),
          ]),
        ),
      )
      .strict()
      .optional(),
    unknownAfter: z.string().max(20).optional(),
    expiryWarnDays: z.number().int().min(1).max(365).optional(),
    expiryFailDays: z.number().int().min(0).max(365).optional(),
    recovered: z.boolean().optional(),
  })
  .strict();

export const MonitorInputSchema = z
  .object({
    domain: z
      .string()
      .max(1024)
      .describe('Domain to monitor (or an email address whose domain is monitored)'),
    name: z.string().max(100).optional().describe('A name to show instead of the domain'),
    verify: z.array(z.string().max(320)).max(10).optional().describe('Addresses to verify with RCPT TO'),
    dkimSelectors: z.array(z.string().max(253)).max(20).optional(),
    options: z.object({ smtp: z.boolean().optional() }).strict().optional(),
    schedule: ScheduleSchema,
    alerts: AlertSettingsInputSchema.optional(),
    destinations: z.array(DestinationInputSchema).max(MAX_DESTINATIONS).optional(),
    paused: z.boolean().optional(),
    labels: z.array(z.string().max(64)).max(MAX_LABELS).optional(),
    retention: z
      .object({
        days: z.number().int().min(1).max(3650).optional(),
        runs: z.number().int().min(1).max(10_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe('A monitor to create');
export const MonitorPatchSchema = MonitorInputSchema.partial().describe(
  'Fields to change; destinations, labels and schedule are replaced as a whole, alerts are merged',
);

export interface MonitorLimits {
  /** MXDOCTOR_MONITOR_MIN_INTERVAL. */
  minIntervalMs: number;
  /** Default retention (MXDOCTOR_MONITOR_RETENTION, MXDOCTOR_MONITOR_MAX_RUNS). */
  retentionDays: number;
  retentionRuns: number;
  /** Webhook URLs whose host is a non-public IP literal are refused unless this is set. */
  allowPrivate: boolean;
}

/** Everything of a monitor that a request sets (ids, rev and times are the store's). */
export type MonitorSpec = Omit<Monitor, 'version' | 'id' | 'rev' | 'createdAt' | 'updatedAt'>;

export type SpecResult = { ok: true; spec: MonitorSpec } | { ok: false; errors: FieldError[] };

export function toAlertSettings(rules: AlertRules): AlertSettings {
  return {
    rules: structuredClone(rules.rules),
    unknownAfter: formatInterval(rules.unknownAfterMs),
    expiryWarnDays: rules.expiryWarnDays,
    expiryFailDays: rules.expiryFailDays,
    recovered: rules.recovered,
  };
}

/**
 * A monitor as stored by an earlier version, with every alert rule of this one: a rule added
 * since (score_drop) takes its default settings. The store applies it to everything it reads.
 */
export function withAllRules(monitor: Monitor): Monitor {
  const missing = RULE_IDS.filter((id) => !monitor.alerts.rules[id]);
  if (missing.length === 0) return monitor;
  const rules = { ...monitor.alerts.rules };
  for (const id of missing) rules[id] = { ...DEFAULT_ALERT_RULES.rules[id] };
  return { ...monitor, alerts: { ...monitor.alerts, rules } };
}

/** The settings as the alert engine wants them. */
export function alertRulesOf(settings: AlertSettings): AlertRules {
  return {
    rules: structuredClone(settings.rules),
    unknownAfterMs: parseInterval(settings.unknownAfter) ?? DEFAULT_ALERT_RULES.unknownAfterMs,
    expiryWarnDays: settings.expiryWarnDays,
    expiryFailDays: settings.expiryFailDays,
    recovered: settings.recovered,
  };
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** A webhook URL as shown to people: credentials and query masked. */
export function displayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const auth = u.username || u.password ? '***@' : '';
    const path = u.pathname.length > 24 ? `${u.pathname.slice(0, 20)}…` : u.pathname;
    return `${u.protocol}//${auth}${u.host}${path}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Checks a webhook URL; returns the problem, or undefined when it is acceptable. */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${JSON.stringify(raw.slice(0, 80))} is not a URL; give an http:// or https:// URL.`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return `${u.protocol} URLs are not accepted; webhooks are http:// or https:// URLs.`;
  if (u.hash) return 'A webhook URL must not have a #fragment.';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    const allowed = connectAllowed(host, allowPrivate);
    if (!allowed.ok) return `The webhook host ${allowed.why}.`;
  } else if (
    !/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(
      host,
    )
  ) {
    return `${JSON.stringify(host)} is not a host name.`;
  }
  return undefined;
}

type MonitorRequest = z.infer<typeof MonitorPatchSchema>;
type DestinationInput = z.infer<typeof DestinationInputSchema>;

/**
 * Validates a create request (`existing` undefined) or a PATCH (`existing` given: absent
 * fields keep their value). `newId` makes destination ids and webhook secrets.
 */
export function parseMonitorInput(
  input: unknown,
  limits: MonitorLimits,
  newId: (bytes: number) => string,
  existing?: Monitor,
): SpecResult {
  const schema = existing ? MonitorPatchSchema : MonitorInputSchema;
  const parsed = schema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => issueError(i, input)) };
  const req = parsed.data as MonitorRequest;
  const errors: FieldError[] = [];
  const check = checkFields(req, existing, errors);
  let schedule: Schedule | undefined = existing?.schedule;
  if (req.schedule !== undefined) {
    const s = parseSchedule(req.schedule, limits.minIntervalMs);
    if (!s.ok) errors.push({ field: 'schedule', message: s.error });
    else schedule = s.schedule;
  }
  const alerts = alertSettings(req.alerts, existing?.alerts ?? toAlertSettings(DEFAULT_ALERT_RULES), errors);
  const destinations =
    req.destinations !== undefined
      ? parseDestinations(req.destinations, existing, limits, newId, errors)
      : (existing?.destinations ?? []);
  const labels = req.labels !== undefined ? parseLabels(req.labels, errors) : (existing?.labels ?? []);
  const retention = {
    days: req.retention?.days ?? existing?.retention.days ?? limits.retentionDays,
    runs: req.retention?.runs ?? existing?.retention.runs ?? limits.retentionRuns,
  };
  const name = req.name !== undefined ? req.name.trim() : existing?.name;

  if (errors.length > 0 || !check || !schedule) {
    if (!errors.length) errors.push({ field: 'body', message: 'domain and schedule are required.' });
    return { ok: false, errors };
  }
  return {
    ok: true,
    spec: {
      ...(name ? { name } : {}),
      domain: check.domain,
      options: check.options,
      schedule,
      alerts,
      destinations,
      paused: req.paused ?? existing?.paused ?? false,
      labels,
      retention,
    },
  };
}

/** A schema issue as a field error that says what is accepted. */
function issueError(issue: z.core.$ZodIssue, input: unknown): FieldError {
  const field = fieldOf(issue.path) || 'body';
  if (issue.code === 'invalid_type' && issue.path.length === 0)
    return {
      field: 'body',
      message:
        'The body must be a JSON object such as {"domain": "example.com", "schedule": {"every": "15m"}}.',
    };
  if (issue.code === 'unrecognized_keys')
    return {
      field: fieldOf([...issue.path, issue.keys[0] ?? '']) || 'body',
      message: `Unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${issue.path.length ? ` in ${field}` : ''}.`,
    };
  if (issue.code === 'invalid_type' && field === 'domain')
    return { field, message: 'domain is required, e.g. "example.com".' };
  if (issue.code === 'invalid_type' && field === 'schedule')
    return { field, message: 'schedule is required: {"every": "15m"} or {"cron": "*/15 * * * *"}.' };
  if (issue.code === 'invalid_union' && field.startsWith('destinations'))
    return {
      field,
      message: `${field} must be {"type": "email", "to": ["ops@example.com"]} or {"type": "webhook", "url": "https://…", "format": "json"|"slack"}.`,
    };
  if (field === 'schedule' && (input as { schedule?: unknown } | null)?.schedule === undefined)
    return { field, message: 'schedule is required: {"every": "15m"} or {"cron": "*/15 * * * *"}.' };
  if (issue.code === 'invalid_union' && field === 'schedule')
    return { field, message: 'schedule must be {"every": "15m"} or {"cron": "*/15 * * * *", "tz": "UTC"}.' };
  return { field, message: `${field}: ${issue.message}.` };
}

/** Domain and check options, validated as a check request is (kept when a PATCH gives none). */
function checkFields(
  req: MonitorRequest,
  existing: Monitor | undefined,
  errors: FieldError[],
): { domain: Monitor['domain']; options: CheckOptions } | undefined {
  const given =
    req.domain !== undefined ||
    req.verify !== undefined ||
    req.dkimSelectors !== undefined ||
    req.options !== undefined;
  if (existing && !given) return { domain: existing.domain, options: existing.options };
  const check = parseCheckRequest({
    domain: req.domain ?? existing?.domain.input,
    ...(req.verify !== undefined
      ? { verify: req.verify }
      : existing && !req.domain
        ? { verify: existing.options.verify }
        : {}),
    ...(req.dkimSelectors !== undefined
      ? { dkimSelectors: req.dkimSelectors }
      : existing
        ? { dkimSelectors: existing.options.dkimSelectors }
        : {}),
    options: { smtp: req.options?.smtp ?? existing?.options.smtp ?? true },
  });
  if (!check.ok) {
    errors.push(...check.errors);
    return existing ? { domain: existing.domain, options: existing.options } : undefined;
  }
  return {
    domain: { input: check.domain.input, ascii: check.domain.ascii, unicode: check.domain.unicode },
    options: check.options,
  };
}

/** The alert settings with the request's merged in, rule by rule. */
function alertSettings(
  given: MonitorRequest['alerts'],
  base: AlertSettings,
  errors: FieldError[],
): AlertSettings {
  const alerts: AlertSettings = structuredClone(base);
  if (!given) return alerts;
  for (const id of RULE_IDS) {
    const r = given.rules?.[id];
    if (r) alerts.rules[id] = { ...alerts.rules[id], ...r };
  }
  if (given.unknownAfter !== undefined) {
    const ms = parseInterval(given.unknownAfter);
    if (ms === undefined || ms < 60_000 || ms > 7 * 86_400_000)
      errors.push({
        field: 'alerts.unknownAfter',
        message: `alerts.unknownAfter ${JSON.stringify(given.unknownAfter)} must be a duration from 1m to 7d, e.g. "30m".`,
      });
    else alerts.unknownAfter = formatInterval(ms);
  }
  if (given.expiryWarnDays !== undefined) alerts.expiryWarnDays = given.expiryWarnDays;
  if (given.expiryFailDays !== undefined) alerts.expiryFailDays = given.expiryFailDays;
  if (given.recovered !== undefined) alerts.recovered = given.recovered;
  if (alerts.expiryFailDays >= alerts.expiryWarnDays)
    errors.push({
      field: 'alerts.expiryFailDays',
      message: `alerts.expiryFailDays (${alerts.expiryFailDays}) must be fewer days than alerts.expiryWarnDays (${alerts.expiryWarnDays}).`,
    });
  return alerts;
}

/**
 * The destinations, replaced as a whole. A destination given with the id of an existing one,
 * or a webhook with the same URL, keeps its id, level, format and secret unless given anew.
 */
function parseDestinations(
  given: DestinationInput[],
  existing: Monitor | undefined,
  limits: MonitorLimits,
  newId: (bytes: number) => string,
  errors: FieldError[],
): Destination[] {
  const destinations: Destination[] = [];
  const usedIds = new Set<string>();
  given.forEach((d, i) => {
    const field = `destinations[${i}]`;
    const old =
      (d.id !== undefined ? existing?.destinations.find((x) => x.id === d.id) : undefined) ??
      existing?.destinations.find(
        (x) => x.type === d.type && (x.type === 'webhook' ? x.url === (d as { url: string }).url : false),
      );
    if (d.id !== undefined && !DESTINATION_ID_PATTERN.test(d.id)) {
      errors.push({
        field: `${field}.id`,
        message: `${field}.id ${JSON.stringify(d.id.slice(0, 20))} is not a destination id.`,
      });
      return;
    }
    let id = old?.id ?? d.id ?? newId(6);
    while (usedIds.has(id)) id = newId(6);
    usedIds.add(id);
    const minLevel = d.minLevel ?? old?.minLevel ?? 'info';
    const r =
      d.type === 'email'
        ? emailDestination(d, field, id, minLevel)
        : webhookDestination(d, field, id, minLevel, old, limits, newId);
    if ('error' in r) errors.push(r.error);
    else destinations.push(r.destination);
  });
  return destinations;
}

type DestinationResult = { destination: Destination } | { error: FieldError };

function emailDestination(
  d: Extract<DestinationInput, { type: 'email' }>,
  field: string,
  id: string,
  minLevel: Level,
): DestinationResult {
  const list = (Array.isArray(d.to) ? d.to : d.to.split(/[\s,;]+/)).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0)
    return {
      error: {
        field: `${field}.to`,
        message: `${field}.to needs at least one address, e.g. "ops@example.com".`,
      },
    };
  if (list.length > MAX_EMAIL_RECIPIENTS)
    return {
      error: {
        field: `${field}.to`,
        message: `${field}.to has ${list.length} addresses; at most ${MAX_EMAIL_RECIPIENTS}.`,
      },
    };
  const bad = list.find((a) => !EMAIL.test(a) || !a.split('@')[1]!.includes('.'));
  if (bad)
    return {
      error: {
        field: `${field}.to`,
        message: `${JSON.stringify(bad.slice(0, 80))} is not an email address; give addresses like ops@example.com.`,
      },
    };
  return { destination: { id, type: 'email', to: [...new Set(list)], minLevel } };
}

function webhookDestination(
  d: Extract<DestinationInput, { type: 'webhook' }>,
  field: string,
  id: string,
  minLevel: Level,
  old: Destination | undefined,
  limits: MonitorLimits,
  newId: (bytes: number) => string,
): DestinationResult {
  const problem = webhookUrlProblem(d.url.trim(), limits.allowPrivate);
  if (problem) return { error: { field: `${field}.url`, message: problem } };
  if (d.secret !== undefined && (d.secret.length < 16 || /\s/.test(d.secret)))
    return {
      error: {
        field: `${field}.secret`,
        message: `${field}.secret must be at least 16 characters without spaces (or leave it out to get a generated one).`,
      },
    };
  const secret = d.secret ?? (old?.type === 'webhook' ? old.secret : undefined) ?? newId(24);
  return {
    destination: {
      id,
      type: 'webhook',
      url: d.url.trim(),
      format: d.format ?? (old?.type === 'webhook' ? old.format : 'json'),
      secret,
      minLevel,
    },
  };
}

/** The labels, replaced as a whole: trimmed, without repeats. */
function parseLabels(given: string[], errors: FieldError[]): string[] {
  const labels: string[] = [];
  given.forEach((raw, i) => {
    const l = raw.trim();
    if (!LABEL.test(l)) {
      errors.push({
        field: `labels[${i}]`,
        message: `Label ${JSON.stringify(raw.slice(0, 70))} is not accepted; labels are 1–64 letters, digits and _ . : = / - (starting with a letter or digit), e.g. "prod" or "team=mail".`,
      });
    } else if (!labels.includes(l)) labels.push(l);
  });
  return labels;
}

/** What a monitor looks like to someone who may view but not administer: no destinations. */
export function publicMonitor(
  m: Monitor,
): Omit<Monitor, 'destinations'> & { destinations: { id: string; type: string }[] } {
  return { ...m, destinations: m.destinations.map((d) => ({ id: d.id, type: d.type })) };
}

/** The schedule in a few words for listings: "every 15m", "cron 0 * * * * (UTC)". */
export function scheduleText(s: Schedule): string {
  return 'every' in s ? `every ${s.every}` : `cron ${s.cron}${s.tz ? ` (${s.tz})` : ''}`;
}
