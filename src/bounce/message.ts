import { findInlineDeliveryStatus, parseDeliveryStatus, typedValue } from './dsn.js';
import { dsnRecords } from './dsn-records.js';
import { BounceInputError, BOUNCE_ACCEPTS } from './errors.js';
import { feedbackRecords } from './feedback.js';
import { header, headers } from './mime.js';
import type { HeaderField, MessageView } from './mime.js';
import type { Diagnosis, Original } from './model.js';
import { addressesIn, extractRecipients, splitReturned } from './ndr.js';
import type { TextRecipient } from './ndr.js';
import { Notice, diagnosticOf } from './notice.js';
import { buildOriginal, isoDate } from './original.js';
import { PHRASE_RULES, anyPhrase } from './patterns.js';
import { MAX_RECORDS, buildRecord, finish, recordFacts } from './record.js';
import { squash } from './reply.js';
import { sesNotification } from './ses.js';

/**
 * A message or pasted text as a bounce: which kind of report it is (an Amazon SES
 * notification, an ARF complaint, an RFC 3464 report, an automatic reply, a human-readable
 * notice) and its records. Ordinary mail is refused as not a bounce.
 */

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

/** Whether a phrase rule is in a pasted text (screened by the rules' literals, as the classifier reads them). */
const anyRefusalPhrase = anyPhrase(PHRASE_RULES);

export function fromMessage(view: MessageView): Diagnosis {
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
    (header(h, 'return-path')?.trim() === '<>' ? 1 : 0) +
    // A message handed back inside the report (message/rfc822, text/rfc822-headers): a notice
    // in a language or layout nothing here knows is still recognisable by what it returns.
    (view.returned.length > 0 ? 1 : 0);

  // RFC 3834 automatic replies: only when nothing says this is a failure report.
  if (bounceSignals < 2 && isAutoReply(h, subject)) {
    const from = addressesIn(bounceFrom)[0] ?? null;
    const record = buildRecord(
      recordFacts(original, {
        recipient: from,
        diagnostic: squash(`${subject ?? ''} ${notice}`).slice(0, 300),
        forceReason: 'vacation',
      }),
    );
    return finish('auto-reply', [record], original, reporter, warnings);
  }

  // Pasted text without headers was given to us as a bounce: an error code, a recipient line or a
  // known refusal phrase is enough. A whole message needs stronger signs (it may be ordinary mail).
  // (Pasted text only: running every phrase rule over a whole message's notice was wasted work.)
  const pasted = view.headers.length === 0;
  const errorLike = (): boolean =>
    /\b[45]\.\d{1,3}\.\d{1,3}\b|(?:^|\s)[45][0-5]\d[ -]/.test(notice) || anyRefusalPhrase(notice);
  const usable = pasted
    ? textRecipients.length > 0 || errorLike()
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
    return buildRecord(
      recordFacts(original, {
        recipient: r.recipient || null,
        originalRecipient: r.originalRecipient,
        action,
        diagnostic,
        context: notes.context,
        sharedContext: recipients.length > 1,
        remoteMta: r.block ? notes.remoteIn(r.block) : notes.remoteMta,
      }),
    );
  });
  return finish('ndr', records, original, reporter, warnings);
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

/** Header fields of a bounce that name the original sender (to whom the bounce goes). */
const SENDER_FIELDS: ReadonlySet<string> = new Set([
  'to',
  'delivered-to',
  'x-original-to',
  'envelope-to',
  'return-path',
]);

/** Addresses that are the sender's, not recipients: the bounce's To, the original From and Return-Path. */
function senderAddresses(view: MessageView, original: Original): Set<string> {
  const out = new Set<string>();
  // One pass over the bounce's header, not one per field name.
  for (let i = 0; i < view.headers.length; i++) {
    const f = view.headers[i]!;
    if (SENDER_FIELDS.has(f.name)) for (const a of addressesIn(f.value)) out.add(a.toLowerCase());
  }
  for (const a of [original.from, original.sender]) if (a) out.add(a.toLowerCase());
  // Never exclude a recipient that the original message was addressed to.
  for (const a of original.to) out.delete(a.toLowerCase());
  return out;
}
