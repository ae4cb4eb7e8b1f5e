import type { BounceRecord, Diagnosis, Followup } from '../bounce/model.js';
import { KIND_TEXT, SIDE_TEXT } from '../bounce/labels.js';
import { REASON_INFO } from '../bounce/reasons.js';
import { safeText } from './format.js';

/**
 * Human output of a bounce diagnosis, for a support engineer: one block per recipient with
 * the verdict first (reason, hard or soft), the one-sentence explanation, whose side, what to
 * do, the follow-up results, then the facts it rests on. All bounce text is remote input:
 * printed through safeText, never interpreted.
 */

export interface BounceFormatOptions {
  color: boolean;
  verbose: boolean;
}

export function formatDiagnosis(d: Diagnosis, options: BounceFormatOptions): string {
  const paint = (code: string, text: string): string =>
    options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  const bold = (t: string): string => paint('1', t);
  const dim = (t: string): string => paint('2', t);
  const lines: string[] = [];
  const n = d.bounces.length;
  lines.push(`${bold('Bounce diagnosis')}: ${KIND_TEXT[d.kind]}, ${n} recipient${n === 1 ? '' : 's'}`);
  const o = d.original;
  const facts: string[] = [];
  if (o.from || o.sender) facts.push(`from ${safeText(o.from ?? o.sender ?? '')}`);
  if (o.subject) facts.push(`subject “${safeText(o.subject)}”`);
  if (o.date) facts.push(`sent ${safeText(o.date)}`);
  if (o.sendingIp)
    facts.push(`via ${safeText(o.sendingIp)}${o.sendingHost ? ` (${safeText(o.sendingHost)})` : ''}`);
  if (facts.length) lines.push(`Original message: ${facts.join(', ')}`);
  if (o.messageId) lines.push(dim(`Message-ID: ${safeText(o.messageId)}`));
  for (const w of d.warnings) lines.push(paint('33', `Note: ${safeText(w)}`));

  for (const [i, r] of d.bounces.entries()) {
    lines.push('');
    lines.push(recordHeading(r, i, n, paint, bold));
    lines.push(`  ${safeText(r.explanation.summary)}`);
    lines.push(`  Whose side: ${SIDE_TEXT[r.explanation.side]}. ${r.explanation.hardNote}`);
    lines.push('  What to do:');
    for (const step of r.explanation.nextSteps) lines.push(`    - ${safeText(step)}`);
    if (r.followups.length) {
      lines.push('  Follow-up checks:');
      for (const f of r.followups) {
        lines.push(`    ${followupLine(f, paint)}`);
        if (options.verbose) for (const l of evidenceLines(f)) lines.push(dim(`      ${safeText(l)}`));
      }
    }
    const smtp = [
      r.replyCode !== null ? String(r.replyCode) : null,
      r.status ? `${r.status}${r.statusSource === 'derived' ? ' (derived)' : ''}` : null,
      r.smtpCommand ? `at ${r.smtpCommand}` : null,
    ].filter(Boolean);
    if (smtp.length)
      lines.push(dim(`  Reply: ${smtp.join(' ')}${r.remoteMta ? ` from ${safeText(r.remoteMta)}` : ''}`));
    else if (r.remoteMta) lines.push(dim(`  Remote server: ${safeText(r.remoteMta)}`));
    if (r.diagnostic)
      lines.push(dim(`  Diagnostic: ${safeText(truncate(r.diagnostic, options.verbose ? 2000 : 300))}`));
    if (options.verbose) {
      lines.push(
        dim(
          `  Confidence ${Math.round(r.confidence * 100)}%, from ${r.matched.slice(0, 6).join(', ') || 'no evidence'}`,
        ),
      );
      if (r.originalRecipient) lines.push(dim(`  Original recipient: ${safeText(r.originalRecipient)}`));
      if (r.reportingMta) lines.push(dim(`  Reporting MTA: ${safeText(r.reportingMta)}`));
      if (r.lastAttemptDate) lines.push(dim(`  Last attempt: ${safeText(r.lastAttemptDate)}`));
      if (r.willRetryUntil) lines.push(dim(`  Will retry until: ${safeText(r.willRetryUntil)}`));
    }
  }
  if (options.verbose && o.received.length) {
    lines.push('', bold('Received chain of the original message (newest first)'));
    for (const h of o.received) {
      lines.push(
        dim(
          `  from ${safeText(h.from ?? '?')}${h.ip ? ` [${safeText(h.ip)}]` : ''} by ${safeText(h.by ?? '?')}`,
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function recordHeading(
  r: BounceRecord,
  i: number,
  n: number,
  paint: (code: string, t: string) => string,
  bold: (t: string) => string,
): string {
  const who = r.recipient ? safeText(r.recipient) : '(recipient not named)';
  const title = REASON_INFO[r.reason].title;
  let tag: string;
  if (r.reason === 'delivered' || r.reason === 'vacation' || r.reason === 'feedback')
    tag = paint('36', 'NOT A BOUNCE');
  else if (r.action === 'delayed') tag = paint('33', 'DELAYED');
  else if (r.hard) tag = paint('31', 'HARD');
  else tag = paint('33', 'SOFT');
  return `${n > 1 ? `${i + 1}. ` : ''}${bold(who)} — ${tag} ${bold(r.reason)}: ${title}`;
}

function followupLine(f: Followup, paint: (code: string, t: string) => string): string {
  const color = f.verdict === 'confirmed' ? '31' : f.verdict === 'not_confirmed' ? '32' : '35';
  const label =
    f.verdict === 'confirmed'
      ? 'CONFIRMED'
      : f.verdict === 'not_confirmed'
        ? 'NOT CONFIRMED'
        : 'COULD NOT TEST';
  return `${paint(color, label)} ${safeText(f.title)} — ${safeText(f.summary)}`;
}

/** What a follow-up saw, for -v: the SMTP transcript or the SPF evaluation steps it recorded. */
function evidenceLines(f: Followup): string[] {
  const d = f.details;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 80) : [];
  if (d.transcript) return strings(d.transcript);
  if (d.trace) return strings(d.trace);
  return [];
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
