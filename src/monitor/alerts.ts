import type { RunSummary } from './summary.js';

/**
 * Alert rules with flapping protection, as a pure state machine. Each run is turned into
 * observations — one value per rule and subject ("mx1 192.0.2.1" → certificate
 * fingerprint; "verdict" → fail) — and compared with the state kept from earlier runs. A
 * new value must be seen in K consecutive runs (per rule) before it is confirmed; only a
 * confirmed change produces an alert, so each alert is sent once per state change, never
 * once per run. A value that could not be determined ("error") never counts as a change; it
 * alerts only when it has lasted past a threshold ("could not be tested for 30 minutes").
 */

export const RULE_IDS = [
  'finding_fail',
  'verdict_worse',
  'mx_changed',
  'cert_changed',
  'cert_expiry',
  'tlsa_mismatch',
  'mta_sts_mx',
  'dnsbl_listed',
  'score_drop',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface RuleSettings {
  enabled: boolean;
  /** Consecutive runs a new value must persist before it alerts. */
  persistence: number;
}

export interface AlertRules {
  rules: Record<RuleId, RuleSettings>;
  /** How long a subject may be untestable ("error") before that alone alerts. */
  unknownAfterMs: number;
  expiryWarnDays: number;
  expiryFailDays: number;
  /** Send "recovered" notices when a problem clears. */
  recovered: boolean;
}

/** A score change smaller than this is noise: it neither alerts nor moves the baseline. */
export const SCORE_DROP_POINTS = 10;

/**
 * Whether two observed values are "the same" for a rule: equal text, except for the score,
 * where values closer than SCORE_DROP_POINTS are (so the baseline is the last confirmed score,
 * and a slow slide alerts once it has added up to a drop).
 */
function sameValue(rule: RuleId, a: string | null | undefined, b: string | null | undefined): boolean {
  if (rule === 'score_drop' && a != null && b != null)
    return Math.abs(Number(a) - Number(b)) < SCORE_DROP_POINTS;
  return a === b;
}

export const RULE_DESCRIPTIONS: Record<RuleId, string> = {
  finding_fail: 'a finding turns "fail"',
  verdict_worse: 'the overall verdict gets worse (pass → warn → fail)',
  mx_changed: 'the MX set changes',
  cert_changed: 'the certificate served by an MX address changes',
  cert_expiry: 'a certificate expires within the warning (21 days) or failure (7 days) window',
  tlsa_mismatch: 'the TLSA records no longer match the certificate an MX serves (the DANE rollover trap)',
  mta_sts_mx: 'the MTA-STS policy no longer covers an MX host',
  dnsbl_listed: 'an MX address or the domain is newly listed on a blocklist',
  score_drop: `the score (docs/score.md) drops by ${SCORE_DROP_POINTS} points or more`,
};

export const DEFAULT_ALERT_RULES: AlertRules = {
  rules: {
    finding_fail: { enabled: true, persistence: 2 },
    verdict_worse: { enabled: true, persistence: 2 },
    mx_changed: { enabled: true, persistence: 2 },
    cert_changed: { enabled: true, persistence: 2 },
    // Deterministic from the certificate's date: no flapping to protect against.
    cert_expiry: { enabled: true, persistence: 1 },
    // Say so the moment a new certificate appears that the TLSA records do not cover.
    tlsa_mismatch: { enabled: true, persistence: 1 },
    mta_sts_mx: { enabled: true, persistence: 2 },
    dnsbl_listed: { enabled: true, persistence: 2 },
    score_drop: { enabled: true, persistence: 2 },
  },
  unknownAfterMs: 30 * 60_000,
  expiryWarnDays: 21,
  expiryFailDays: 7,
  recovered: true,
};

type Level = 'ok' | 'warn' | 'fail' | 'change';
const RANK: Record<Level, number> = { ok: 0, change: 0, warn: 1, fail: 2 };

/** Rules that alert on the first run when the state is already bad (about to break). */
const ALERT_ON_BASELINE: ReadonlySet<RuleId> = new Set([
  'cert_expiry',
  'tlsa_mismatch',
  'mta_sts_mx',
  'dnsbl_listed',
]);

export interface Observation {
  rule: RuleId;
  subject: string;
  /** null: could not be determined in this run. */
  value: string | null;
  level: Level;
  /** Who/what, for people: "mx1.example.com [192.0.2.1]". */
  label: string;
  /** The current state in a sentence. */
  text: string;
}

export interface TrackState {
  value: string | null;
  level: Level;
  label: string;
  text: string;
  candidate?: string | null;
  count: number;
  unknownSince?: string;
  unknownAlerted?: boolean;
}

export type AlertState = Record<string, TrackState>;

export interface Alert {
  /** Dedupe key: the same key is never delivered twice. */
  key: string;
  rule: RuleId;
  subject: string;
  label: string;
  kind: 'problem' | 'changed' | 'recovered' | 'unknown';
  level: 'info' | 'warn' | 'fail';
  title: string;
  text: string;
  from: string | null;
  to: string | null;
  at: string;
}

function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / 86_400_000);
}

function label(hostAddr: string): string {
  const [host, address] = hostAddr.split(' ');
  return address ? `${host} [${address}]` : hostAddr;
}

/** Turns one run's summary into observations, one per rule and subject. */
export function observe(run: RunSummary, now: Date, rules: AlertRules = DEFAULT_ALERT_RULES): Observation[] {
  const out: Observation[] = [];
  const facts = run.facts;

  for (const f of run.findings) {
    const where = [f.host, f.address ? `[${f.address}]` : undefined, f.name].filter(Boolean).join(' ');
    const lbl = `${f.title}${where ? ` (${where})` : ''}`;
    const unknown = f.status === 'error';
    out.push({
      rule: 'finding_fail',
      subject: f.key,
      value: unknown ? null : f.status === 'fail' ? 'fail' : 'ok',
      level: f.status === 'fail' ? 'fail' : 'ok',
      label: lbl,
      text: f.summary,
    });
    const byId: Partial<Record<string, { rule: RuleId; bad: string; good: string }>> = {
      'dane.match': { rule: 'tlsa_mismatch', bad: 'mismatch', good: 'match' },
      'mta_sts.mx_match': { rule: 'mta_sts_mx', bad: 'not_covered', good: 'covered' },
      'dnsbl.listed': { rule: 'dnsbl_listed', bad: 'listed', good: 'clear' },
      'dnsbl.domain': { rule: 'dnsbl_listed', bad: 'listed', good: 'clear' },
    };
    const special = byId[f.id];
    if (special) {
      // A TLSA mismatch under insecure DNS, or an MX outside a policy in testing mode, is a
      // warning today and the same trap tomorrow: both count, at their own level.
      const bad = f.status === 'fail' || f.status === 'warn';
      out.push({
        rule: special.rule,
        subject: f.key,
        value: unknown ? null : bad ? special.bad : special.good,
        level: f.status === 'fail' ? 'fail' : bad ? 'warn' : 'ok',
        label: lbl,
        text: f.summary,
      });
    }
  }

  out.push({
    rule: 'verdict_worse',
    subject: 'verdict',
    value: run.verdict,
    level: run.verdict === 'pass' ? 'ok' : run.verdict,
    label: 'Overall verdict',
    text: `The overall verdict is ${run.verdict} (${run.counts.fail} fail, ${run.counts.warn} warn).`,
  });

  if (run.score !== undefined) {
    out.push({
      rule: 'score_drop',
      subject: 'score',
      value: run.score === null ? null : String(run.score),
      // The level of a score is relative to the baseline; confirmScore decides it.
      level: 'ok',
      label: 'Score',
      text: run.score === null ? 'The score could not be computed.' : `The score is ${run.score}/100.`,
    });
  }

  out.push({
    rule: 'mx_changed',
    subject: 'mx',
    value: facts.mxKind === 'error' ? null : `${facts.mxKind}: ${facts.mx.join(', ')}`,
    level: 'change',
    label: 'MX set',
    text: facts.mx.length ? `MX: ${facts.mx.join(', ')}` : `MX: ${facts.mxKind}`,
  });

  const subjects = new Set([...Object.keys(facts.starttls), ...Object.keys(facts.certificates)]);
  for (const subject of subjects) {
    const cert = facts.certificates[subject];
    const starttls = facts.starttls[subject];
    out.push({
      rule: 'cert_changed',
      subject,
      value: cert ? cert.sha256 : starttls === 'not_offered' ? 'none' : null,
      level: 'change',
      label: label(subject),
      text: cert
        ? `${label(subject)} serves ${cert.subject}, issued by ${cert.issuer}, expiring ${cert.notAfter.slice(0, 10)}`
        : `${label(subject)} serves no certificate`,
    });
    if (cert) {
      const days = daysLeft(cert.notAfter, now);
      const value =
        days < 0
          ? 'expired'
          : days <= rules.expiryFailDays
            ? 'fail'
            : days <= rules.expiryWarnDays
              ? 'warn'
              : 'ok';
      out.push({
        rule: 'cert_expiry',
        subject,
        value,
        level: value === 'expired' ? 'fail' : (value as Level),
        label: label(subject),
        text:
          days < 0
            ? `The certificate of ${label(subject)} expired on ${cert.notAfter.slice(0, 10)}.`
            : `The certificate of ${label(subject)} expires on ${cert.notAfter.slice(0, 10)}, in ${days} day${days === 1 ? '' : 's'}.`,
      });
    }
  }
  return out.filter((o) => rules.rules[o.rule].enabled);
}

function titleFor(o: Observation, kind: Alert['kind']): string {
  switch (kind) {
    case 'recovered':
      return `Recovered: ${o.label}`;
    case 'unknown':
      return `Could not be tested: ${o.label}`;
    case 'changed':
      return `Changed: ${o.label}`;
    default:
      return o.rule === 'cert_expiry' ? `Certificate expiring: ${o.label}` : `Problem: ${o.label}`;
  }
}

/**
 * Advances the alert state by one run. Returns the new state (the input is not modified)
 * and the alerts to deliver. `monitorId` and `runId` are part of every dedupe key.
 */
export function evaluateAlerts(
  monitorId: string,
  runId: string,
  previous: AlertState,
  observations: readonly Observation[],
  now: Date,
  rules: AlertRules = DEFAULT_ALERT_RULES,
): { state: AlertState; alerts: Alert[] } {
  const state: AlertState = structuredClone(previous);
  const alerts: Alert[] = [];
  const step: Step = {
    now,
    rules,
    firstRun: Object.keys(previous).length === 0,
    emit: emitter(monitorId, runId, now.toISOString(), alerts),
  };
  const seen = new Set<string>();
  for (const o of [...observations, ...vanished(previous, observations, state)]) {
    const key = `${o.rule}|${o.subject}`;
    if (seen.has(key)) continue;
    seen.add(key);
    track(state, key, o, step);
  }
  return { state, alerts };
}

/**
 * Emits an alert. `severity` is how bad the subject of the alert is or was: a problem's own
 * level, and for a recovery the level of the problem that cleared (so a destination that
 * only takes failures also hears when its failure is over).
 */
type Emit = (
  o: Observation,
  kind: Alert['kind'],
  from: string | null,
  to: string | null,
  text: string,
  severity?: Level,
) => void;

interface Step {
  now: Date;
  rules: AlertRules;
  /** No state from earlier runs: every subject is new. */
  firstRun: boolean;
  emit: Emit;
}

function emitter(monitorId: string, runId: string, nowIso: string, alerts: Alert[]): Emit {
  return (o, kind, from, to, text, severity = o.level) => {
    const level: Alert['level'] = severity === 'fail' ? 'fail' : severity === 'warn' ? 'warn' : 'info';
    alerts.push({
      // The run in which the change was confirmed makes the key unique per state change,
      // and stable when the same run is evaluated twice (a retried job).
      key: [monitorId, runId, o.rule, o.subject, kind].join('|'),
      rule: o.rule,
      subject: o.subject,
      label: o.label,
      kind,
      level,
      title: titleFor(o, kind),
      text,
      from,
      to,
      at: nowIso,
    });
  };
}

/**
 * Subjects tracked before but absent now (a finding or MX address that went away), as "ok"
 * observations when they were bad; the others are forgotten (removed from `state`), so the
 * state does not grow with every rename.
 */
function vanished(
  previous: AlertState,
  observations: readonly Observation[],
  state: AlertState,
): Observation[] {
  const out: Observation[] = [];
  for (const [key, st] of Object.entries(previous)) {
    const [rule, ...rest] = key.split('|');
    const subject = rest.join('|');
    if (observations.some((o) => o.rule === rule && o.subject === subject)) continue;
    if (st.level !== 'fail' && st.level !== 'warn') {
      delete state[key];
      continue;
    }
    out.push({
      rule: rule as RuleId,
      subject,
      value: 'absent',
      level: 'ok',
      label: st.label,
      text: `${st.label} is no longer reported.`,
    });
  }
  return out;
}

/** Advances one subject's state by one observation. */
function track(state: AlertState, key: string, o: Observation, c: Step): void {
  let st = state[key];
  if (!st && !c.firstRun && o.value !== null && o.level !== 'change' && RANK[o.level] > 0) {
    // A subject first seen after the first run, already bad (a blocklist listing, an MX
    // outside the MTA-STS policy: findings whose subject only exists when something is
    // wrong): a change from "not reported", with the rule's flapping protection.
    st = state[key] = {
      value: 'absent',
      level: 'ok',
      label: o.label,
      text: `${o.label} was not reported`,
      count: 0,
    };
  }
  if (!st) {
    state[key] = { value: o.value, level: o.level, label: o.label, text: o.text, count: 0 };
    if (o.value === null) state[key].unknownSince = c.now.toISOString();
    else if (ALERT_ON_BASELINE.has(o.rule) && RANK[o.level] > 0) c.emit(o, 'problem', null, o.value, o.text);
    return;
  }
  st.label = o.label;
  if (o.value === null) return untestable(st, o, c);
  if (st.unknownAlerted && c.rules.recovered)
    c.emit(o, 'recovered', null, o.value, `${o.label} can be tested again: ${o.text}`, 'warn');
  delete st.unknownSince;
  delete st.unknownAlerted;
  if (st.value === null) {
    // The baseline was never known: adopt the first known value as the baseline.
    Object.assign(st, { value: o.value, level: o.level, text: o.text, count: 0 });
    delete st.candidate;
    if (ALERT_ON_BASELINE.has(o.rule) && RANK[o.level] > 0) c.emit(o, 'problem', null, o.value, o.text);
    return;
  }
  if (sameValue(o.rule, o.value, st.value)) {
    delete st.candidate;
    st.count = 0;
    st.text = o.text;
    return;
  }
  if (st.candidate !== undefined && sameValue(o.rule, st.candidate, o.value)) {
    st.count++;
    st.candidate = o.value;
  } else {
    st.candidate = o.value;
    st.count = 1;
  }
  if (st.count >= c.rules.rules[o.rule].persistence) {
    if (o.rule === 'score_drop') confirmScore(st, o, c);
    else confirm(st, o, c);
  }
}

/**
 * A subject that cannot be tested now. Only what could be tested before alerts when it can
 * no longer be: a subject that was never testable (a resolver that does not validate DNSSEC,
 * a blocklist that refuses the resolver) is a fact of the setup, shown in every report, not news.
 */
function untestable(st: TrackState, o: Observation, c: Step): void {
  st.unknownSince ??= c.now.toISOString();
  const since = c.now.getTime() - Date.parse(st.unknownSince);
  if (st.value === null || st.unknownAlerted || since < c.rules.unknownAfterMs) return;
  // A score that cannot be computed is never news by itself: the findings behind it are.
  if (o.rule === 'score_drop') return;
  const minutes = Math.round(since / 60_000);
  c.emit(
    o,
    'unknown',
    st.value,
    null,
    `${o.label} could not be tested for ${minutes} minutes: ${o.text}`,
    'warn',
  );
  st.unknownAlerted = true;
}

/** A new value seen in enough consecutive runs: it becomes the state, and alerts by how it changed. */
function confirm(st: TrackState, o: Observation, c: Step): void {
  const before = { value: st.value, level: st.level, text: st.text };
  Object.assign(st, { value: o.value, level: o.level, text: o.text, count: 0 });
  delete st.candidate;
  if (o.level === 'change') {
    c.emit(
      o,
      'changed',
      before.value,
      o.value,
      `${o.text} (before: ${before.text.replace(/^.*? serves /, 'served ')})`,
      'change',
    );
  } else if (RANK[o.level] > RANK[before.level]) {
    c.emit(o, 'problem', before.value, o.value, o.text);
  } else if (RANK[o.level] < RANK[before.level] && o.level !== 'ok') {
    // Better, but not good (fail → warn): say what it is now.
    c.emit(o, 'changed', before.value, o.value, o.text);
  } else if (RANK[o.level] < RANK[before.level] && c.rules.recovered) {
    c.emit(o, 'recovered', before.value, o.value, o.text, before.level);
  }
}

/**
 * A confirmed move of the score by SCORE_DROP_POINTS or more: a drop is a problem (again at
 * each further drop), a rise after a drop a recovery, a rise otherwise only the new baseline.
 */
function confirmScore(st: TrackState, o: Observation, c: Step): void {
  const before = { value: st.value, level: st.level };
  const dropped = Number(o.value) < Number(before.value);
  Object.assign(st, { value: o.value, level: dropped ? 'warn' : 'ok', text: o.text, count: 0 });
  delete st.candidate;
  const text = `The score ${dropped ? 'dropped' : 'rose'} from ${before.value} to ${o.value}/100.`;
  if (dropped) c.emit({ ...o, level: 'warn' }, 'problem', before.value, o.value, text);
  else if (before.level === 'warn' && c.rules.recovered)
    c.emit(o, 'recovered', before.value, o.value, text, 'warn');
}
