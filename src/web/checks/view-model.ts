import { scoreBand, scoreOf } from '../../report/grade.js';
import { CORE } from '../../checks/core.js';
import type { Check } from '../../checks/types.js';
import { GROUPS, groupOf } from '../../report/groups.js';
import type { Finding, Report, Status } from '../../report/model.js';
import { sortWorstFirst } from '../../report/score.js';
import { sessionSummariesOf, tlsObservationsOf } from '../../smtp/contract.js';
import type { CheckStatus } from '../../queue/jobs/check.js';
import type { ReportMeta } from '../../store/reports.js';
import type { TlsObservation } from '../../tls/model.js';
import { timelineView } from './timeline-view.js';
import type { TimelineView } from './timeline-view.js';

/**
 * Turns a report into what the report page shows. Pure: templates only print these
 * fields (escaped by the template engine); nothing here builds HTML.
 */
export const STATUS_LABELS: Record<Status, string> = {
  fail: 'Fail',
  error: 'Could not check',
  warn: 'Warning',
  info: 'Info',
  pass: 'Pass',
};

export const VERDICT_TEXT: Record<Report['verdict'], { label: string; text: string }> = {
  pass: { label: 'Pass', text: 'No problems found.' },
  warn: { label: 'Warnings', text: 'Mail can be delivered, but some things weaken delivery or security.' },
  fail: { label: 'Fail', text: 'Problems found that break or endanger mail delivery.' },
};

export interface FindingView {
  anchor: string;
  id: string;
  status: Status;
  statusLabel: string;
  title: string;
  where?: string;
  summary: string;
  remedy?: string;
  explanation?: string;
}

export interface GroupView {
  id: string;
  title: string;
  worst: Status;
  counts: Partial<Record<Status, number>>;
  findings: FindingView[];
}

export interface CertView {
  subject: string;
  issuer: string;
  notAfter: string;
  daysLeft: number;
  names: string;
}

export interface SessionView {
  address: string;
  banner?: string;
  ehloHost?: string;
  starttls?: string;
  tls?: {
    protocol?: string;
    cipher?: string;
    trusted?: boolean;
    trustError?: string;
    hostnameMatches?: boolean;
    error?: string;
  };
  cert?: CertView;
  cached?: string;
}

export interface MxView {
  name: string;
  preference: number;
  implicit: boolean;
  addresses: { address: string; category: string }[];
  sessions: SessionView[];
}

export interface TranscriptView {
  title: string;
  lines: string[];
}

export interface DnsRow {
  atMs: number;
  type: string;
  name: string;
  server: string;
  rcode: string;
  flags: string;
  answers: number;
  ms: number;
  error?: string;
}

export interface ReportView {
  domain: string;
  verdict: Report['verdict'];
  verdictLabel: string;
  verdictText: string;
  complete: boolean;
  counts: Report['counts'];
  /** The score (docs/score.md): total, band and each area. */
  score: { value: number | null; band: string; areas: { area: string; score: number | null }[] };
  startedAt: string;
  durationText: string;
  options: string[];
  topIssues: FindingView[];
  groups: GroupView[];
  mxKind: string;
  mx: MxView[];
  transcripts: TranscriptView[];
  /** Where the time went (absent for reports made before the timeline existed). */
  timeline?: TimelineView;
  dnsLog: DnsRow[];
  data: { name: string; json: string }[];
  /** Set while the service waits to ask greylisted addresses again. */
  reprobe?: { addresses: string[]; at: string; atIso: string };
  /** When greylisted addresses were last asked again. */
  reprobedAt?: string;
}

function scoreView(report: Report): ReportView['score'] {
  const s = scoreOf(report);
  return {
    value: s.value,
    band: scoreBand(s.value),
    areas: s.areas.filter((a) => a.weight > 0).map((a) => ({ area: a.area, score: a.score })),
  };
}

function explanations(checks: readonly Check[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const s of [...CORE.specs, ...checks.flatMap((c) => c.findings)]) map.set(s.id, s.meaning);
  return map;
}

export function ageText(fromIso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function findingView(f: Finding, i: number, meanings: Map<string, string>): FindingView {
  const where = [f.subject?.host, f.subject?.address, f.subject?.name].filter(Boolean).join(' ');
  const v: FindingView = {
    anchor: `f-${i}`,
    id: f.id,
    status: f.status,
    statusLabel: STATUS_LABELS[f.status],
    title: f.title,
    summary: f.summary,
  };
  if (where) v.where = where;
  if (f.remedy) v.remedy = f.remedy;
  const meaning = meanings.get(f.id);
  if (meaning) v.explanation = meaning;
  return v;
}

function transcriptLine(l: unknown): string {
  if (typeof l === 'string') return l;
  const o = l as { atMs?: unknown; dir?: unknown; line?: unknown };
  const at = typeof o.atMs === 'number' ? `${String(o.atMs).padStart(6)} ms ` : '';
  return `${at}${typeof o.dir === 'string' ? `${o.dir}: ` : ''}${typeof o.line === 'string' ? o.line : JSON.stringify(l)}`;
}

interface RawSession {
  host?: unknown;
  address?: unknown;
  banner?: unknown;
  bannerHostname?: unknown;
  ehloHostname?: unknown;
  transcript?: unknown;
  kind?: unknown;
  cached?: unknown;
}

/** What each kind of SMTP session was for (src/smtp/model.ts SessionKindSchema), in words. */
const SESSION_KIND_TEXT: Record<string, string> = {
  rcpt: 'recipient tests',
  reconnect: 'reconnect: the first session deferred every recipient',
  plain_fallback: 'recipients without TLS, after the handshake failed',
  legacy_tls: 'TLS 1.0/1.1 handshake',
  greylist_retry: 'greylisted recipients asked again',
};

function transcriptTitle(s: RawSession): string {
  const where = [s.host, s.address].filter((x) => typeof x === 'string').join(' ');
  const kind = typeof s.kind === 'string' ? SESSION_KIND_TEXT[s.kind] : undefined;
  const storedAt = (s.cached as { storedAt?: unknown } | undefined)?.storedAt;
  const cached = typeof storedAt === 'string' ? `cached, observed ${storedAt}` : undefined;
  const notes = [kind, cached].filter(Boolean);
  return notes.length ? `${where} — ${notes.join('; ')}` : where;
}

function bannerOf(s: RawSession): string | undefined {
  if (typeof s.banner === 'string') return s.banner;
  if (!Array.isArray(s.transcript)) return undefined;
  for (const l of s.transcript as unknown[]) {
    if (typeof l === 'string' && /^S:\s?/.test(l)) return l.replace(/^S:\s?/, '');
    const o = l as { dir?: unknown; line?: unknown };
    if (o && typeof o === 'object' && o.dir === 'S' && typeof o.line === 'string') return o.line;
  }
  return undefined;
}

function certView(t: TlsObservation, now: Date): CertView | undefined {
  const leaf = t.chain[0];
  if (!leaf) return undefined;
  return {
    subject: leaf.commonName ?? leaf.subject,
    issuer: leaf.issuer,
    notAfter: leaf.notAfter,
    daysLeft: Math.floor((Date.parse(leaf.notAfter) - now.getTime()) / 86_400_000),
    names: leaf.sans.join(', '),
  };
}

export function reportView(report: Report, checks: readonly Check[], now = new Date()): ReportView {
  const meanings = explanations(checks);
  const all = report.checks.map((f, i) => findingView(f, i, meanings));
  const byGroup = new Map<string, FindingView[]>();
  report.checks.forEach((f, i) => {
    const g = groupOf(f.id);
    byGroup.set(g, [...(byGroup.get(g) ?? []), all[i]!]);
  });
  const groups: GroupView[] = [];
  for (const title of [...GROUPS.map((g) => g.title), 'Other']) {
    const findings = byGroup.get(title);
    if (!findings) continue;
    const sorted = sortWorstFirst(findings);
    const counts: Partial<Record<Status, number>> = {};
    for (const f of sorted) counts[f.status] = (counts[f.status] ?? 0) + 1;
    groups.push({
      id: `g-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
      title,
      worst: sorted[0]!.status,
      counts,
      findings: sorted,
    });
  }

  const smtp = report.data.smtp as { sessions?: unknown } | undefined;
  const rawSessions: RawSession[] = Array.isArray(smtp?.sessions) ? (smtp.sessions as RawSession[]) : [];
  const summaries = sessionSummariesOf(report.data.smtp);
  const tls = tlsObservationsOf(report.data.smtp);
  const sessionsOf = (host: string): SessionView[] => {
    const addresses = new Set<string>();
    for (const s of rawSessions)
      if (s.host === host && typeof s.address === 'string') addresses.add(s.address);
    for (const t of tls) if (t.host === host) addresses.add(t.address);
    return [...addresses].map((address) => {
      const raw = rawSessions.find((s) => s.host === host && s.address === address);
      const summary = summaries.find((s) => s.host === host && s.address === address);
      const t = tls.find((x) => x.host === host && x.address === address);
      const view: SessionView = { address };
      const banner = raw ? bannerOf(raw) : undefined;
      if (banner !== undefined) view.banner = banner;
      if (summary?.ehloHostname) view.ehloHost = summary.ehloHostname;
      if (t) {
        view.starttls =
          t.starttls === 'offered' ? 'offered' : t.starttls === 'not_offered' ? 'not offered' : 'unknown';
        view.tls = {
          ...(t.protocol ? { protocol: t.protocol } : {}),
          ...(t.cipher ? { cipher: t.cipher } : {}),
          ...(t.trusted !== undefined ? { trusted: t.trusted } : {}),
          ...(t.trustError ? { trustError: t.trustError } : {}),
          ...(t.hostnameMatches !== undefined ? { hostnameMatches: t.hostnameMatches } : {}),
          ...(t.error ? { error: t.error } : {}),
        };
        const cert = certView(t, now);
        if (cert) view.cert = cert;
        if (t.cached) view.cached = `from the shared cache, ${ageText(t.cached.storedAt, now)} old`;
      }
      return view;
    });
  };

  const transcripts: TranscriptView[] = rawSessions
    .filter((s) => Array.isArray(s.transcript) && (s.transcript as unknown[]).length > 0)
    .map((s) => ({
      title: transcriptTitle(s),
      lines: (s.transcript as unknown[]).map(transcriptLine),
    }));

  const options: string[] = [];
  if (report.options.verify.length) options.push(`verify ${report.options.verify.join(', ')}`);
  if (report.options.dkimSelectors.length)
    options.push(`DKIM selectors ${report.options.dkimSelectors.join(', ')}`);
  if (!report.options.smtp) options.push('SMTP off');
  if (report.options.tls === 'deep') options.push('TLS depth scan');
  if (report.options.submission) options.push('submission ports');

  const name =
    report.domain.unicode !== report.domain.ascii
      ? `${report.domain.unicode} (${report.domain.ascii})`
      : report.domain.ascii;
  return {
    domain: name,
    verdict: report.verdict,
    verdictLabel: VERDICT_TEXT[report.verdict].label,
    verdictText: VERDICT_TEXT[report.verdict].text,
    complete: report.complete,
    counts: report.counts,
    score: scoreView(report),
    startedAt: report.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
    durationText: `${(report.durationMs / 1000).toFixed(1)} s`,
    options,
    topIssues: sortWorstFirst(all.filter((f) => f.status === 'fail' || f.status === 'warn')).slice(0, 5),
    groups,
    mxKind: report.mx.kind,
    mx: report.mx.hosts.map((h) => ({
      name: h.name,
      preference: h.preference,
      implicit: h.implicit,
      addresses: h.addresses.map((a) => ({ address: a.address, category: a.category })),
      sessions: sessionsOf(h.name),
    })),
    transcripts,
    ...(report.timeline ? { timeline: timelineView(report) } : {}),
    dnsLog: report.dnsLog.map((q) => ({
      atMs: q.atMs,
      type: q.type,
      name: q.name,
      server: `${q.server}/${q.transport}`,
      rcode: q.rcode,
      flags: [q.ad ? 'AD' : '', q.truncated ? 'TC' : ''].filter(Boolean).join(' '),
      answers: q.answers,
      ms: q.ms,
      ...(q.error ? { error: q.error } : {}),
    })),
    data: Object.entries(report.data).map(([name, value]) => ({
      name,
      json: JSON.stringify(value, null, 2),
    })),
    ...reprobeView(report.data.smtp),
  };
}

/** "greylisted — re-trying at 14:32 UTC": the service's planned re-probe, if any. */
function reprobeView(smtp: unknown): Pick<ReportView, 'reprobe' | 'reprobedAt'> {
  const data = smtp as
    { reprobe?: { addresses: string[]; scheduledAt: string }; reprobedAt?: string } | undefined;
  const out: Pick<ReportView, 'reprobe' | 'reprobedAt'> = {};
  if (data?.reprobe) {
    out.reprobe = {
      addresses: data.reprobe.addresses,
      at: `${data.reprobe.scheduledAt.slice(11, 16)} UTC`,
      atIso: data.reprobe.scheduledAt,
    };
  }
  if (data?.reprobedAt) out.reprobedAt = `${data.reprobedAt.slice(0, 16).replace('T', ' ')} UTC`;
  return out;
}

// ---------------------------------------------------------------------------------------
// Page models of the check pages, besides the CSRF token.

/** A domain in a heading: "bücher.example (xn--bcher-kva.example)" when the two differ. */
export function domainText(domain: { ascii: string; unicode: string }): string {
  return domain.unicode !== domain.ascii ? `${domain.unicode} (${domain.ascii})` : domain.ascii;
}

/** Rows of a domain's earlier reports, newest first; `currentId` marks the one shown. */
export function historyRows(history: ReportMeta[], currentId?: string) {
  return history.map((h) => ({
    id: h.id,
    current: h.id === currentId,
    when: h.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
    verdict: h.verdict,
    verdictLabel: VERDICT_TEXT[h.verdict].label,
    countsText: `${h.counts.fail} fail, ${h.counts.warn} warn, ${h.counts.error} could not check`,
    optionsText:
      [
        h.options.verify.length ? `verify ${h.options.verify.length}` : '',
        h.options.dkimSelectors.length ? `selectors ${h.options.dkimSelectors.join(' ')}` : '',
        h.options.smtp ? '' : 'SMTP off',
      ]
        .filter(Boolean)
        .join(', ') || '—',
  }));
}

/** The check page once the report is there. */
export function completedCheckView(
  status: CheckStatus,
  report: Report,
  history: ReportMeta[],
  checks: readonly Check[],
) {
  const id = status.id;
  return {
    heading: `Mail check of ${domainText(status.domain)}`,
    state: 'completed',
    id,
    domainAscii: report.domain.ascii,
    report: reportView(report, checks),
    history: historyRows(history, id),
  };
}

/** The check page while it is queued or running (live progress), or when it failed. */
export function pendingCheckView(status: CheckStatus) {
  const id = status.id;
  const domain = domainText(status.domain);
  return {
    heading: status.state === 'failed' ? `Check of ${domain} failed` : `Checking ${domain}`,
    state: status.state,
    id,
    domain,
    error: status.error ?? '',
    percent: status.progress?.percent ?? 0,
    message: status.progress?.message ?? (status.state === 'queued' ? 'Waiting for a worker…' : 'Starting…'),
    refreshSeconds: status.state === 'failed' ? 0 : 3,
    script: status.state === 'failed' ? '' : 'check.js',
  };
}
