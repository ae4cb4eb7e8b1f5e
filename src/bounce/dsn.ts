import { splitLines } from './lines.js';

/**
 * RFC 3464 delivery-status fields: one per-message group (Reporting-MTA, Arrival-Date …)
 * followed by per-recipient groups (Final-Recipient, Action, Status, Remote-MTA,
 * Diagnostic-Code …), separated by blank lines. Real reports break the rules — no blank
 * lines, groups run together, fields in odd cases, continuation lines without indentation —
 * so a new recipient group also starts whenever a recipient field repeats.
 */

export interface DsnRecipient {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: string | null;
  status: string | null;
  remoteMta: string | null;
  diagnosticType: string | null;
  diagnostic: string | null;
  lastAttemptDate: string | null;
  willRetryUntil: string | null;
  /** Every field of the group, lower-cased names. */
  fields: Record<string, string>;
}

export interface DsnReport {
  reportingMta: string | null;
  arrivalDate: string | null;
  /** Per-message fields, lower-cased names (including X- extensions such as X-Postfix-Sender). */
  fields: Record<string, string>;
  recipients: DsnRecipient[];
}

/** Fields of a per-recipient group (RFC 3464 §2.3); anything before the first one is per-message. */
const RECIPIENT_FIELDS = new Set([
  'final-recipient',
  'original-recipient',
  'action',
  'status',
  'remote-mta',
  'diagnostic-code',
  'last-attempt-date',
  'final-log-id',
  'will-retry-until',
]);
const RECIPIENT_START = new Set(['final-recipient', 'original-recipient']);

/** Splits "type; value" (RFC 3464 §2.1.2): returns the value, or the whole when there is no type. */
export function typedValue(value: string): { type: string | null; value: string } {
  const m = /^\s*([\w.-]+)\s*;\s*([\s\S]*)$/.exec(value);
  if (m && !/@/.test(m[1]!)) return { type: m[1]!.toLowerCase(), value: m[2]!.trim() };
  return { type: null, value: value.trim() };
}

/** An address from a recipient field: "rfc822; <a@b>" → "a@b". */
export function addressValue(value: string): string {
  const v = typedValue(value).value.replace(/^<|>$/g, '').trim();
  // The first "<…>" with an "@" inside (not first, not last): `/<([^<>\s]+@[^<>\s]+)>/` without
  // trying every "@" of a long token as the split.
  for (const m of v.matchAll(/<([^<>\s]+)>/g)) {
    const inside = m[1]!;
    const at = inside.indexOf('@', 1);
    if (at > 0 && at < inside.length - 1) return inside;
  }
  return v;
}

function unfold(text: string): { name: string; value: string; blankBefore: boolean }[] {
  const out: { name: string; value: string; blankBefore: boolean }[] = [];
  let blank = false;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') {
      blank = true;
      continue;
    }
    const m = /^([A-Za-z][\w-]*)\s*:\s?(.*)$/.exec(line);
    if (m && !/^\s/.test(line)) {
      out.push({ name: m[1]!.toLowerCase(), value: m[2]!.trim(), blankBefore: blank });
    } else if (out.length > 0) {
      // A continuation (indented or not): belongs to the previous field.
      out[out.length - 1]!.value += ` ${line.trim()}`;
    }
    blank = false;
  }
  return out;
}

function emptyRecipient(): DsnRecipient {
  return {
    finalRecipient: null,
    originalRecipient: null,
    action: null,
    status: null,
    remoteMta: null,
    diagnosticType: null,
    diagnostic: null,
    lastAttemptDate: null,
    willRetryUntil: null,
    fields: {},
  };
}

export function parseDeliveryStatus(text: string): DsnReport {
  const report: DsnReport = { reportingMta: null, arrivalDate: null, fields: {}, recipients: [] };
  let current: DsnRecipient | null = null;
  for (const { name, value, blankBefore } of unfold(text)) {
    if (!current && !RECIPIENT_FIELDS.has(name)) {
      report.fields[name] ??= value;
      continue;
    }
    const startsNew =
      !current ||
      (RECIPIENT_START.has(name) &&
        (current.fields['final-recipient'] !== undefined ||
          current.fields['original-recipient'] !== undefined) &&
        (blankBefore || current.fields[name] !== undefined));
    if (startsNew) {
      current = emptyRecipient();
      report.recipients.push(current);
    }
    current!.fields[name] ??= value;
  }
  report.reportingMta = report.fields['reporting-mta']
    ? typedValue(report.fields['reporting-mta']).value
    : null;
  report.arrivalDate = report.fields['arrival-date'] ?? null;
  for (const r of report.recipients) {
    const f = r.fields;
    r.finalRecipient = f['final-recipient'] ? addressValue(f['final-recipient']) : null;
    r.originalRecipient = f['original-recipient'] ? addressValue(f['original-recipient']) : null;
    r.action = f['action']
      ? f['action']
          .trim()
          .toLowerCase()
          .split(/[\s(;]/)[0]!
      : null;
    r.status = f['status']
      ? (/([245])\.(\d{1,3})\.(\d{1,3})/.exec(f['status'])?.slice(1, 4).map(Number).join('.') ?? null)
      : null;
    r.remoteMta = f['remote-mta'] ? typedValue(f['remote-mta']).value : null;
    if (f['diagnostic-code']) {
      const d = typedValue(f['diagnostic-code']);
      r.diagnosticType = d.type;
      r.diagnostic = d.value;
    }
    r.lastAttemptDate = f['last-attempt-date'] ?? null;
    r.willRetryUntil = f['will-retry-until'] ?? null;
  }
  // Drop groups that name no recipient and carry no status: noise such as a stray field.
  report.recipients = report.recipients.filter((r) => r.finalRecipient || r.originalRecipient || r.status);
  return report;
}

/** Finds RFC 3464 fields pasted into plain text (a DSN whose MIME structure was lost). */
export function findInlineDeliveryStatus(text: string): string | null {
  const m = /^(?:Reporting-MTA|Final-Recipient|Original-Recipient)\s*:/im.exec(text);
  if (!m) return null;
  const rest = text.slice(m.index);
  if (!/^Action\s*:/im.test(rest) && !/^Status\s*:/im.test(rest)) return null;
  // Up to the first line that is neither a field, a continuation nor blank-then-field.
  const lines = splitLines(rest);
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[A-Za-z][\w-]*\s*:/.test(line) || /^\s+\S/.test(line)) {
      kept.push(line);
    } else if (
      line.trim() === '' &&
      /^[A-Za-z][\w-]*\s*:/.test(lines[i + 1] ?? '') &&
      /^(?:Final|Original)-Recipient|^Action|^Status|^Remote-MTA|^Diagnostic-Code|^Last-Attempt|^X-/i.test(
        lines[i + 1] ?? '',
      )
    ) {
      kept.push('');
    } else {
      break;
    }
  }
  return kept.join('\n');
}
