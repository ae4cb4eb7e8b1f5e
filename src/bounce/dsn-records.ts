import type { DsnReport } from './dsn.js';
import type { BounceRecord, Original } from './model.js';
import type { TextRecipient } from './ndr.js';
import type { Notice } from './notice.js';
import { diagnosticOf, replyLines } from './notice.js';
import { MAX_DIAGNOSTIC, MAX_RECORDS, buildRecord, recordFacts } from './record.js';
import { findRemoteMta, joinMultiline, squash } from './reply.js';

/**
 * The records of RFC 3464 reports: one per recipient group of the delivery-status fields
 * (parsed in dsn.ts), each completed with what the human-readable notice says about that
 * recipient (the rest of a multi-line reply the Diagnostic-Code field cut short, the remote
 * server).
 */

/**
 * The records of the RFC 3464 reports (only the first MAX_RECORDS are built: a list server's
 * report can name thousands), each with the notice's text about its recipient.
 */
export function dsnRecords(
  reports: readonly DsnReport[],
  textRecipients: readonly TextRecipient[],
  notice: Notice,
  original: Original,
): { records: BounceRecord[]; total: number } {
  // The first text recipient by address and by original address: one lookup per record.
  const byRecipient = new Map<string, number>();
  const byOriginal = new Map<string, number>();
  for (const [i, t] of textRecipients.entries()) {
    if (!byRecipient.has(t.recipient.toLowerCase())) byRecipient.set(t.recipient.toLowerCase(), i);
    const o = t.originalRecipient?.toLowerCase();
    if (o && !byOriginal.has(o)) byOriginal.set(o, i);
  }
  const textFor = (key: string | undefined, alt: string | undefined): TextRecipient | undefined => {
    const found = [
      key !== undefined ? byRecipient.get(key) : undefined,
      alt ? byRecipient.get(alt) : undefined,
      alt ? byOriginal.get(alt) : undefined,
    ].filter((i): i is number => i !== undefined);
    return found.length ? textRecipients[Math.min(...found)] : undefined;
  };
  const all = reports.flatMap((report) => report.recipients.map((r) => ({ report, r })));
  const records = all.slice(0, MAX_RECORDS).map(({ report, r }) => {
    const recipient = r.finalRecipient ?? r.originalRecipient;
    const text =
      textFor(recipient?.toLowerCase(), r.originalRecipient?.toLowerCase())?.block ??
      (report.recipients.length === 1 ? notice.withoutBoilerplate : '');
    const diagnostic = r.diagnostic
      ? joinMultiline(
          squash(
            completeReply(r.diagnostic, (code) => (text ? replyLines(text, code) : notice.replyLines(code))),
          ),
        )
      : diagnosticOf(text, notice, recipient ?? '');
    return buildRecord(
      recordFacts(original, {
        recipient: recipient ? lowerDomain(recipient) : null,
        originalRecipient:
          r.originalRecipient && r.originalRecipient !== recipient ? r.originalRecipient : null,
        action: r.action,
        dsnStatus: r.status,
        diagnostic: diagnostic.slice(0, MAX_DIAGNOSTIC),
        context: text ? squash(text).slice(0, 4000) : notice.context,
        sharedContext: !text && report.recipients.length > 1,
        diagnosticType: r.diagnosticType,
        remoteMta: r.remoteMta ?? findRemoteMta(text),
        reportingMta: report.reportingMta,
        lastAttemptDate: r.lastAttemptDate,
        willRetryUntil: r.willRetryUntil,
      }),
    );
  });
  return { records, total: all.length };
}

/**
 * sendmail and others put only the first line of a multi-line reply ("552-5.7.0 This message
 * was blocked because …") into Diagnostic-Code; the notice's transcript has the rest.
 */
function completeReply(diagnostic: string, transcript: (code: string) => string): string {
  const m = /^\s*([245]\d\d)-/.exec(diagnostic);
  if (!m) return diagnostic;
  const full = transcript(m[1]!);
  return full.length > diagnostic.length && full.startsWith(diagnostic.trim().slice(0, 20))
    ? full
    : diagnostic;
}

function lowerDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}
