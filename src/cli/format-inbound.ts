import { INBOUND_AREAS, inboundAreaOf } from '../inbound/score.js';
import type { InboundReport } from '../inbound/report.js';
import type { Status } from '../report/model.js';
import { sortWorstFirst } from '../report/score.js';
import { safeText } from './format.js';

/**
 * The inbound report for a terminal: who sent the message and how, the authentication
 * verdict in one line, the score, then the findings area by area, worst first. Everything
 * from the message and the connection goes through safeText (control characters shown).
 */
const COLORS: Record<Status, string> = { pass: '32', warn: '33', fail: '31', info: '36', error: '35' };

export function formatInbound(report: InboundReport, color: boolean, verbose = false): string {
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const c = report.connection;
  const a = report.authentication;
  const ptr = report.connectionDns.ptr?.confirmed[0] ?? report.connectionDns.ptr?.names[0];
  const tls = c.tls.used
    ? `${c.tls.protocol ?? 'TLS'} ${c.tls.cipherStandard ?? c.tls.cipher ?? ''}`.trim()
    : 'none (plain text)';
  const lines = [
    `${paint('1', 'Message')}: from ${safeText(report.message.from ?? '(no From)')}${report.message.subject !== undefined ? `, "${safeText(report.message.subject)}"` : ''}, ${report.message.size} bytes`,
    `${paint('1', 'Sender')}: ${c.remoteAddress}${ptr ? ` (${safeText(ptr)})` : ''}, ${c.helo ? `${c.helo.command} ${safeText(c.helo.name)}` : 'no HELO'}, MAIL FROM <${safeText(report.envelope.mailFrom)}>`,
    `${paint('1', 'TLS')}: ${safeText(tls)}${c.tls.receiverCertificate === 'self-signed' ? ' (the receiver used a self-signed certificate)' : ''}`,
    `${paint('1', 'Authentication')}: spf=${a.spf.result ?? 'none'}${a.spfHelo ? ` (helo ${a.spfHelo.result})` : ''}, dkim=${a.dkim.map((d) => `${d.result}(${safeText(d.domain)}${d.keyBits ? `, ${d.keyBits} bits` : ''})`).join(' ') || 'none'}, dmarc=${a.dmarc.result} (disposition ${a.dmarc.disposition}), arc=${a.arc.result}, bimi=${a.bimi.eligible ? 'eligible' : 'no'}`,
    ...(report.spam
      ? [
          `${paint('1', 'Spam filter')}: ${report.spam.score} of ${report.spam.threshold} (${report.spam.isSpam ? 'spam' : 'not spam'})`,
        ]
      : []),
    `${paint('1', 'Verdict')}: ${paint(COLORS[report.verdict], report.verdict.toUpperCase())}, score ${report.score.value ?? 'n/a'}/100 (${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.pass} pass)`,
  ];
  if (report.domainCheck?.url)
    lines.push(`${paint('1', 'Domain check')}: ${safeText(report.domainCheck.url)}`);
  const areas = [...INBOUND_AREAS.map((x) => x.title), 'Other'];
  for (const area of areas) {
    const findings = sortWorstFirst(report.checks.filter((f) => inboundAreaOf(f.id) === area));
    if (findings.length === 0) continue;
    const score = report.score.areas.find((x) => x.area === area)?.score;
    lines.push('', paint('1', `${area}${score !== undefined && score !== null ? ` (${score}/100)` : ''}`));
    for (const f of findings) {
      if (!verbose && f.status === 'pass' && f.id === 'inbound.receiver.certificate') continue;
      lines.push(
        `  ${paint(COLORS[f.status], f.status.toUpperCase().padEnd(5))} ${safeText(f.title)}: ${safeText(f.summary)}`,
      );
      if (f.remedy && (f.status === 'fail' || f.status === 'warn'))
        lines.push(`        Fix: ${safeText(f.remedy)}`);
    }
  }
  if (verbose && c.transcript.length) {
    lines.push('', paint('1', 'Session'));
    for (const l of c.transcript)
      lines.push(`  ${String(l.atMs).padStart(6)} ms ${l.dir}: ${safeText(l.line)}`);
  }
  return lines.join('\n') + '\n';
}
