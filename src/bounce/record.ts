import { classify } from './classify.js';
import type { ClassifyInput } from './classify.js';
import { domainOf, explain } from './explain.js';
import { BOUNCE_SCHEMA_VERSION } from './schema-version.js';
import type { BounceRecord, Diagnosis, Explanation, Kind, Original, Reason } from './model.js';
import { PHRASE_RULES } from './patterns.js';
import { ipInDiagnostic } from './received.js';
import { findCommand, findReplyCode, findStatus, findStatuses, refusedAfterBody, squash } from './reply.js';

/**
 * One record of a diagnosis built from the facts a report gives about one recipient (its
 * address, the DSN fields, the diagnostic text and the text around it): the SMTP facts read
 * from the text, the classification, the explanation. Every kind of report (RFC 3464, a
 * human-readable notice, a bare reply, ARF, Amazon SES) ends here.
 */

/** Longest diagnostic text kept per record. */
export const MAX_DIAGNOSTIC = 1200;
/** At most this many records (a list-server bounce can name thousands). */
export const MAX_RECORDS = 500;

export interface RecordFacts {
  recipient: string | null;
  originalRecipient: string | null;
  action: string | null;
  dsnStatus: string | null;
  diagnostic: string;
  context: string;
  diagnosticType: string | null;
  remoteMta: string | null;
  reportingMta: string | null;
  lastAttemptDate: string | null;
  willRetryUntil: string | null;
  replyCode?: number | null;
  original: Original;
  forceReason?: Reason;
  /** The input was one pasted SMTP reply, not a report. */
  bareReply?: boolean;
  /** The context is the whole report, shared by several recipients: its SMTP stage is not this one's. */
  sharedContext?: boolean;
}

/** What a report tells of a record; recordFacts takes the rest as unknown. */
export type KnownFacts = Partial<Omit<RecordFacts, 'original'>>;

/**
 * The facts of a record: those `known`, the others unknown (null, or '' for the texts). Built
 * field by field, not as `{ ...blank, ...known }`: writing over the fields of a fresh copy
 * had V8 generalise the copy's hidden class again for every record (some 13,000 times over
 * the bounce corpus ×10), and buildRecord's property reads then missed their inline caches
 * (2% of a mailbox run's instructions).
 */
export function recordFacts(original: Original, known: KnownFacts): RecordFacts {
  return {
    recipient: known.recipient ?? null,
    originalRecipient: known.originalRecipient ?? null,
    action: known.action ?? null,
    dsnStatus: known.dsnStatus ?? null,
    diagnostic: known.diagnostic ?? '',
    context: known.context ?? '',
    diagnosticType: known.diagnosticType ?? null,
    remoteMta: known.remoteMta ?? null,
    reportingMta: known.reportingMta ?? null,
    lastAttemptDate: known.lastAttemptDate ?? null,
    willRetryUntil: known.willRetryUntil ?? null,
    replyCode: known.replyCode,
    original,
    forceReason: known.forceReason,
    bareReply: known.bareReply,
    sharedContext: known.sharedContext,
  };
}

const ACTIONS = new Set(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);

/** The last answer of `fn`, kept for the same input (the records of one report share their context). */
function lastOf<T>(fn: (text: string) => T): (text: string) => T {
  let last: { text: string; value: T } | null = null;
  return (text) => {
    if (last?.text !== text) last = { text, value: fn(text) };
    return last.value;
  };
}

/** What a record reads from its diagnostic and its context, once per distinct text. */
const diagnosticFacts = {
  replyCode: lastOf(findReplyCode),
  statuses: lastOf(findStatuses),
  command: lastOf(findCommand),
  afterBody: lastOf(refusedAfterBody),
};
const contextFacts = {
  replyCode: lastOf(findReplyCode),
  status: lastOf(findStatus),
  command: lastOf(findCommand),
  afterBody: lastOf(refusedAfterBody),
};

export function buildRecord(f: RecordFacts): BounceRecord {
  const diagnostic = f.diagnostic;
  // A diagnostic of another type than SMTP (x-unix, x-local…) holds no SMTP reply code.
  const smtpDiagnostic = !f.diagnosticType || /smtp/i.test(f.diagnosticType);
  const replyCode =
    f.replyCode ??
    (smtpDiagnostic ? diagnosticFacts.replyCode(diagnostic) : null) ??
    (f.context ? contextFacts.replyCode(f.context) : null);
  const textStatuses = diagnosticFacts.statuses(diagnostic);
  const contextStatus = textStatuses.length === 0 && f.context ? contextFacts.status(f.context) : null;
  const command =
    diagnosticFacts.command(diagnostic) ??
    (f.context && !f.sharedContext ? contextFacts.command(f.context) : null);
  const afterBody =
    command === 'DATA' &&
    (diagnosticFacts.afterBody(diagnostic) ||
      (!!f.context && !f.sharedContext && contextFacts.afterBody(f.context)));
  const action = f.action && ACTIONS.has(f.action) ? (f.action as BounceRecord['action']) : null;
  // The remote server's own enhanced code outranks the reporting MTA's summary of it
  // (a DSN often says "Status: 5.0.0" for "550 5.7.1 …").
  const remoteStatus = textStatuses[0] ?? null;
  const input: ClassifyInput = {
    status: remoteStatus ?? f.dsnStatus,
    textStatuses: remoteStatus
      ? [...textStatuses.slice(1), ...(f.dsnStatus ? [f.dsnStatus] : [])]
      : contextStatus
        ? [contextStatus]
        : [],
    replyCode,
    diagnostic,
    context: f.context,
    command,
    afterBody,
    bareReply: f.bareReply ?? false,
    action,
    diagnosticType: f.diagnosticType,
  };
  const c = f.forceReason
    ? {
        reason: f.forceReason,
        confidence: 0.9,
        runnerUp: null,
        matched: ['rule:report_type'],
        permanent: false,
        hard: false,
        derivedStatus: null,
      }
    : classify(input);
  // A notice that calls itself a delay but says the delivery time has expired (OpenSMTPD's
  // "Envelope expired", Action: delayed with 4.4.7) reports a message given up, not one still queued.
  const reportedAction =
    action === 'delayed' && c.reason === 'expired' && (f.dsnStatus ?? remoteStatus) === '4.4.7'
      ? 'failed'
      : action;
  let status: string | null = null;
  let statusSource: BounceRecord['statusSource'] = 'none';
  if (remoteStatus) {
    status = remoteStatus;
    statusSource = 'reply';
  } else if (
    f.dsnStatus &&
    !(/\.0\.0$/.test(f.dsnStatus) && contextStatus && contextStatus[0] === f.dsnStatus[0])
  ) {
    status = f.dsnStatus;
    statusSource = 'dsn';
  } else if (contextStatus) {
    // The DSN says only "X.0.0"; the report's own text names the specific code.
    status = textStatuses[0] ?? contextStatus;
    statusSource = 'reply';
  } else if (c.derivedStatus && !f.forceReason) {
    status = c.derivedStatus;
    statusSource = 'derived';
  }
  const recipientDomain = domainOf(f.recipient);
  const clientIp = ipInDiagnostic(diagnostic);
  const sendingIp = clientIp ?? f.original.sendingIp;
  const sender = f.original.sender ?? f.original.from;
  return {
    recipient: f.recipient,
    originalRecipient: f.originalRecipient,
    action: f.forceReason ? null : (reportedAction ?? (c.permanent ? 'failed' : null)),
    status,
    statusSource,
    replyCode,
    smtpCommand: command,
    reason: c.reason,
    hard: c.hard,
    permanent: c.permanent,
    remoteMta: f.remoteMta ? squash(f.remoteMta) : null,
    reportingMta: f.reportingMta,
    clientIp,
    diagnostic,
    confidence: c.confidence,
    runnerUp: c.runnerUp,
    matched: c.matched,
    lastAttemptDate: f.lastAttemptDate,
    willRetryUntil: f.willRetryUntil,
    explanation: withAdvice(
      explain(c.reason, c.hard, {
        recipient: f.recipient,
        recipientDomain,
        remote: f.remoteMta,
        sendingIp,
        sender,
        senderDomain: domainOf(sender),
      }),
      c.reason,
      c.matched,
    ),
    followups: [],
  };
}

/** The phrase rules that give advice, by ID (unique, without ":"): their index in PHRASE_RULES. */
const ADVISING = new Map<string, number>();
for (const [i, r] of PHRASE_RULES.entries()) if (r.advice) ADVISING.set(r.id, i);

/**
 * A deciding phrase's own advice (see PhraseRule.advice), when it has any: that of the first
 * rule of the table with advice and this reason among the evidence ("phrase:ID", "context:ID").
 * Looked up by the evidence's IDs, not by trying every rule on every record.
 */
function withAdvice(e: Explanation, reason: Reason, matched: readonly string[]): Explanation {
  let first = -1;
  for (let k = 0; k < matched.length; k++) {
    const m = matched[k]!;
    const colon = m.lastIndexOf(':');
    const i = colon < 0 ? undefined : ADVISING.get(m.slice(colon + 1));
    if (i !== undefined && PHRASE_RULES[i]!.reason === reason && (first < 0 || i < first)) first = i;
  }
  const rule = first < 0 ? undefined : PHRASE_RULES[first];
  if (!rule?.advice) return e;
  // Field by field, in explain's order: a spread copy gets a new hidden class each time (V8 11).
  return {
    summary: `${e.summary} ${rule.advice.summary}`,
    side: e.side,
    nextSteps: rule.advice.steps,
    hardNote: e.hardNote,
  };
}

export function finish(
  kind: Kind,
  records: BounceRecord[],
  original: Original,
  reporter: Diagnosis['reporter'],
  warnings: string[],
  /** How many records there were before only the first MAX_RECORDS were built. */
  total: number = records.length,
): Diagnosis {
  if (total > MAX_RECORDS) warnings.push(`Only the first ${MAX_RECORDS} of ${total} recipients are shown.`);
  return {
    schemaVersion: BOUNCE_SCHEMA_VERSION,
    kind,
    bounces: records.slice(0, MAX_RECORDS),
    original,
    reporter,
    warnings,
  };
}
