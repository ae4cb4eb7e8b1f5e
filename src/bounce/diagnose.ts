import { BOUNCE_MAX_SIZE } from '../config/bounce-size.js';
import { BounceInputError, BOUNCE_ACCEPTS } from './errors.js';
import { MAX_MBOX_MESSAGES, mergeMbox, splitMbox } from './mbox.js';
import { fromMessage } from './message.js';
import { decodeText, looksLikeMessage, readMessage, stripMbox } from './mime.js';
import { BOUNCE_SCHEMA_VERSION } from './schema-version.js';
import type { Diagnosis } from './model.js';
import { addressesIn } from './ndr.js';
import { emptyOriginal } from './original.js';
import { buildRecord, recordFacts } from './record.js';
import { findRemoteMta, parseBareReply, squash } from './reply.js';
export { BounceInputError, BOUNCE_ACCEPTS };
export type { BounceInputErrorCode } from './errors.js';
export { MAX_RECORDS } from './record.js';

/**
 * diagnoseBounce: bytes in, a Diagnosis out. Pure (no I/O); safe on any input: a size limit,
 * no exceptions for malformed MIME, broken encodings or junk — only a BounceInputError with a
 * message for the user when the input is unusable (too large, empty, binary, not a bounce).
 * The work is done by: mbox.ts (several messages), message.ts (a message or pasted text and
 * the kind of report it is), dsn-records.ts, notice.ts, feedback.ts, ses.ts (each kind's
 * records), original.ts (the returned message), record.ts (one record, classified).
 */

/** The default of MXDOCTOR_BOUNCE_MAX_SIZE: 5 MiB. */
export const DEFAULT_MAX_BYTES = BOUNCE_MAX_SIZE.default;

export interface DiagnoseOptions {
  /** Input size limit in bytes. @defaultValue 5 MiB */
  maxBytes?: number;
}

export async function diagnoseBounce(
  input: Uint8Array | string,
  options: DiagnoseOptions = {},
): Promise<Diagnosis> {
  return diagnoseBounceSync(input, options);
}

/**
 * diagnoseBounce, answered at once (the parser does no I/O): for a mailbox run, which
 * diagnoses thousands of messages in a row and had a promise and a turn of the microtask
 * queue for each.
 */
export function diagnoseBounceSync(input: Uint8Array | string, options: DiagnoseOptions = {}): Diagnosis {
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
  if (isBlank(bytes)) {
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

/** Several messages (an mbox): every bounce among them, in order. */
function fromMbox(messages: Buffer[]): Diagnosis {
  const results: Diagnosis[] = [];
  let firstError: unknown = null;
  for (const m of messages.slice(0, MAX_MBOX_MESSAGES)) {
    try {
      results.push(diagnoseOne(m));
    } catch (err) {
      firstError ??= err;
    }
  }
  if (results.length === 0) throw firstError;
  return mergeMbox(messages.length, results);
}

function diagnoseOne(bytes: Buffer): Diagnosis {
  const stripped = stripMbox(bytes);
  // A message is read from its bytes: its text as a whole need not be decoded first.
  const head = asciiHead(stripped);
  if (head !== null && looksLikeMessage(head)) return fromMessage(readMessage(bytes));
  const asText = decodeText(stripped);
  if (looksLikeMessage(asText)) return fromMessage(readMessage(bytes));
  const reply = parseBareReply(asText);
  if (reply) return fromBareReply(reply.code, reply.status, reply.text, asText);
  return fromMessage({
    headers: [],
    text: asText,
    deliveryStatus: [],
    feedbackReports: [],
    returned: [],
    mime: false,
    warnings: [],
  });
}

/**
 * The start of the input up to the end of its first line that is not blank, when those bytes
 * are all ASCII (within the first 8 KiB): `looksLikeMessage` answers the same on it as on the
 * whole input decoded, since it reads that line only and every decoding reads ASCII bytes
 * alike. Null otherwise (then the whole input is decoded).
 */
function asciiHead(bytes: Buffer): string | null {
  const end = Math.min(bytes.length, 8192);
  let blank = true;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return null;
    if (b === 0x0a && !blank) return bytes.toString('latin1', 0, i + 1);
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) blank = false;
  }
  return null;
}

/** "5 MiB", "12 KiB", "300 bytes". */
export function formatSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** Nothing but white space (what String.prototype.trim removes of Latin-1 text: blanks, line ends, VT, FF, NBSP). */
function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (!(b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0)) return false;
  }
  return true;
}

/** The control characters isBinary counts: all but tab, LF, FF, CR and ESC (NUL among them). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is counted
const CONTROL = /[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]/;

/** More than 1 in 10 bytes of the start being control characters (not tab, CR, LF, ESC, FF), or many NULs. */
function isBinary(bytes: Buffer): boolean {
  const length = Math.min(bytes.length, 8192);
  // Text holds none, nearly always: one search of the start, as Latin-1 text, answers for it
  // (a NUL is a control character too) where the loop below stepped through every byte, most
  // of a mailbox run before the optimising compiler took it on (1% of the run's CPU).
  if (!CONTROL.test(bytes.toString('latin1', 0, length))) return false;
  let control = 0;
  let nul = 0;
  for (let i = 0; i < length; i++) {
    const b = bytes[i]!;
    if (b === 0) nul++;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b && b !== 0x0c) control++;
  }
  // A stray NUL happens in real bounces (a mailing-list footer); many do not.
  return control > length / 10 || (nul > 4 && nul > length / 200);
}

/** A bare SMTP reply ("550 5.1.1 <a@b>: User unknown"): one record. */
function fromBareReply(code: number, status: string | null, text: string, raw: string): Diagnosis {
  // The reply names the recipient, or the prefix before it does ("<a@b>: host … said: 550 …").
  const recipient = addressesIn(text)[0] ?? addressesIn(raw)[0] ?? null;
  const diagnostic = squash(`${code} ${status ? `${status} ` : ''}${text}`);
  const record = buildRecord(
    recordFacts(emptyOriginal(), {
      recipient,
      diagnostic,
      // What the paste says around the reply ("… failed after I sent the message. Remote host
      // said: …") tells the stage the reply answered.
      context: squash(raw) === diagnostic ? '' : squash(raw).slice(0, 4000),
      diagnosticType: 'smtp',
      remoteMta: findRemoteMta(raw),
      replyCode: code,
      bareReply: true,
    }),
  );
  return {
    schemaVersion: BOUNCE_SCHEMA_VERSION,
    kind: 'smtp-reply',
    bounces: [record],
    original: emptyOriginal(),
    reporter: { from: null, subject: null, date: null, reportingMta: null, arrivalDate: null },
    warnings: [],
  };
}
