import {
  HARD_SOFT_TEXT,
  KIND_TEXT,
  SIDE_TEXT,
  TAG_TEXT,
  VERDICT_TEXT,
  recordTag,
} from '../../bounce/labels.js';
import type { BounceRecord, Diagnosis, Followup, Original } from '../../bounce/model.js';
import { REASON_INFO } from '../../bounce/reasons.js';
import type { StoredBounce } from '../../store/diagnoses.js';
import type { BounceStatus } from '../../queue/jobs/bounce.js';

/**
 * What the diagnosis page shows, computed from a stored diagnosis: plain strings and lists
 * the templates print escaped. Every value that came from the bounce is remote text.
 */

export interface Fact {
  label: string;
  value: string;
  /** Print as code (addresses, host names, header values). */
  code?: boolean;
}

export interface FollowupView {
  verdict: Followup['verdict'];
  verdictLabel: string;
  title: string;
  summary: string;
  /** Lines the follow-up recorded (SMTP transcript, SPF steps), when any. */
  evidence: string[];
  detailsJson: string;
}

export interface RecordView {
  anchor: string;
  recipient: string;
  reason: string;
  reasonTitle: string;
  tag: ReturnType<typeof recordTag>;
  tagLabel: string;
  status: string;
  summary: string;
  side: string;
  hardNote: string;
  nextSteps: string[];
  followups: FollowupView[];
  followupSummary: string;
  dsnFields: Fact[];
  confidence: string;
  matched: string;
}

export interface DiagnosisView {
  kindText: string;
  counts: string;
  warnings: string[];
  records: RecordView[];
  hardSoft: typeof HARD_SOFT_TEXT;
  showHardSoft: boolean;
  messages: { title: string; facts: Fact[]; received: Fact[]; headers: Fact[]; headersText: string }[];
  reporter: Fact[];
  finished: string;
  durationText: string;
  followupsRun: boolean;
  smtp: boolean;
}

function fact(label: string, value: string | null | undefined, code = false): Fact[] {
  return value ? [{ label, value, ...(code ? { code: true } : {}) }] : [];
}

function evidenceOf(f: Followup): string[] {
  const d = f.details;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 200) : [];
  return d.transcript ? strings(d.transcript) : d.trace ? strings(d.trace) : [];
}

function followupView(f: Followup): FollowupView {
  return {
    verdict: f.verdict,
    verdictLabel: VERDICT_TEXT[f.verdict],
    title: f.title,
    summary: f.summary,
    evidence: evidenceOf(f),
    detailsJson: JSON.stringify(f.details, null, 2),
  };
}

function recordView(r: BounceRecord, i: number): RecordView {
  const tag = recordTag(r);
  const n = (v: Followup['verdict']) => r.followups.filter((f) => f.verdict === v).length;
  const followupSummary = r.followups.length
    ? [
        n('confirmed') ? `${n('confirmed')} confirmed` : '',
        n('not_confirmed') ? `${n('not_confirmed')} not confirmed` : '',
        n('could_not_test') ? `${n('could_not_test')} could not test` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : '—';
  return {
    anchor: `recipient-${i + 1}`,
    recipient: r.recipient ?? '(recipient not named)',
    reason: r.reason,
    reasonTitle: REASON_INFO[r.reason].title,
    tag,
    tagLabel: TAG_TEXT[tag],
    status:
      [r.replyCode !== null ? String(r.replyCode) : '', r.status ?? ''].filter(Boolean).join(' ') || '—',
    summary: r.explanation.summary,
    side: SIDE_TEXT[r.explanation.side],
    hardNote: r.explanation.hardNote,
    nextSteps: r.explanation.nextSteps,
    followups: r.followups.map(followupView),
    followupSummary,
    // The RFC 3464 fields as parsed (and what mxdoctor derived, marked).
    dsnFields: [
      ...fact('Final-Recipient', r.recipient, true),
      ...fact('Original-Recipient', r.originalRecipient, true),
      ...fact('Action', r.action),
      ...fact(
        'Status',
        r.status
          ? `${r.status}${r.statusSource === 'derived' ? ' (derived by mxdoctor)' : r.statusSource === 'reply' ? ' (from the reply text)' : ''}`
          : null,
      ),
      ...fact('Reply code', r.replyCode !== null ? String(r.replyCode) : null),
      ...fact('SMTP stage', r.smtpCommand),
      ...fact('Remote-MTA', r.remoteMta, true),
      ...fact('Reporting-MTA', r.reportingMta, true),
      ...fact('Diagnostic-Code', r.diagnostic, true),
      ...fact('Client IP named in the refusal', r.clientIp, true),
      ...fact('Last-Attempt-Date', r.lastAttemptDate),
      ...fact('Will-Retry-Until', r.willRetryUntil),
    ],
    confidence: `${Math.round(r.confidence * 100)} %`,
    matched: r.matched.slice(0, 8).join(', ') || 'no evidence',
  };
}

function originalView(o: Original, title: string) {
  return {
    title,
    facts: [
      ...fact('From', o.from, true),
      ...fact('Envelope sender', o.sender, true),
      ...fact('To', o.to.join(', '), true),
      ...fact('Subject', o.subject),
      ...fact('Date', o.date),
      ...fact('Message-ID', o.messageId, true),
      ...fact(
        'Sending IP',
        o.sendingIp ? `${o.sendingIp}${o.sendingHost ? ` (${o.sendingHost})` : ''}` : null,
        true,
      ),
      ...fact(
        'DKIM signatures',
        (o.dkimSignatures ?? [])
          .map((s) => `d=${s.domain} s=${s.selector}${s.algorithm ? ` a=${s.algorithm}` : ''}`)
          .join('; '),
        true,
      ),
    ],
    received: o.received.map((h, i) => ({
      label: `Hop ${i + 1}`,
      value: `from ${h.from ?? '?'}${h.ip ? ` [${h.ip}]` : ''} by ${h.by ?? '?'}`,
      code: true,
    })),
    headers: (o.headers ?? []).map((h) => ({ label: h.name, value: h.value, code: true })),
    headersText: (o.headers ?? []).map((h) => `${h.name}: ${h.value}`).join('\n'),
  };
}

export function diagnosisView(stored: StoredBounce & { diagnosis: Diagnosis }): DiagnosisView {
  const d = stored.diagnosis;
  const tags = d.bounces.map((b) => recordTag(b));
  const count = (t: string) => tags.filter((x) => x === t).length;
  const parts = [
    count('hard') ? `${count('hard')} hard` : '',
    count('soft') ? `${count('soft')} soft` : '',
    count('delayed') ? `${count('delayed')} delayed` : '',
    count('not_a_bounce') ? `${count('not_a_bounce')} not a bounce` : '',
  ].filter(Boolean);
  const originals = d.originals && d.originals.length > 1 ? d.originals : [d.original];
  return {
    kindText: KIND_TEXT[d.kind],
    counts: `${d.bounces.length} recipient${d.bounces.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`,
    warnings: d.warnings,
    records: d.bounces.map(recordView),
    hardSoft: HARD_SOFT_TEXT,
    showHardSoft: tags.some((t) => t === 'hard' || t === 'soft' || t === 'delayed'),
    messages: originals.map((o, i) =>
      originalView(o, originals.length > 1 ? `Original message ${i + 1}` : 'Original message'),
    ),
    reporter: [
      ...fact('From', d.reporter.from, true),
      ...fact('Subject', d.reporter.subject),
      ...fact('Date', d.reporter.date),
      ...fact('Reporting-MTA', d.reporter.reportingMta, true),
      ...fact('Arrival-Date', d.reporter.arrivalDate),
    ],
    finished: stored.finishedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
    durationText:
      stored.durationMs < 1000 ? `${stored.durationMs} ms` : `${(stored.durationMs / 1000).toFixed(1)} s`,
    followupsRun: stored.options.followups,
    smtp: stored.options.smtp,
  };
}

/** The diagnosis page: the diagnosis when there is one, else live progress or what went wrong. */
export function bouncePageView(status: BounceStatus) {
  const common = { id: status.id, state: status.state };
  if (status.state === 'completed' && status.result?.diagnosis)
    return {
      ...common,
      heading: 'Bounce diagnosis',
      view: diagnosisView(status.result as typeof status.result & { diagnosis: Diagnosis }),
    };
  const running = status.state === 'queued' || status.state === 'active';
  return {
    ...common,
    heading:
      status.state === 'rejected'
        ? 'This is not a bounce mxdoctor can diagnose'
        : status.state === 'failed'
          ? 'The diagnosis could not be run'
          : 'Diagnosing the bounce',
    error: status.error ?? '',
    percent: status.progress?.percent ?? 0,
    message: status.progress?.message ?? (status.state === 'queued' ? 'Waiting for a worker…' : 'Starting…'),
    refreshSeconds: running ? 2 : 0,
    script: running ? 'check.js' : '',
  };
}
