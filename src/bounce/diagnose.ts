import { classify } from './classify.js';
import type { ClassifyInput } from './classify.js';
import { findInlineDeliveryStatus, parseDeliveryStatus, typedValue } from './dsn.js';
import type { DsnReport } from './dsn.js';
import { domainOf, explain } from './explain.js';
import {
  decodeEncodedWords,
  decodeText,
  header,
  headers,
  looksLikeMessage,
  readMessage,
  stripMbox,
} from './mime.js';
import type { HeaderField, MessageView } from './mime.js';
import { BOUNCE_SCHEMA_VERSION } from './model.js';
import type {
  BounceRecord,
  Diagnosis,
  DkimSignatureRef,
  Explanation,
  HeaderLine,
  Kind,
  Original,
  Reason,
} from './model.js';
import { addressesIn, extractRecipients, splitReturned } from './ndr.js';
import { firstMatchingLine } from './lines.js';
import { PHRASE_RULES, phraseMatches } from './patterns.js';
import type { TextRecipient } from './ndr.js';
import { MAX_HOPS, ipInDiagnostic, parseReceived, sendingHop } from './received.js';
import {
  findCommand,
  findRemoteMta,
  findReplyCode,
  findStatus,
  findStatuses,
  joinMultiline,
  parseBareReply,
  squash,
} from './reply.js';
import { BounceInputError, BOUNCE_ACCEPTS } from './errors.js';
export { BounceInputError, BOUNCE_ACCEPTS };
export type { BounceInputErrorCode } from './errors.js';

/**
 * diagnoseBounce: bytes in, a Diagnosis out. Pure (no I/O); safe on any input: a size limit,
 * no exceptions for malformed MIME, broken encodings or junk — only a BounceInputError with a
 * message for the user when the input is unusable (too large, empty, binary, not a bounce).
 */

export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
/** Longest diagnostic text kept per record. */
const MAX_DIAGNOSTIC = 1200;
/** At most this many records (a list-server bounce can name thousands). */
export const MAX_RECORDS = 500;

export interface DiagnoseOptions {
  /** Input size limit in bytes. @defaultValue 5 MiB */
  maxBytes?: number;
}

export async function diagnoseBounce(
  input: Uint8Array | string,
  options: DiagnoseOptions = {},
): Promise<Diagnosis> {
  const bytes = checkBounceInput(input, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const messages = splitMbox(bytes);
  if (messages.length > 1) return fromMbox(messages);
  return diagnoseOne(bytes);
}

/**
 * The cheap checks of diagnoseBounce, on their own (the service answers them at once, before
 * queueing): throws BounceInputError when the input is too large, empty or binary; returns
 * the input as a Buffer otherwise.
 */
export function checkBounceInput(input: Uint8Array | string, maxBytes: number = DEFAULT_MAX_BYTES): Buffer {
  const bytes =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length > maxBytes) {
    throw new BounceInputError(
      'too_large',
      `The input is ${formatSize(bytes.length)}, more than the limit of ${formatSize(maxBytes)} (MXDOCTOR_BOUNCE_MAX_SIZE). Paste the bounce itself; a bounce rarely needs more than its text and the returned headers.`,
    );
  }
  if (bytes.toString('latin1').trim() === '') {
    throw new BounceInputError('empty', `The input is empty. ${BOUNCE_ACCEPTS}`);
  }
  if (isBinary(bytes)) {
    throw new BounceInputError(
      'binary',
      `The input is binary data, not a mail message or text. ${BOUNCE_ACCEPTS}`,
    );
  }
  return bytes;
}

/** mbox "From " separator lines (the envelope sender and an asctime date). */
const MBOX_SEPARATOR =
  /(?:^|\n)From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d(?: \S+)? \d{4}[ \t]*\r?(?=\n)/g;

/** The messages of an mbox (input that starts with a "From " line and has several), or the input as one message. */
function splitMbox(bytes: Buffer): Buffer[] {
  const text = bytes.toString('latin1');
  const starts = [...text.matchAll(MBOX_SEPARATOR)].map((m) => m.index + (m[0].startsWith('\n') ? 1 : 0));
  // Only a real mbox (starting with a separator): a "From " line inside a body is quoted text.
  if (starts.length < 2 || starts[0] !== 0) return [bytes];
  const bounds = starts;
  return bounds
    .map((start, i) => bytes.subarray(start, bounds[i + 1] ?? bytes.length))
    .filter((b) => b.toString('latin1').trim());
}

/** Several messages (an mbox): every bounce among them, in order. */
async function fromMbox(messages: Buffer[]): Promise<Diagnosis> {
  const results: Diagnosis[] = [];
  let firstError: unknown = null;
  for (const m of messages.slice(0, 100)) {
    try {
      results.push(await diagnoseOne(m));
    } catch (err) {
      firstError ??= err;
    }
  }
  if (results.length === 0) throw firstError;
  const first = results[0]!;
  const several = results.length > 1;
  return {
    ...first,
    bounces: results
      .flatMap((r, i) => (several ? r.bounces.map((b) => ({ ...b, messageIndex: i })) : r.bounces))
      .slice(0, MAX_RECORDS),
    ...(several ? { originals: results.map((r) => r.original) } : {}),
    warnings: [
      `The input holds ${messages.length} messages (an mbox); ${results.length} of them ${results.length === 1 ? 'is a bounce' : 'are bounces'}, and the original message and reporter shown are the first one's.`,
      ...results.flatMap((r) => r.warnings),
    ],
  };
}

async function diagnoseOne(bytes: Buffer): Promise<Diagnosis> {
  const asText = decodeText(stripMbox(bytes));
  if (!looksLikeMessage(asText)) {
    const reply = parseBareReply(asText);
    if (reply) return fromBareReply(reply.code, reply.status, reply.text, asText);
  }
  const view: MessageView = looksLikeMessage(asText)
    ? await readMessage(bytes)
    : {
        headers: [],
        text: asText,
        deliveryStatus: [],
        feedbackReports: [],
        returned: [],
        mime: false,
        warnings: [],
      };
  return fromMessage(view);
}

/** "5 MiB", "12 KiB", "300 bytes". */
export function formatSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** More than 1 in 10 bytes of the start being control characters (not tab, CR, LF, ESC, FF), or many NULs. */
function isBinary(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 8192);
  let control = 0;
  let nul = 0;
  for (const b of head) {
    if (b === 0) nul++;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b && b !== 0x0c) control++;
  }
  // A stray NUL happens in real bounces (a mailing-list footer); many do not.
  return control > head.length / 10 || (nul > 4 && nul > head.length / 200);
}

// ---------------------------------------------------------------------------------------------
// Bare SMTP reply

function fromBareReply(code: number, status: string | null, text: string, raw: string): Diagnosis {
  // The reply names the recipient, or the prefix before it does ("<a@b>: host … said: 550 …").
  const recipient = addressesIn(text)[0] ?? addressesIn(raw)[0] ?? null;
  const diagnostic = squash(`${code} ${status ? `${status} ` : ''}${text}`);
  const record = buildRecord({
    recipient,
    originalRecipient: null,
    action: null,
    dsnStatus: null,
    diagnostic,
    context: '',
    diagnosticType: 'smtp',
    remoteMta: findRemoteMta(raw),
    reportingMta: null,
    lastAttemptDate: null,
    willRetryUntil: null,
    replyCode: code,
    original: emptyOriginal(),
  });
  return {
    schemaVersion: BOUNCE_SCHEMA_VERSION,
    kind: 'smtp-reply',
    bounces: [record],
    original: emptyOriginal(),
    reporter: { from: null, subject: null, date: null, reportingMta: null, arrivalDate: null },
    warnings: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Messages and pasted text

const BOUNCE_SENDER =
  /^(?:mailer-daemon|mail-daemon|postmaster|mail\.delivery\.system|mail-delivery|maildelivery|mdaemon|bounce|bounces|nobody|root|system|administrator|notifications?)@|mail delivery (?:system|subsystem|service)|mailer-daemon|post_?master/i;
const BOUNCE_SUBJECT =
  /undeliver|undelivered|non[- ]?deliver|delivery (?:status notification|failure|failed|has failed|problem|report|notification|error)|returned mail|returned to sender|failure notice|failed delivery|mail delivery|could not be delivered|bounce|rejected|not delivered|delivery (?:status|warning|delayed)|warning: could not send|mail system error|nicht zustellbar|unzustellbar|non remis|no entregado|mail failure|delivery failure|message not delivered|配信|不達|エラー|returned/i;
const BOUNCE_TEXT =
  /could not be delivered|couldn'?t be delivered|was not delivered|wasn'?t delivered|not be delivered|undeliverable|failed permanently|permanent (?:error|failure|fatal)|delivery to the following recipient|delivery has failed|unable to deliver|delivery failed|could not deliver|wasn'?t able to deliver|the following address(?:es)? (?:had|failed)|did not reach (?:the following|some or all)|message (?:was )?(?:rejected|refused|returned)|delivery (?:status notification|problem)|error delivering your mail|i'?m sorry to (?:have to )?inform you|could not be sent|has been delayed|delivery (?:is )?delayed|temporary failure|will (?:continue|keep) trying|remote (?:host|server) (?:said|returned|replied)|rejected your message|technical details of (?:permanent|temporary) failure|the error that the other server returned|mail delivery failed|message delivery has failed|smtp error from remote mail server|said: [245]\d\d|<<< [245]\d\d|requested action not taken|error message below/i;
const AUTO_REPLY_SUBJECT =
  /^\s*(?:auto(?:matic|matische)?[ -]?(?:reply|response|antwort|respuesta|réponse)|auto:|autoreply|out of (?:the )?office|ooo\b|vacation|away from|abwesen|absence|réponse automatique|risposta automatica|respuesta automática|自動応答|自動返信|不在)/i;
const DELAY_TEXT =
  /\b(?:delayed|has been delayed|delivery (?:is )?delayed|will (?:continue|keep|be) (?:trying|retried|retrying)|will retry|still trying|not yet been delivered|warning: could not send message for past|delivery attempts will continue|this is a warning|temporary failure.{0,40}will)/i;

function fromMessage(view: MessageView): Diagnosis {
  const h = view.headers;
  const warnings = [...view.warnings];
  const bounceFrom = header(h, 'from') ?? '';
  const subject = header(h, 'subject');
  const contentType = header(h, 'content-type') ?? '';
  const failedHeader = headers(h, 'x-failed-recipients')
    .flatMap((v) => v.split(/[,\s]+/))
    .map((a) => a.replace(/^<|>$/g, ''))
    .filter((a) => a.includes('@'));

  const split = splitReturned(view.text);
  const notice = split.notice;
  const notes = new Notice(notice);
  const original = buildOriginal(view, split.returned);
  const reporter = {
    from: bounceFrom || null,
    subject,
    date: isoDate(header(h, 'date')),
    reportingMta: null as string | null,
    arrivalDate: null as string | null,
  };

  // Sending-platform JSON notifications (Amazon SES through SNS or e-mail).
  const json = sesNotification(view.text);
  if (json) return finish(json.kind, json.records(original), original, reporter, warnings);

  // ARF feedback reports (RFC 5965), and Microsoft's JMRP reports without the ARF part.
  const feedback = feedbackRecords(view, original, contentType, subject);
  if (feedback) return finish('feedback', feedback, original, reporter, warnings);

  // RFC 3464 reports (or their fields pasted as text).
  const dsnTexts = view.deliveryStatus.length
    ? view.deliveryStatus
    : [findInlineDeliveryStatus(view.text)].filter((t): t is string => !!t);
  const reports = dsnTexts.map(parseDeliveryStatus).filter((r) => r.recipients.length > 0);
  const exclude = senderAddresses(view, original);
  const textRecipients = extractRecipients(notice, exclude, failedHeader);
  if (reports.length > 0) {
    reporter.reportingMta = reports[0]!.reportingMta;
    reporter.arrivalDate = reports[0]!.arrivalDate;
    const sender =
      reports[0]!.fields['x-postfix-sender'] ?? reports[0]!.fields['x-outbound-mail-relay-sender'];
    if (sender && !original.sender) original.sender = typedValue(sender).value;
    const records = dsnRecords(reports, textRecipients, notes, original);
    return finish('dsn', records.records, original, reporter, warnings, records.total);
  }

  const bounceSignals =
    (BOUNCE_SENDER.test(bounceFrom) ? 1 : 0) +
    (subject && BOUNCE_SUBJECT.test(subject) ? 1 : 0) +
    (failedHeader.length > 0 ? 2 : 0) +
    (/report-type=["']?delivery-status/i.test(contentType) ? 2 : 0) +
    (BOUNCE_TEXT.test(notice) ? 1 : 0) +
    (header(h, 'return-path')?.trim() === '<>' ? 1 : 0);

  // RFC 3834 automatic replies: only when nothing says this is a failure report.
  if (bounceSignals < 2 && isAutoReply(h, subject)) {
    const from = addressesIn(bounceFrom)[0] ?? null;
    const record = buildRecord({
      ...blankFacts(original),
      recipient: from,
      diagnostic: squash(`${subject ?? ''} ${notice}`).slice(0, 300),
      forceReason: 'vacation',
    });
    return finish('auto-reply', [record], original, reporter, warnings);
  }

  // Pasted text without headers was given to us as a bounce: an error code, a recipient line or a
  // known refusal phrase is enough. A whole message needs stronger signs (it may be ordinary mail).
  const pasted = view.headers.length === 0;
  const errorLike =
    /\b[45]\.\d{1,3}\.\d{1,3}\b|(?:^|\s)[45][0-5]\d[ -]/.test(notice) ||
    PHRASE_RULES.some((r) => phraseMatches(r, notice));
  const usable = pasted
    ? errorLike || textRecipients.length > 0
    : bounceSignals >= 2 || (bounceSignals >= 1 && textRecipients.length > 0 && /\b[245]\d\d\b/.test(notice));
  if (!usable) {
    throw new BounceInputError(
      'not_a_bounce',
      `No bounce found: this does not look like a non-delivery report, a delivery status notification or an SMTP error reply. ${BOUNCE_ACCEPTS}`,
    );
  }

  const action =
    DELAY_TEXT.test(notice) && !/permanent|gave up|giving up|given up|failed permanently/i.test(notice)
      ? 'delayed'
      : 'failed';
  let recipients: TextRecipient[] = textRecipients;
  if (recipients.length === 0) {
    // The notice names no recipient: the returned message's To is the best guess when it has one.
    const guess = original.to.length === 1 ? original.to[0]! : null;
    recipients = [{ recipient: guess ?? '', originalRecipient: null, block: '' }];
  }
  const records = recipients.slice(0, MAX_RECORDS).map((r) => {
    const diagnostic = diagnosticOf(r.block, notes, r.recipient);
    return buildRecord({
      ...blankFacts(original),
      recipient: r.recipient || null,
      originalRecipient: r.originalRecipient,
      action,
      diagnostic,
      context: notes.context,
      sharedContext: recipients.length > 1,
      remoteMta: r.block ? notes.remoteIn(r.block) : notes.remoteMta,
    });
  });
  return finish('ndr', records, original, reporter, warnings);
}

function finish(
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

function isAutoReply(h: readonly HeaderField[], subject: string | null): boolean {
  const auto = header(h, 'auto-submitted')?.toLowerCase() ?? '';
  return (
    auto.startsWith('auto-replied') ||
    header(h, 'x-autoreply') !== null ||
    header(h, 'x-autorespond') !== null ||
    /auto[_-]?reply/i.test(header(h, 'precedence') ?? '') ||
    /vacation/i.test(header(h, 'x-apple-action') ?? '') ||
    (subject !== null && AUTO_REPLY_SUBJECT.test(subject))
  );
}

/** Addresses that are the sender's, not recipients: the bounce's To, the original From and Return-Path. */
function senderAddresses(view: MessageView, original: Original): Set<string> {
  const out = new Set<string>();
  for (const name of ['to', 'delivered-to', 'x-original-to', 'envelope-to', 'return-path']) {
    for (const v of headers(view.headers, name)) for (const a of addressesIn(v)) out.add(a.toLowerCase());
  }
  for (const a of [original.from, original.sender]) if (a) out.add(a.toLowerCase());
  // Never exclude a recipient that the original message was addressed to.
  for (const a of original.to) out.delete(a.toLowerCase());
  return out;
}

/**
 * The notice (the report's text before the returned message) and what the records read from
 * it, each worked out once however many records there are.
 */
class Notice {
  #context?: string;
  #plain?: string;
  #remote?: string | null;
  readonly #replies = new Map<string, string>();
  readonly #blocks = new Map<string, BlockText>();
  readonly #plainBlocks = new Map<string, BlockText>();
  readonly #remotes = new Map<string, string | null>();
  constructor(readonly text: string) {}
  /**
   * A recipient's text read for its diagnostic (without the trailer paragraphs when `trailers`
   * is true), once per distinct text: recipients named on one line share that line.
   */
  block(text: string, trailers = true): BlockText {
    const memo = trailers ? this.#blocks : this.#plainBlocks;
    let b = memo.get(text);
    if (!b) {
      const flat = squash(trailers ? withoutTrailer(text) : text);
      b = { flat, bare: flat.replace(/[<>:]/g, '').trim(), joined: joinMultiline(flat) };
      memo.set(text, b);
    }
    return b;
  }
  /** findRemoteMta of a recipient's text, once per distinct text. */
  remoteIn(text: string): string | null {
    let r = this.#remotes.get(text);
    if (r === undefined) this.#remotes.set(text, (r = findRemoteMta(text)));
    return r;
  }
  /** Whitespace-normalised, at most 4000 characters: the context of a record without its own text. */
  get context(): string {
    return (this.#context ??= squash(this.text).slice(0, 4000));
  }
  /** Without the greeting lines (stripBoilerplate). */
  get withoutBoilerplate(): string {
    return (this.#plain ??= stripBoilerplate(this.text));
  }
  get remoteMta(): string | null {
    if (this.#remote === undefined) this.#remote = findRemoteMta(this.text);
    return this.#remote;
  }
  /** replyLines of the notice, per code. */
  replyLines(code: string): string {
    let lines = this.#replies.get(code);
    if (lines === undefined) this.#replies.set(code, (lines = replyLines(this.text, code)));
    return lines;
  }
}

interface BlockText {
  /** Whitespace-normalised (squash). */
  flat: string;
  /** flat without "<", ">" and ":": equal to the address when the text is only the address. */
  bare: string;
  /** flat with a multi-line reply joined (joinMultiline). */
  joined: string;
}

/** The lines of a text that are lines of a reply with this code ("550-…", "<<< 550 …"), joined. */
function replyLines(text: string, code: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s*(?:<<<\s*)?/, ''))
    .filter((l) => l.startsWith(`${code}-`) || l.startsWith(`${code} `))
    .join(' ');
}

/**
 * Paragraphs MTAs put after the per-recipient reasons (Exim's delay warning: "No action is
 * required on your part. Delivery attempts will continue…"): the reason ends where they start.
 */
const TRAILERS = [
  /^[ \t]*(?:no action is required on your part|delivery attempts will continue|eventually the mail delivery software will give up|this warning may be repeated|you will be notified if|please do not reply to this (?:message|e-?mail))/i,
];

function withoutTrailer(block: string): string {
  const m = firstMatchingLine(block, TRAILERS);
  return m ? block.slice(0, m.index) : block;
}

function diagnosticOf(block: string, notice: Notice, recipient: string): string {
  const own = notice.block(block);
  const flat =
    !own.flat || own.bare === recipient ? notice.block(notice.withoutBoilerplate, false).joined : own.joined;
  const withoutAddress = recipient
    ? flat.replace(new RegExp(`^\\W*${escapeRe(recipient)}>?\\s*:?\\s*`, 'i'), '')
    : flat;
  return withoutAddress.slice(0, MAX_DIAGNOSTIC);
}

/** Drops the greeting lines most MTAs put before the reason. */
function stripBoilerplate(notice: string): string {
  return notice
    .split(/\r?\n/)
    .filter(
      (l) =>
        !/^(?:this is the (?:mail system|qmail-send program|postfix program)|i'?m sorry to have to inform you|for further assistance|if you do so, please include|delete your own text|the mail system|this message was created automatically|hi\. this is the)/i.test(
          l.trim(),
        ),
    )
    .join('\n');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// DSN records

/**
 * The records of the RFC 3464 reports (only the first MAX_RECORDS are built: a list server's
 * report can name thousands), each with the notice's text about its recipient.
 */
function dsnRecords(
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
    return buildRecord({
      ...blankFacts(original),
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
    });
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

// ---------------------------------------------------------------------------------------------
// Building one record

interface RecordFacts {
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
  /** The context is the whole report, shared by several recipients: its SMTP stage is not this one's. */
  sharedContext?: boolean;
}

function blankFacts(original: Original): RecordFacts {
  return {
    recipient: null,
    originalRecipient: null,
    action: null,
    dsnStatus: null,
    diagnostic: '',
    context: '',
    diagnosticType: null,
    remoteMta: null,
    reportingMta: null,
    lastAttemptDate: null,
    willRetryUntil: null,
    original,
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
};
const contextFacts = {
  replyCode: lastOf(findReplyCode),
  status: lastOf(findStatus),
  command: lastOf(findCommand),
};

function buildRecord(f: RecordFacts): BounceRecord {
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
    action,
    diagnosticType: f.diagnosticType,
  };
  const c = f.forceReason
    ? {
        reason: f.forceReason,
        confidence: 0.9,
        matched: ['rule:report_type'],
        permanent: false,
        hard: false,
        derivedStatus: null,
      }
    : classify(input);
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
    action: f.forceReason ? null : (action ?? (c.permanent ? 'failed' : null)),
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

/** A deciding phrase's own advice (see PhraseRule.advice), when it has any. */
function withAdvice(e: Explanation, reason: Reason, matched: string[]): Explanation {
  const rule = PHRASE_RULES.find(
    (r) => r.advice && r.reason === reason && matched.some((m) => m.endsWith(`:${r.id}`)),
  );
  if (!rule?.advice) return e;
  return { ...e, summary: `${e.summary} ${rule.advice.summary}`, nextSteps: rule.advice.steps };
}

// ---------------------------------------------------------------------------------------------
// The original message

function emptyOriginal(): Original {
  return {
    from: null,
    sender: null,
    to: [],
    subject: null,
    messageId: null,
    date: null,
    sendingIp: null,
    sendingHost: null,
    received: [],
    headersIncluded: false,
  };
}

/** Header fields of a returned message or header block, parsed without touching its body. */
function parseHeaderBlock(raw: string): HeaderField[] {
  const head = raw.replace(/^\s+/, '').split(/\r?\n\r?\n/, 1)[0] ?? '';
  const out: HeaderField[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      out[out.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const m = /^([\x21-\x39\x3b-\x7e]+)\s*:(.*)$/.exec(line);
    if (m) out.push({ name: m[1]!.toLowerCase(), value: m[2]!.trim() });
  }
  return out;
}

function buildOriginal(view: MessageView, inlineReturned: string | null): Original {
  const original = emptyOriginal();
  const raw = view.returned.length
    ? view.returned.map((b) => decodeText(b)).find((t) => t.trim())
    : inlineReturned;
  const fields = raw ? parseHeaderBlock(raw.replace(/^From \S[^\n]*\n/, '')) : [];
  if (!raw || fields.length === 0) {
    // Without the returned message, the bounce went to the original envelope sender.
    const to = header(view.headers, 'to');
    if (to) original.sender = addressesIn(to)[0] ?? null;
    return original;
  }
  original.headersIncluded = true;
  const first = (n: string): string | null => header(fields, n);
  original.from = addressesIn(decodeHeader(first('from') ?? ''))[0] ?? null;
  original.sender =
    addressesIn(first('return-path') ?? '')[0] ?? addressesIn(header(view.headers, 'to') ?? '')[0] ?? null;
  original.to = [...new Set(headers(fields, 'to').flatMap((v) => addressesIn(v)))];
  original.subject = first('subject') !== null ? decodeHeader(first('subject')!) : null;
  original.messageId = first('message-id')?.match(/<[^<>]+>/)?.[0] ?? first('message-id');
  original.date = isoDate(first('date'));
  original.received = headers(fields, 'received').slice(0, MAX_HOPS).map(parseReceived);
  const hop = sendingHop(original.received);
  original.sendingIp = hop?.ip ?? null;
  original.sendingHost = hop?.from ?? null;
  original.dkimSignatures = headers(fields, 'dkim-signature')
    .map(dkimSignatureRef)
    .filter((r): r is DkimSignatureRef => r !== null)
    .slice(0, MAX_DKIM_SIGNATURES);
  original.headers = displayHeaders(raw.replace(/^From \S[^\n]*\n/, ''));
  return original;
}

/** At most this many DKIM signatures are reported (a message normally has one to three). */
const MAX_DKIM_SIGNATURES = 5;
/** At most this many header fields are kept for display, each at most this long. */
const MAX_HEADER_FIELDS = 200;
const MAX_HEADER_VALUE = 4000;

/**
 * The signing domain and selector of a DKIM-Signature field (RFC 6376 §3.5 tag list), or null
 * when either is missing or malformed. Only what the key lookup needs: the signature itself
 * cannot be verified without the original body.
 */
export function dkimSignatureRef(value: string): DkimSignatureRef | null {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).replace(/\s+/g, '').toLowerCase();
    if (!tags.has(name)) tags.set(name, part.slice(eq + 1).replace(/\s+/g, ''));
  }
  const domain = (tags.get('d') ?? '').toLowerCase().replace(/\.$/, '');
  const selector = (tags.get('s') ?? '').toLowerCase();
  const label = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
  const valid = (name: string): boolean =>
    name.length > 0 && name.length <= 253 && name.split('.').every((l) => label.test(l));
  if (!valid(domain) || !domain.includes('.') || !valid(selector)) return null;
  const algorithm = tags.get('a')?.toLowerCase() ?? null;
  return { domain, selector, algorithm: algorithm && /^[a-z0-9-]{1,40}$/.test(algorithm) ? algorithm : null };
}

/** The header fields of a returned message as written (name case kept), unfolded and bounded. */
function displayHeaders(raw: string): HeaderLine[] {
  const head = raw.replace(/^\s+/, '').split(/\r?\n\r?\n/, 1)[0] ?? '';
  const out: HeaderLine[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      const last = out[out.length - 1]!;
      if (last.value.length < MAX_HEADER_VALUE) last.value += ` ${line.trim()}`;
      continue;
    }
    const m = /^([\x21-\x39\x3b-\x7e]+)\s*:(.*)$/.exec(line);
    if (!m) continue;
    if (out.length >= MAX_HEADER_FIELDS) break;
    out.push({ name: m[1]!, value: m[2]!.trim() });
  }
  for (const h of out) {
    h.value = decodeHeader(h.value);
    if (h.value.length > MAX_HEADER_VALUE) h.value = `${h.value.slice(0, MAX_HEADER_VALUE - 1)}…`;
  }
  return out;
}

function decodeHeader(value: string): string {
  return decodeEncodedWords(value).trim();
}

/**
 * A date without its trailing comment ("… +0000 (UTC)"): what `/\s+\([^)]*\)\s*$/` removes,
 * found by scanning back from the end instead of trying the pattern at every space.
 */
function withoutTrailingComment(value: string): string {
  const end = value.trimEnd();
  if (!end.endsWith(')')) return value;
  // The comment holds no ")": it opens after the previous one, at the first "(" after a space.
  const after = end.lastIndexOf(')', end.length - 2) + 1;
  for (let open = end.indexOf('(', after); open >= 0; open = end.indexOf('(', open + 1)) {
    let start = open;
    while (start > 0 && /\s/.test(end[start - 1]!)) start--;
    if (start < open) return value.slice(0, start);
  }
  return value;
}

function isoDate(value: string | null): string | null {
  if (!value) return null;
  const t = Date.parse(withoutTrailingComment(value));
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Feedback reports

function feedbackRecords(
  view: MessageView,
  original: Original,
  contentType: string,
  subject: string | null,
): BounceRecord[] | null {
  const isArf = view.feedbackReports.length > 0 || /report-type=["']?feedback-report/i.test(contentType);
  const returnedHeaders = view.returned.length ? parseHeaderBlock(decodeText(view.returned[0]!)) : [];
  const jmrp = header(returnedHeaders, 'x-hmxmroriginalrecipient');
  const complaintSubject = subject !== null && /^\s*complaint about message from/i.test(subject);
  if (!isArf && !jmrp && !complaintSubject) return null;
  const fields = view.feedbackReports.length ? parseHeaderBlock(view.feedbackReports[0]!) : [];
  const type = header(fields, 'feedback-type') ?? 'abuse';
  const rcpts = headers(fields, 'original-rcpt-to').flatMap((v) => addressesIn(v));
  if (rcpts.length === 0 && jmrp) rcpts.push(...addressesIn(jmrp));
  if (rcpts.length === 0) rcpts.push(...original.to);
  const sourceIp = header(fields, 'source-ip');
  if (sourceIp && !original.sendingIp) original.sendingIp = sourceIp.trim();
  const mailFrom = header(fields, 'original-mail-from');
  if (mailFrom && !original.sender) original.sender = addressesIn(mailFrom)[0] ?? null;
  const agent = header(fields, 'user-agent');
  const diagnostic = squash(
    `Feedback-Type: ${type}${agent ? `; User-Agent: ${agent}` : ''}${sourceIp ? `; Source-IP: ${sourceIp}` : ''}`,
  );
  const list = rcpts.length ? [...new Set(rcpts)] : [null];
  return list.map((recipient) =>
    buildRecord({
      ...blankFacts(original),
      recipient,
      diagnostic,
      forceReason: 'feedback',
      reportingMta: header(fields, 'reporting-mta'),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Amazon SES notifications (JSON, documented in the SES Developer Guide: "Contents of
// notifications for Amazon SES"), delivered by e-mail through SNS or pasted directly.

interface SesResult {
  kind: Kind;
  records: (original: Original) => BounceRecord[];
}

function sesNotification(text: string): SesResult | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start || end - start > 1_000_000) return null;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text.slice(start, end + 1).replace(/!\r?\n\s?/g, '')) as Record<string, unknown>;
  } catch {
    return null;
  }
  const type = String(json.notificationType ?? json.eventType ?? '');
  if (!['Bounce', 'Complaint', 'Delivery', 'DeliveryDelay'].includes(type)) return null;
  const mail = (json.mail ?? {}) as {
    source?: string;
    commonHeaders?: { subject?: string; from?: string[]; to?: string[]; messageId?: string; date?: string };
  };
  const fill = (original: Original): void => {
    original.sender ??= mail.source ?? null;
    original.from ??= addressesIn((mail.commonHeaders?.from ?? []).join(' '))[0] ?? null;
    if (original.to.length === 0) original.to = addressesIn((mail.commonHeaders?.to ?? []).join(' '));
    original.subject ??= mail.commonHeaders?.subject ?? null;
    original.messageId ??= mail.commonHeaders?.messageId ?? null;
  };
  if (type === 'Complaint') {
    const c = (json.complaint ?? {}) as {
      complainedRecipients?: { emailAddress?: string }[];
      complaintFeedbackType?: string;
      userAgent?: string;
    };
    return {
      kind: 'feedback',
      records: (original) => {
        fill(original);
        return (c.complainedRecipients ?? []).map((r) =>
          buildRecord({
            ...blankFacts(original),
            recipient: r.emailAddress ?? null,
            diagnostic: squash(
              `Amazon SES complaint${c.complaintFeedbackType ? `: ${c.complaintFeedbackType}` : ''}${c.userAgent ? ` (${c.userAgent})` : ''}`,
            ),
            forceReason: 'feedback',
          }),
        );
      },
    };
  }
  if (type === 'Delivery' || type === 'DeliveryDelay') {
    const d = (json.delivery ?? json.deliveryDelay ?? {}) as {
      recipients?: string[];
      delayedRecipients?: { emailAddress?: string; status?: string; diagnosticCode?: string }[];
      smtpResponse?: string;
      reportingMTA?: string;
    };
    const rcpts = d.recipients ?? (d.delayedRecipients ?? []).map((r) => r.emailAddress ?? '');
    return {
      kind: 'dsn',
      records: (original) => {
        fill(original);
        return rcpts.map((recipient) =>
          buildRecord({
            ...blankFacts(original),
            recipient,
            action: type === 'Delivery' ? 'delivered' : 'delayed',
            diagnostic: squash(d.smtpResponse ?? (type === 'Delivery' ? 'Delivered' : 'Delivery delayed')),
            reportingMta: d.reportingMTA ?? null,
          }),
        );
      },
    };
  }
  const b = (json.bounce ?? {}) as {
    bounceType?: string;
    bounceSubType?: string;
    reportingMTA?: string;
    remoteMtaIp?: string;
    bouncedRecipients?: {
      emailAddress?: string;
      action?: string;
      status?: string;
      diagnosticCode?: string;
    }[];
  };
  return {
    kind: 'ndr',
    records: (original) => {
      fill(original);
      return (b.bouncedRecipients ?? []).map((r) => {
        const diag = r.diagnosticCode ? typedValue(r.diagnosticCode).value : '';
        const sub = b.bounceSubType ?? '';
        return buildRecord({
          ...blankFacts(original),
          recipient: r.emailAddress ?? null,
          action: r.action ?? (b.bounceType === 'Transient' ? 'failed' : 'failed'),
          dsnStatus: r.status ?? null,
          diagnostic: squash(diag || `Amazon SES ${b.bounceType ?? ''} bounce ${sub}`.trim()),
          context: squash(
            `Amazon SES bounceType ${b.bounceType ?? ''} bounceSubType ${sub}${/suppress/i.test(sub) ? ' suppression list' : ''}`,
          ),
          reportingMta: b.reportingMTA ? typedValue(b.reportingMTA).value : null,
          remoteMta: b.remoteMtaIp ?? null,
        });
      });
    },
  };
}
