import { createHmac } from 'node:crypto';
import type { Alert } from './alerts.js';
import type { RunDiff } from './diff.js';
import type { Level } from './model.js';

/**
 * What an alert delivery says, built once per run and destination: the alerts (one state
 * change each), what changed since the previous run, and links to the monitor and the
 * run's report. Rendered as an email (plain text and HTML), a JSON webhook payload, or a
 * Slack-style {"text"} payload; webhook bodies are signed with HMAC-SHA256. Pure.
 */
export interface AlertBatch {
  monitor: { id: string; name?: string; domain: string };
  run?: { id: string; at: string; verdict: string; counts: Record<string, number> };
  alerts: Alert[];
  /** What changed since the run before, as sentences (facts first, then findings). */
  changes: string[];
  links: { monitor: string; report?: string };
  /** A test message from "send a test alert". */
  test: boolean;
}

const LEVEL_RANK: Record<Level, number> = { info: 0, warn: 1, fail: 2 };

/** The alerts a destination with this minimum level receives. */
export function alertsFor(alerts: readonly Alert[], minLevel: Level): Alert[] {
  return alerts.filter((a) => LEVEL_RANK[a.level] >= LEVEL_RANK[minLevel]);
}

/** The sentences of a diff, most telling first, at most `max`. */
export function changeTexts(diff: RunDiff, max = 30): string[] {
  const status = (s: string) => (s === 'error' ? 'could not check' : s);
  const out = [
    ...diff.facts.map((f) => f.text),
    ...diff.changed.map((c) => `${c.title}: ${status(c.from)} → ${status(c.to)} — ${c.summary}`),
    ...diff.appeared
      .filter((f) => f.status !== 'pass' && f.status !== 'info')
      .map((f) => `new: ${f.title} (${status(f.status)}) — ${f.summary}`),
    ...diff.disappeared
      .filter((f) => f.status === 'fail' || f.status === 'warn')
      .map((f) => `gone: ${f.title} (was ${status(f.status)})`),
  ];
  return out.length > max ? [...out.slice(0, max - 1), `… and ${out.length - max + 1} more changes`] : out;
}

function who(b: AlertBatch): string {
  return b.monitor.name ? `${b.monitor.name} (${b.monitor.domain})` : b.monitor.domain;
}

export function subjectOf(b: AlertBatch): string {
  if (b.test) return `[mxdoctor] Test alert for ${who(b)}`;
  const problems = b.alerts.filter((a) => a.kind === 'problem' || a.kind === 'unknown').length;
  const recovered = b.alerts.filter((a) => a.kind === 'recovered').length;
  const changed = b.alerts.filter((a) => a.kind === 'changed').length;
  const parts = [
    problems ? `${problems} problem${problems > 1 ? 's' : ''}` : '',
    changed ? `${changed} change${changed > 1 ? 's' : ''}` : '',
    recovered ? `${recovered} recovered` : '',
  ].filter(Boolean);
  const first = b.alerts.length === 1 ? `: ${b.alerts[0]!.title}` : ` (${parts.join(', ')})`;
  const worst = b.alerts.some((a) => a.level === 'fail' && a.kind !== 'recovered')
    ? 'FAIL'
    : b.alerts.some((a) => a.level === 'warn' && a.kind !== 'recovered')
      ? 'WARN'
      : 'OK';
  return `[mxdoctor] ${worst} ${who(b)}${first}`.slice(0, 200);
}

function kindWord(a: Alert): string {
  return { problem: 'PROBLEM', changed: 'CHANGED', recovered: 'RECOVERED', unknown: 'UNTESTABLE' }[a.kind];
}

export function textBody(b: AlertBatch): string {
  const lines: string[] = [];
  if (b.test) {
    lines.push(
      `This is a test alert from mxdoctor for the monitor of ${who(b)}.`,
      'If you can read it, alerts reach this destination.',
      '',
      `Monitor: ${b.links.monitor}`,
    );
    return lines.join('\n') + '\n';
  }
  lines.push(`mxdoctor monitor of ${who(b)}`);
  if (b.run)
    lines.push(`Run of ${b.run.at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}: verdict ${b.run.verdict}`);
  lines.push('');
  for (const a of b.alerts) {
    lines.push(`${kindWord(a)} [${a.level}] ${a.title}`, `  ${a.text}`, '');
  }
  if (b.changes.length) {
    lines.push('What changed since the previous run:');
    for (const c of b.changes) lines.push(`  - ${c}`);
    lines.push('');
  }
  if (b.links.report) lines.push(`Report: ${b.links.report}`);
  lines.push(
    `Monitor: ${b.links.monitor}`,
    '',
    '-- ',
    'mxdoctor: each change is reported once; the next run that confirms a recovery says so.',
  );
  return lines.join('\n') + '\n';
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const COLOURS: Record<string, string> = {
  fail: '#b3261e',
  warn: '#8a5300',
  info: '#1a5fb4',
  recovered: '#1e7b34',
};

export function htmlBody(b: AlertBatch): string {
  const e = escapeHtml;
  const link = (href: string, text: string) => `<a href="${e(href)}">${e(text)}</a>`;
  const parts: string[] = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.4;color:#1b1b1b">',
  ];
  if (b.test) {
    parts.push(
      `<p>This is a <strong>test alert</strong> from mxdoctor for the monitor of ${e(who(b))}.</p>`,
      '<p>If you can read it, alerts reach this destination.</p>',
      `<p>${link(b.links.monitor, 'Open the monitor')}</p>`,
    );
  } else {
    parts.push(`<h2 style="margin:0 0 .5em">${e(who(b))}</h2>`);
    if (b.run)
      parts.push(
        `<p>Run of ${e(b.run.at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} — verdict <strong>${e(b.run.verdict)}</strong></p>`,
      );
    parts.push('<ul style="padding-left:1.2em">');
    for (const a of b.alerts) {
      const colour = COLOURS[a.kind === 'recovered' ? 'recovered' : a.level] ?? '#1b1b1b';
      parts.push(
        `<li style="margin-bottom:.6em"><strong style="color:${colour}">${e(kindWord(a))}</strong> ${e(a.title)}<br>${e(a.text)}</li>`,
      );
    }
    parts.push('</ul>');
    if (b.changes.length) {
      parts.push(
        '<h3 style="margin:1em 0 .3em">What changed since the previous run</h3><ul style="padding-left:1.2em">',
      );
      for (const c of b.changes) parts.push(`<li>${e(c)}</li>`);
      parts.push('</ul>');
    }
    parts.push(
      `<p>${b.links.report ? `${link(b.links.report, 'Open the report')} · ` : ''}${link(b.links.monitor, 'Open the monitor')}</p>`,
    );
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

/** The JSON webhook payload (documented in docs/monitoring.md). */
export function webhookPayload(b: AlertBatch, deliveryId: string): Record<string, unknown> {
  return {
    type: b.test ? 'mxdoctor.test' : 'mxdoctor.alert',
    version: 1,
    deliveryId,
    subject: subjectOf(b),
    monitor: b.monitor,
    ...(b.run ? { run: b.run } : {}),
    alerts: b.alerts.map((a) => ({
      key: a.key,
      rule: a.rule,
      kind: a.kind,
      level: a.level,
      subject: a.subject,
      label: a.label,
      title: a.title,
      text: a.text,
      from: a.from,
      to: a.to,
      at: a.at,
    })),
    changes: b.changes,
    links: b.links,
  };
}

/** Slack (and Mattermost, Rocket.Chat…) incoming-webhook payload: mrkdwn text. */
export function slackPayload(b: AlertBatch): Record<string, unknown> {
  // Slack mrkdwn: &, < and > must be escaped; links are <url|text>.
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = [`*${esc(subjectOf(b))}*`];
  if (b.test) lines.push('This is a test alert; alerts reach this channel.');
  for (const a of b.alerts) lines.push(`• *${kindWord(a)}* ${esc(a.title)}: ${esc(a.text)}`);
  if (b.changes.length) {
    lines.push('_What changed:_');
    for (const c of b.changes.slice(0, 10)) lines.push(`  – ${esc(c)}`);
    if (b.changes.length > 10) lines.push(`  – … ${b.changes.length - 10} more`);
  }
  lines.push(
    [b.links.report ? `<${b.links.report}|Report>` : '', `<${b.links.monitor}|Monitor>`]
      .filter(Boolean)
      .join(' · '),
  );
  return { text: lines.join('\n') };
}

/**
 * The signature header value: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
 * Receivers recompute it with the destination's secret and reject old timestamps (replays).
 */
export function signWebhook(secret: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `t=${timestampSec},v1=${mac}`;
}
