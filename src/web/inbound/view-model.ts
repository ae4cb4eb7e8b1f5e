import { INBOUND_SPECS } from '../../inbound/report.js';
import type { InboundReport } from '../../inbound/report.js';
import type { MimePart } from '../../inbound/message.js';
import { INBOUND_AREAS, inboundAreaOf } from '../../inbound/score.js';
import { AUTH } from '../../auth/evaluate.js';
import type { InboundStatus } from '../../queue/jobs/inbound.js';
import type { Status } from '../../report/model.js';
import { sortWorstFirst } from '../../report/score.js';
import { STATUS_LABELS } from '../checks/view-model.js';

/**
 * The inbound test page's model: plain strings and numbers for the template, which prints
 * them escaped. Everything from the message and the session is text here; links in the
 * message (List-Unsubscribe…) are never made into links.
 */

const MEANINGS = new Map([...INBOUND_SPECS, ...AUTH.specs].map((s) => [s.id, s.meaning]));

export interface FindingView {
  id: string;
  anchor: string;
  status: Status;
  statusLabel: string;
  title: string;
  summary: string;
  remedy?: string;
  explanation?: string;
}

export interface AreaView {
  id: string;
  title: string;
  score: string;
  worst: Status;
  findings: FindingView[];
}

function findingView(f: InboundReport['checks'][number], i: number): FindingView {
  const view: FindingView = {
    id: f.id,
    anchor: `f-${i}`,
    status: f.status,
    statusLabel: STATUS_LABELS[f.status],
    title: f.title,
    summary: f.summary,
  };
  if (f.remedy && (f.status === 'fail' || f.status === 'warn')) view.remedy = f.remedy;
  const meaning = MEANINGS.get(f.id);
  if (meaning) view.explanation = meaning;
  return view;
}

function areas(report: InboundReport): AreaView[] {
  const all = report.checks.map((f, i) => ({ f, view: findingView(f, i) }));
  const titles = [...INBOUND_AREAS.map((a) => a.title), 'Other'];
  return titles
    .map((title, i) => {
      const findings = sortWorstFirst(
        all.filter((x) => inboundAreaOf(x.f.id) === title).map((x) => ({ ...x.view, status: x.f.status })),
      );
      const score = report.score.areas.find((a) => a.area === title)?.score;
      return {
        id: `area-${i}`,
        title: title === 'Other' ? 'The domain behind the message' : title,
        score: score === undefined || score === null ? '' : `${score}/100`,
        worst: findings[0]?.status ?? 'info',
        findings,
      };
    })
    .filter((a) => a.findings.length > 0);
}

function mimeLines(part: MimePart, depth = 0, out: string[] = []): string[] {
  if (out.length >= 60) return out;
  const bits = [part.type];
  if (part.charset) bits.push(`charset=${part.charset}`);
  if (part.encoding) bits.push(part.encoding);
  if (part.disposition) bits.push(part.disposition);
  if (part.filename) bits.push(`"${part.filename}"`);
  out.push(`${'  '.repeat(depth)}${bits.join('; ')} (${part.bytes} bytes)`);
  for (const p of part.parts ?? []) mimeLines(p, depth + 1, out);
  return out;
}

export interface InboundPageView {
  title: string;
  heading: string;
  id: string;
  status: InboundStatus['status'];
  address: string;
  expiresAt: string;
  error?: string;
  percent: number;
  message: string;
  refreshSeconds: number;
  script: string;
  report?: ReturnType<typeof reportView>;
}

/** What a receiver applying DMARC does with the message, in the words of the auth page. */
const DISPOSITION: Record<InboundReport['authentication']['dmarc']['disposition'], string> = {
  none: 'delivered',
  quarantine: 'quarantined (spam folder)',
  reject: 'rejected',
};

function reportView(r: InboundReport) {
  const c = r.connection;
  const a = r.authentication;
  const ptr = r.connectionDns.ptr;
  return {
    verdict: r.verdict,
    verdictLabel: STATUS_LABELS[r.verdict],
    score: r.score.value === null ? 'not scored' : `${r.score.value}/100`,
    counts: r.counts,
    complete: r.complete,
    from: r.message.from ?? '(no From)',
    subject: r.message.subject,
    receivedAt: r.receivedAt,
    sender: [
      ['Sending IP', c.remoteAddress],
      [
        'Reverse DNS',
        ptr
          ? (ptr.names.join(', ') || 'none') + (ptr.confirmed.length ? ' (forward-confirmed)' : '')
          : 'not looked up (not a public address)',
      ],
      ['HELO', c.helo ? `${c.helo.command} ${c.helo.name}` : 'none'],
      ['MAIL FROM', `<${r.envelope.mailFrom}>`],
      [
        'TLS',
        c.tls.used
          ? `${c.tls.protocol ?? '?'}, ${c.tls.cipherStandard ?? c.tls.cipher ?? '?'}${c.tls.sni ? `, SNI ${c.tls.sni}` : ''}`
          : `none${c.tls.failed ? ` (a handshake failed: ${c.tls.failed})` : ''}`,
      ],
      ['Client certificate', c.tls.clientCertificate ? c.tls.clientCertificate.subject : 'none'],
      [
        'Receiver certificate',
        c.tls.receiverCertificate === 'self-signed' ? 'self-signed (development)' : 'configured',
      ],
      ['Size', `${r.message.size} bytes`],
    ] as [string, string][],
    auth: [
      ['SPF (MAIL FROM)', `${a.spf.result ?? 'not evaluated'}${a.spf.domain ? ` for ${a.spf.domain}` : ''}`],
      [
        'SPF (HELO)',
        a.spfHelo ? `${a.spfHelo.result ?? '?'} for ${a.spfHelo.domain ?? '?'}` : 'not evaluated',
      ],
      [
        'DKIM',
        a.dkim.length
          ? a.dkim
              .map(
                (d) =>
                  `${d.result} d=${d.domain} s=${d.selector}${d.keyBits ? ` (${d.keyType ?? ''} ${d.keyBits} bits)` : ''}${d.comment ? `: ${d.comment}` : ''}`,
              )
              .join('; ')
          : 'no signature',
      ],
      [
        'DMARC',
        `${a.dmarc.result}${a.dmarc.policy ? `, p=${a.dmarc.policy}` : ''}: ${DISPOSITION[a.dmarc.disposition]}`,
      ],
      ['ARC', a.arc.result],
      [
        'BIMI',
        a.bimi.eligible
          ? 'eligible'
          : `not eligible${a.bimi.reasons.length ? `: ${a.bimi.reasons.join('; ')}` : ''}`,
      ],
    ] as [string, string][],
    spam: r.spam
      ? {
          score: r.spam.score,
          threshold: r.spam.threshold,
          isSpam: r.spam.isSpam,
          rules: r.spam.rules
            .slice(0, 50)
            .map((x) => ({ name: x.name, score: x.score.toFixed(1), description: x.description })),
        }
      : undefined,
    domainCheck: r.domainCheck
      ? { domain: r.domainCheck.domain, ...(r.domainCheck.id ? { href: `/checks/${r.domainCheck.id}` } : {}) }
      : undefined,
    areas: areas(r),
    headers: r.message.headers,
    mime: mimeLines(r.message.mime),
    transcript: c.transcript.map((l) => `${String(l.atMs).padStart(6)} ms ${l.dir}: ${l.line}`),
    dnsLog: r.dnsLog.map(
      (q) =>
        `${q.atMs} ms ${q.type} ${q.name} → ${q.rcode} (${q.answers} answer${q.answers === 1 ? '' : 's'}, ${q.ms} ms)`,
    ),
  };
}

const PROGRESS: Record<InboundStatus['status'], { percent: number; message: string }> = {
  waiting: { percent: 0, message: 'Waiting for your message…' },
  received: { percent: 10, message: 'Message received; analysing…' },
  analysed: { percent: 100, message: 'Report ready' },
  expired: { percent: 0, message: 'Expired' },
};

export function inboundPageView(s: InboundStatus): InboundPageView {
  const live = s.status === 'waiting' || s.status === 'received';
  const view: InboundPageView = {
    title: s.status === 'analysed' ? 'Inbound test report' : 'Inbound test',
    heading: s.status === 'analysed' ? 'What a receiver sees of your message' : 'Send a test message',
    id: s.id,
    status: s.status,
    address: s.address,
    expiresAt: s.expiresAt,
    percent: s.progress?.percent ?? PROGRESS[s.status].percent,
    message: s.progress?.message ?? PROGRESS[s.status].message,
    refreshSeconds: live ? 5 : 0,
    script: live ? 'check.js' : '',
  };
  if (s.error) view.error = s.error;
  if (s.report) view.report = reportView(s.report);
  return view;
}
