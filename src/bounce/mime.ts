import { isUtf8 } from 'node:buffer';
import { decodeBody, decodeCharset, decodeFlowed, plainText, typeByExtension } from './mime-decode.js';
import { readStructure } from './mime-reader.js';
import type { LeafPart } from './mime-reader.js';

/**
 * The MIME layer: bytes in, the parts a bounce diagnosis needs out — the human-readable
 * text, RFC 3464 delivery-status bodies, ARF feedback reports and the returned original
 * message or headers. mime-reader.ts reads the structure (synchronously, bounded, linear);
 * this module decides what each part is for, decodes only those parts, and never lets a
 * malformed message throw. Which parts make the text follows mailparser, which the bounce
 * path used before: inline text/plain parts in order, an HTML part where no plain text
 * stands for it, text attachments after them.
 */

export interface HeaderField {
  name: string;
  /** Unfolded, RFC 2047-decoded value. */
  value: string;
}

export interface MessageView {
  /** Every header field of the top-level message, in order. */
  headers: HeaderField[];
  /** The human-readable text (text/plain, or text converted from HTML). */
  text: string;
  /** Bodies of message/delivery-status and message/global-delivery-status parts. */
  deliveryStatus: string[];
  /** Bodies of message/feedback-report parts (ARF, RFC 5965). */
  feedbackReports: string[];
  /** Returned message or headers (message/rfc822, message/global, text/rfc822-headers …): its header section, raw. */
  returned: Buffer[];
  /** Whether the top level is a MIME message (has a Content-Type). */
  mime: boolean;
  warnings: string[];
}

const RETURNED_TYPES = new Set([
  'message/rfc822',
  'message/global',
  'text/rfc822-headers',
  'message/rfc822-headers',
  'message/global-headers',
  'message/partial',
]);

/** Text kept from one message at most, in characters (the input limit is 5 MiB by default). */
const MAX_TEXT = 8 * 1024 * 1024;
/** Encoded bytes of a returned message decoded at most: only its header section is used. */
const MAX_RETURNED_SCAN = 2 * 1024 * 1024;
/** Bytes of a returned header section kept at most. */
const MAX_RETURNED_HEADER = 1024 * 1024;

/** Raw 8-bit header bytes (read as Latin-1) that are really UTF-8, re-decoded. */
function eightBit(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  // Characters past Latin-1 cannot be raw bytes: such a value was decoded already.
  if (bytes.toString('latin1') !== value) return value;
  return isUtf8(bytes) ? bytes.toString('utf8') : value;
}

const NON_ASCII = /[\x80-\uffff]/;

const ENCODED_WORD = /=\?([^?*]+)(?:\*[^?]*)?\?([bqBQ])\?([^?]*)\?=/g;

/** The bytes of one encoded word's text (RFC 2047 §4: B is base64, Q is quoted-printable-like). */
function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64');
  return Buffer.from(
    text
      .replace(/_/g, ' ')
      .replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
}

/**
 * RFC 2047 encoded words in a header value, decoded tolerantly. White space between two
 * encoded words is dropped (§6.2), and adjacent words in one charset are decoded together:
 * real mailers split a multi-byte character across two words, which §5 forbids. Unknown
 * charsets are read as UTF-8 where valid, else Latin-1, and named to `onUnknown`; malformed
 * words stay as they are.
 */
export function decodeEncodedWords(value: string, onUnknown?: (charset: string) => void): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let run: { charset: string; bytes: Buffer[] } | undefined;
  const flush = (): void => {
    if (run) {
      const decoded = decodeCharset(Buffer.concat(run.bytes), run.charset);
      if (decoded.unknown) onUnknown?.(run.charset);
      out += decoded.text;
    }
    run = undefined;
  };
  for (const m of value.matchAll(ENCODED_WORD)) {
    const gap = value.slice(last, m.index);
    if (!(run && /^\s*$/.test(gap))) {
      flush();
      out += gap;
    }
    const charset = m[1]!;
    let bytes: Buffer;
    try {
      bytes = wordBytes(m[2]!, m[3]!);
    } catch {
      flush();
      out += m[0];
      last = m.index + m[0].length;
      continue;
    }
    if (run && run.charset.toLowerCase() !== charset.toLowerCase()) flush();
    run ??= { charset, bytes: [] };
    run.bytes.push(bytes);
    last = m.index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}

// header and headers loop by index: a diagnosis asks for some twenty fields of a few header
// sections, mostly before the optimising compiler has these loops, where each closure
// called is a call and find/filter/map each allocate.

/** The first value of a header, or null. */
export function header(fields: readonly HeaderField[], name: string): string | null {
  const n = name.toLowerCase();
  for (let i = 0; i < fields.length; i++) if (fields[i]!.name === n) return fields[i]!.value;
  return null;
}

/** Every value of a header, in order. */
export function headers(fields: readonly HeaderField[], name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < fields.length; i++) if (fields[i]!.name === n) out.push(fields[i]!.value);
  return out;
}

/** Does the input start like an Internet message (a header field or an mbox "From " line)? */
export function looksLikeMessage(text: string): boolean {
  const first =
    text
      .replace(/^\uFEFF/, '')
      .replace(/^\s*\n/, '')
      .split(/\r?\n/, 1)[0] ?? '';
  return /^From \S/.test(first) || /^[A-Za-z0-9][A-Za-z0-9-]{0,75}:[ \t]*\S?/.test(first);
}

/** Removes an mbox "From " envelope line, which is not part of RFC 5322. */
export function stripMbox(bytes: Buffer): Buffer {
  if (bytes.subarray(0, 5).toString('latin1') !== 'From ') return bytes;
  const nl = bytes.indexOf(0x0a);
  return nl < 0 ? bytes : bytes.subarray(nl + 1);
}

/** Parses a message and classifies its parts. Synchronous; never throws for malformed input. */
export function readMessage(bytes: Buffer): MessageView {
  const message = stripMbox(bytes);
  const structure = readStructure(message);
  const warnings = structure.warnings;
  const unknown = new Set<string>();
  const onUnknown = (charset: string): void => {
    unknown.add(charset.trim().toLowerCase());
  };
  const view: MessageView = {
    headers: structure.headers.map((f) => ({
      name: f.name,
      value: decodeEncodedWords(eightBit(f.value.trim()), onUnknown),
    })),
    text: '',
    deliveryStatus: [],
    feedbackReports: [],
    returned: [],
    mime: structure.mime,
    warnings,
  };
  const leaves = structure.leaves.map((leaf) => {
    const r = role(leaf);
    return { leaf, inline: r.inline, type: r.type };
  });
  // As mailparser: an HTML part gives text when no plain text part stands beside it.
  const hasText = leaves.some((p) => p.inline && p.leaf.type === 'text/plain');
  const texts: string[] = [];
  const htmls: string[] = [];
  const extraTexts: string[] = [];
  let textSize = 0;
  let textCapped = false;
  const keep = (list: string[], text: string): void => {
    if (textSize + text.length > MAX_TEXT) {
      if (!textCapped)
        warnings.push(
          `The text of the message is longer than ${MAX_TEXT / 1024 / 1024} MiB; the rest was not read.`,
        );
      textCapped = true;
      text = text.slice(0, Math.max(0, MAX_TEXT - textSize));
    }
    textSize += text.length;
    if (text) list.push(text);
  };
  for (const { leaf, inline, type } of leaves) {
    if (textCapped && (type === 'text/plain' || type === 'text/html')) continue;
    if (inline) {
      const text = partText(message, leaf, onUnknown).replace(/\r\n/g, '\n');
      if (!text) continue;
      if (type === 'text/plain') keep(texts, text);
      else {
        if ((!leaf.inAlternative && hasText) || (leaf.root && !hasText)) keep(texts, htmlToText(text));
        keep(htmls, text);
      }
    } else if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
      view.deliveryStatus.push(plainText(decodeBody(message, leaf.start, leaf.end, leaf.encoding)));
    } else if (type === 'message/feedback-report') {
      view.feedbackReports.push(plainText(decodeBody(message, leaf.start, leaf.end, leaf.encoding)));
    } else if (RETURNED_TYPES.has(type)) {
      const encoded = leaf.encoding === 'base64' || leaf.encoding === 'quoted-printable';
      const end = encoded ? Math.min(leaf.end, leaf.start + MAX_RETURNED_SCAN) : leaf.end;
      view.returned.push(headerSection(decodeBody(message, leaf.start, end, leaf.encoding)));
    } else if (type === 'text/plain' || type === 'text/html') {
      const text = partText(message, leaf, onUnknown);
      keep(extraTexts, type === 'text/html' ? htmlToText(text) : text);
    }
  }
  view.text = texts.join('\n');
  if (!view.text && htmls.length) view.text = htmlToText(htmls.join('<br/>\n'));
  if (!view.text.trim() && view.deliveryStatus.length === 0 && view.returned.length === 0) {
    // Nothing came out of the MIME structure (boundaries that do not match, say): read the body as text.
    const at = bytes.indexOf('\n\n') >= 0 ? bytes.indexOf('\n\n') : bytes.indexOf('\r\n\r\n');
    if (at >= 0) {
      view.text = decodeText(bytes.subarray(at, at + MAX_TEXT));
      if (view.mime)
        warnings.push('The MIME structure is broken (parts not found); the body was read as plain text.');
    }
  }
  if (extraTexts.length) view.text = [view.text, ...extraTexts].filter(Boolean).join('\n\n');
  for (const charset of unknown)
    warnings.push(
      `The charset "${charset.slice(0, 40)}" is unknown; its text was read as UTF-8 where valid, else as Latin-1.`,
    );
  return view;
}

/**
 * What a leaf part is for, as mailparser decided: text/plain and text/html are inline text
 * unless their disposition says otherwise (any disposition but "inline" counts as an
 * attachment); everything else is an attachment, typed by its file name when it is only
 * application/octet-stream.
 */
function role(leaf: LeafPart): { inline: boolean; type: string } {
  const textType = leaf.type === 'text/plain' || leaf.type === 'text/html';
  const inline = textType && (leaf.disposition === null || leaf.disposition === 'inline');
  const type =
    !inline && leaf.type === 'application/octet-stream' && leaf.filename
      ? (typeByExtension(leaf.filename) ?? leaf.type)
      : leaf.type;
  return { inline, type };
}

/** A text part decoded: transfer encoding, format=flowed (text/plain only), then its charset. */
function partText(message: Buffer, leaf: LeafPart, onUnknown: (charset: string) => void): string {
  let bytes = decodeBody(message, leaf.start, leaf.end, leaf.encoding);
  if (leaf.type === 'text/plain' && leaf.params.get('format')?.trim().toLowerCase() === 'flowed') {
    const delSp = leaf.params.get('delsp')?.trim().toLowerCase() === 'yes';
    bytes = Buffer.from(decodeFlowed(bytes.toString('latin1', 0, bytes.length), delSp), 'latin1');
  }
  const charset = leaf.params.get('charset');
  const decoded = decodeCharset(bytes, charset);
  if (decoded.unknown && charset) onUnknown(charset);
  return decoded.text;
}

/**
 * The header section of a returned message (all that is read of it): up to the empty line
 * after its first non-blank byte, at most MAX_RETURNED_HEADER bytes past it. Leading blank
 * lines are kept: the header parser skips them.
 */
function headerSection(bytes: Buffer): Buffer {
  let s = 0;
  while (
    s < bytes.length &&
    (bytes[s] === 0x20 || bytes[s] === 0x09 || bytes[s] === 0x0d || bytes[s] === 0x0a)
  )
    s++;
  const limit = Math.min(bytes.length, s + MAX_RETURNED_HEADER);
  const lf = bytes.indexOf(LF_LF, s);
  const crlf = bytes.indexOf(LF_CRLF, s);
  const cut = Math.min(lf < 0 ? limit : lf + 1, crlf < 0 ? limit : crlf + 1, limit);
  return bytes.subarray(0, cut);
}

const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');

/** Bytes to text: the declared charset (when Node knows it), else UTF-8 when valid, else Latin-1. */
export function decodeText(bytes: Buffer, charset?: string): string {
  return decodeCharset(bytes, charset).text;
}

/** A crude but safe HTML-to-text for HTML parts (the notice itself when it has no plain text, and text attachments). */
function htmlToText(html: string): string {
  return withoutTags(withoutScripts(html).replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n'))
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * `<script>` and `<style>` elements removed, as `/<(script|style)[\s\S]*?<\/\1>/gi` would —
 * each opening tag up to the first closing tag of its name — but in one pass: once a name has
 * no closing tag left, no later opening tag of that name is searched again.
 */
function withoutScripts(html: string): string {
  const opening = /<(script|style)/gi;
  const unclosed = new Set<string>();
  let out = '';
  let copied = 0;
  for (let m = opening.exec(html); m; m = opening.exec(html)) {
    const name = m[1]!.toLowerCase();
    if (unclosed.has(name)) continue;
    const closing = new RegExp(`</${name}>`, 'gi');
    closing.lastIndex = m.index + m[0].length;
    const close = closing.exec(html);
    if (!close) {
      unclosed.add(name);
      opening.lastIndex = m.index + 1;
      continue;
    }
    out += html.slice(copied, m.index);
    copied = close.index + close[0].length;
    opening.lastIndex = copied;
  }
  return out + html.slice(copied);
}

/** Tags removed, as `/<[^>]+>/g` would: each "<" up to the next ">" (when something is between). */
function withoutTags(text: string): string {
  let out = '';
  let copied = 0;
  for (let lt = text.indexOf('<'); lt >= 0;) {
    const gt = text.indexOf('>', lt + 1);
    if (gt < 0) break; // no ">" after this "<", so none after any later one either
    if (gt === lt + 1) {
      lt = text.indexOf('<', lt + 1);
      continue;
    }
    out += text.slice(copied, lt);
    copied = gt + 1;
    lt = text.indexOf('<', copied);
  }
  return out + text.slice(copied);
}
