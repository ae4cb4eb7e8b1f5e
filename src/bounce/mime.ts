import { simpleParser } from 'mailparser';
import type { AddressObject, ParsedMail, SimpleParserOptions } from 'mailparser';

/**
 * The MIME layer: bytes in, the parts a bounce diagnosis needs out — the human-readable
 * text, RFC 3464 delivery-status bodies, ARF feedback reports and the returned original
 * message or headers. mailparser does MIME, transfer encodings and charsets; this module
 * only decides what each part is for and never lets a malformed message throw.
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
  /** Returned message or headers (message/rfc822, message/global, text/rfc822-headers …), raw. */
  returned: Buffer[];
  /** Whether the top level is a MIME message (has a Content-Type). */
  mime: boolean;
  warnings: string[];
}

const PARSER_OPTIONS: SimpleParserOptions = {
  keepDeliveryStatus: true,
  ignoreEmbedded: true,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  checksumAlgo: false,
  keepCidLinks: true,
  maxHtmlLengthToParse: 2 * 1024 * 1024,
  maxChildNodes: 500,
};

const RETURNED_TYPES = new Set([
  'message/rfc822',
  'message/global',
  'text/rfc822-headers',
  'message/rfc822-headers',
  'message/global-headers',
  'message/partial',
]);

/** Header names and values of a parsed message, decoded, in order. */
function headerFields(parsed: ParsedMail): HeaderField[] {
  return parsed.headerLines.map(({ key, line }) => {
    const colon = line.indexOf(':');
    const raw = colon >= 0 ? line.slice(colon + 1) : '';
    return { name: key, value: decodeEncodedWords(eightBit(raw.replace(/\r?\n[ \t]+/g, ' ').trim())) };
  });
}

/** Raw 8-bit header bytes (read as Latin-1 by the parser) that are really UTF-8, re-decoded. */
function eightBit(value: string): string {
  if (!/[\x80-\xff]/.test(value) || [...value].some((c) => c.charCodeAt(0) > 0xff)) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

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
 * charsets fall back to UTF-8, then Latin-1 (decodeText); malformed words stay as they are.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let run: { charset: string; bytes: Buffer[] } | undefined;
  const flush = (): void => {
    if (run) out += decodeText(Buffer.concat(run.bytes), run.charset);
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

function normalizeCharset(charset: string): string {
  // RFC 2231 language suffix ("utf-8*en"): cut at the first "*".
  const lower = charset.toLowerCase();
  const star = lower.indexOf('*');
  const c = star < 0 ? lower : lower.slice(0, star);
  try {
    new TextDecoder(c);
    return c;
  } catch {
    return 'utf-8';
  }
}

/** The first value of a header, or null. */
export function header(fields: readonly HeaderField[], name: string): string | null {
  const n = name.toLowerCase();
  return fields.find((f) => f.name === n)?.value ?? null;
}

export function headers(fields: readonly HeaderField[], name: string): string[] {
  const n = name.toLowerCase();
  return fields.filter((f) => f.name === n).map((f) => f.value);
}

/** Mailparser's address object as plain addresses. */
export function addressesOf(value: AddressObject | AddressObject[] | undefined): string[] {
  if (!value) return [];
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  const walk = (entries: AddressObject['value']): void => {
    for (const e of entries) {
      if (e.address) out.push(e.address);
      if (e.group) walk(e.group);
    }
  };
  for (const obj of list) walk(obj.value);
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

/** Parses a message and classifies its parts. Never throws for malformed input. */
export async function readMessage(bytes: Buffer): Promise<MessageView> {
  const warnings: string[] = [];
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(stripMbox(bytes), PARSER_OPTIONS);
  } catch (err) {
    warnings.push(
      `The MIME structure could not be read (${(err as Error).message}); it was read as plain text.`,
    );
    return {
      headers: [],
      text: decodeText(bytes),
      deliveryStatus: [],
      feedbackReports: [],
      returned: [],
      mime: false,
      warnings,
    };
  }
  const fields = headerFields(parsed);
  const view: MessageView = {
    headers: fields,
    text: parsed.text ?? '',
    deliveryStatus: [],
    feedbackReports: [],
    returned: [],
    mime: header(fields, 'content-type') !== null,
    warnings,
  };
  if (parsed.textConversionError) warnings.push('An HTML part could not be converted to text.');
  const extraTexts: string[] = [];
  for (const att of parsed.attachments) {
    const type = att.contentType.toLowerCase();
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
      view.deliveryStatus.push(att.content.toString('utf8'));
    } else if (type === 'message/feedback-report') {
      view.feedbackReports.push(att.content.toString('utf8'));
    } else if (RETURNED_TYPES.has(type)) {
      view.returned.push(att.content);
    } else if (type === 'text/plain' || type === 'text/html') {
      const charset = (att.headers.get('content-type') as { params?: Record<string, string> } | undefined)
        ?.params?.charset;
      const decoded = decodeText(att.content, charset);
      extraTexts.push(type === 'text/html' ? htmlToText(decoded) : decoded);
    }
  }
  if (!view.text && parsed.html) view.text = htmlToText(parsed.html);
  if (!view.text.trim() && view.deliveryStatus.length === 0 && view.returned.length === 0) {
    // Nothing came out of the MIME structure (boundaries that do not match, say): read the body as text.
    const at = bytes.indexOf('\n\n') >= 0 ? bytes.indexOf('\n\n') : bytes.indexOf('\r\n\r\n');
    if (at >= 0) {
      view.text = decodeText(bytes.subarray(at));
      if (view.mime)
        warnings.push('The MIME structure is broken (parts not found); the body was read as plain text.');
    }
  }
  if (extraTexts.length) view.text = [view.text, ...extraTexts].filter(Boolean).join('\n\n');
  return view;
}

/** Bytes to text: the declared charset, else UTF-8 when valid, else Latin-1. */
export function decodeText(bytes: Buffer, charset?: string): string {
  if (charset) {
    try {
      return new TextDecoder(normalizeCharset(charset), { fatal: false }).decode(bytes);
    } catch {
      /* fall through */
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** A crude but safe HTML-to-text for text attachments (the main body goes through mailparser). */
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
