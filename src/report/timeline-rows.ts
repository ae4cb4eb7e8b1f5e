import type { HttpsTiming, SmtpPhase, Timeline } from './timeline.js';

/**
 * The timeline as rows for people (the CLI's -v and the web report): one row per SMTP session
 * and HTTPS fetch with a row per phase under it, and the DNS queries under one row that spans
 * them. Pure; the front ends choose how much of it to print and how.
 */
export interface TimelineRow {
  /** 0: a session, a fetch or the DNS queries as a whole; 1: one phase or query. */
  level: 0 | 1;
  group: 'dns' | 'smtp' | 'https';
  label: string;
  startMs: number;
  ms: number;
  /** The slowest phase or query of the whole check. */
  slowest?: boolean;
}

const SMTP_LABELS: Record<SmtpPhase, string> = {
  connect: 'TCP connect',
  greeting: 'greeting',
  ehlo: 'EHLO',
  helo: 'HELO',
  starttls: 'STARTTLS',
  tls: 'TLS handshake',
  ehlo_tls: 'EHLO over TLS',
  recipients: 'recipients (MAIL FROM, RCPT TO)',
  null_sender: 'null sender (MAIL FROM:<>)',
  relay: 'relay test',
  quit: 'QUIT',
};

const KIND_LABELS: Record<string, string> = {
  probe: '',
  legacy_tls: 'TLS 1.0/1.1 handshake',
  rcpt: 'recipient tests',
  plain_fallback: 'without TLS',
  greylist_retry: 'greylisting retry',
  reconnect: 'reconnect',
};

const FETCH_LABELS: Record<HttpsTiming['purpose'], string> = {
  mta_sts_policy: 'MTA-STS policy',
  bimi_logo: 'BIMI logo',
  bimi_evidence: 'BIMI mark certificate',
};

const HTTPS_STEP_LABELS: Record<HttpsTiming['phases'][number]['phase'], string> = {
  lookup: 'address lookup',
  connect: 'TCP connect',
  tls: 'TLS handshake',
  response: 'request and response',
};

function smtpPhaseLabel(phase: SmtpPhase, outcome: string | undefined): string {
  const label = SMTP_LABELS[phase];
  if (phase === 'quit')
    return outcome ? `${label} (${outcome}, not waited for)` : `${label} (reply not waited for)`;
  if (phase === 'connect') return outcome && outcome !== 'ok' ? `${label} (${outcome})` : label;
  return outcome ? `${label} (${outcome})` : label;
}

/**
 * The rows, with the DNS queries under the DNS row limited to the `dnsShown` slowest (all when
 * absent; the slowest step of the check is always kept).
 */
export function timelineRows(timeline: Timeline, options: { dnsShown?: number } = {}): TimelineRow[] {
  const rows = allRows(timeline);
  if (options.dnsShown === undefined) return rows;
  const queries = rows.filter((r) => r.group === 'dns' && r.level === 1);
  const shown = new Set(queries.sort((a, b) => b.ms - a.ms).slice(0, options.dnsShown));
  return rows.filter((r) => r.group !== 'dns' || r.level === 0 || shown.has(r) || r.slowest);
}

function allRows(timeline: Timeline): TimelineRow[] {
  const rows: TimelineRow[] = [];
  if (timeline.dns.length > 0) {
    const start = Math.min(...timeline.dns.map((q) => q.startMs));
    const end = Math.max(...timeline.dns.map((q) => q.startMs + q.ms));
    rows.push({
      level: 0,
      group: 'dns',
      label: `DNS: ${timeline.dns.length} quer${timeline.dns.length === 1 ? 'y' : 'ies'}`,
      startMs: start,
      ms: end - start,
    });
    for (const q of timeline.dns)
      rows.push({
        level: 1,
        group: 'dns',
        label: `${q.type} ${q.name}${q.transport === 'tcp' ? ' (TCP)' : ''} → ${q.outcome}`,
        startMs: q.startMs,
        ms: q.ms,
      });
  }
  const parents: { startMs: number; rows: TimelineRow[] }[] = [];
  for (const s of timeline.smtp) {
    const kind = KIND_LABELS[s.kind] ?? s.kind.replace(/_/g, ' ');
    parents.push({
      startMs: s.startMs,
      rows: [
        {
          level: 0,
          group: 'smtp',
          label: `SMTP ${s.host} [${s.address}]${kind ? ` — ${kind}` : ''}`,
          startMs: s.startMs,
          ms: s.ms,
        },
        ...s.phases.map((p) => ({
          level: 1 as const,
          group: 'smtp' as const,
          label: smtpPhaseLabel(p.phase, p.outcome),
          startMs: p.startMs,
          ms: p.ms,
        })),
      ],
    });
  }
  for (const f of timeline.https)
    parents.push({
      startMs: f.startMs,
      rows: [
        {
          level: 0,
          group: 'https',
          label: `HTTPS ${FETCH_LABELS[f.purpose]} (${f.outcome})`,
          startMs: f.startMs,
          ms: f.ms,
        },
        ...f.phases.map((p) => ({
          level: 1 as const,
          group: 'https' as const,
          label: HTTPS_STEP_LABELS[p.phase],
          startMs: p.startMs,
          ms: p.ms,
        })),
      ],
    });
  parents.sort((a, b) => a.startMs - b.startMs);
  for (const p of parents) rows.push(...p.rows);
  // The slowest single exchange: where one wait cost the most (QUIT is not waited for).
  let slowest: TimelineRow | undefined;
  for (const r of rows)
    if (r.level === 1 && !r.label.startsWith('QUIT') && (!slowest || r.ms > slowest.ms)) slowest = r;
  if (slowest && slowest.ms > 0) slowest.slowest = true;
  return rows;
}
