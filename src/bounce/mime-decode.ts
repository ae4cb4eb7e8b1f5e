import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

/**
 * The decoding half of the MIME reader (mime-reader.ts reads the structure): structured header
 * values and their RFC 2231 parameters, transfer encodings, format=flowed and charsets. Each
 * function is one linear pass over its input and never throws on malformed data.
 */

/** The few file types that matter to a bounce, by extension (as mailparser's table has them). */
export function typeByExtension(filename: string): string | null {
  const dot = filename.lastIndexOf('.');
  const ext =
    dot < 0
      ? ''
      : filename
          .slice(dot + 1)
          .trim()
          .toLowerCase();
  switch (ext) {
    case 'eml':
    case 'mime':
      return 'message/rfc822';
    case 'txt':
    case 'text':
    case 'log':
      return 'text/plain';
    case 'htm':
    case 'html':
      return 'text/html';
    default:
      return null;
  }
}

/**
 * A structured header value (RFC 2045 §5.1): the value before the first ";" and its parameters.
 * Quoted strings with backslash escapes, comments outside quotes dropped, what follows a closing
 * quote up to the ";" ignored, the first of a repeated parameter kept, RFC 2231 continuations
 * (`name*0*=`, `name*1=`) joined and `charset'lang'%XX` values decoded. One pass.
 */
export function parseHeaderValue(input: string): { value: string; params: Map<string, string> } {
  const raw = new Map<string, string>();
  let value: string | null = null;
  let i = 0;
  const n = input.length;
  // The value, then each parameter.
  for (;;) {
    let name = '';
    if (value !== null) {
      // Parameter name, up to "=" or ";".
      const s = i;
      while (i < n && input[i] !== '=' && input[i] !== ';') i++;
      name = stripComments(input.slice(s, i)).trim().toLowerCase();
      if (i >= n || input[i] === ';') {
        if (name && !raw.has(name)) raw.set(name, '');
        if (i >= n) break;
        i++;
        continue;
      }
      i++; // "="
    }
    // A token or a quoted string, up to ";".
    let text = '';
    let quoted = false;
    while (i < n && (input[i] === ' ' || input[i] === '\t')) i++;
    if (input[i] === '"') {
      quoted = true;
      i++;
      const parts: string[] = [];
      let s = i;
      while (i < n && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < n) {
          parts.push(input.slice(s, i));
          s = i + 1;
          i += 2;
          continue;
        }
        i++;
      }
      parts.push(input.slice(s, i));
      text = parts.join('');
      while (i < n && input[i] !== ';') i++;
    } else {
      const s = i;
      while (i < n && input[i] !== ';') i++;
      text = input.slice(s, i);
      // A comment after the token (not inside it: `name=a(1).pdf` keeps its parenthesis).
      text = value === null ? stripComments(text) : stripTrailingComment(text);
    }
    if (!quoted) text = text.trim();
    if (value === null) value = text;
    else if (name && !raw.has(name)) raw.set(name, text);
    if (i >= n) break;
    i++; // ";"
  }
  return { value: (value ?? '').trim(), params: joinContinuations(raw) };
}

/** Comments "( … )" removed, nested ones too; an unclosed one runs to the end. */
function stripComments(text: string): string {
  if (!text.includes('(')) return text;
  let out = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** A token's trailing " (comment)" removed: only a "(" after a blank opens one. */
function stripTrailingComment(text: string): string {
  const open = text.search(/[ \t]\(/);
  return open < 0 ? text : text.slice(0, open);
}

/** RFC 2231 §3–4: `name*0`, `name*1`… joined in order; a `*` after the name or number means charset'lang'%XX. */
function joinContinuations(raw: Map<string, string>): Map<string, string> {
  let extended = false;
  for (const k of raw.keys())
    if (k.includes('*')) {
      extended = true;
      break;
    }
  if (!extended) return raw;
  const out = new Map<string, string>();
  const segments = new Map<string, { index: number; encoded: boolean; text: string }[]>();
  for (const [k, v] of raw) {
    const star = k.indexOf('*');
    if (star < 0) {
      if (!out.has(k)) out.set(k, v);
      continue;
    }
    const name = k.slice(0, star);
    const rest = k.slice(star + 1);
    const encoded = rest === '' || rest.endsWith('*');
    const index = rest === '' || rest === '*' ? 0 : Number.parseInt(rest, 10);
    if (!Number.isFinite(index) || index < 0 || index > 999) continue;
    const list = segments.get(name) ?? [];
    list.push({ index, encoded, text: v });
    segments.set(name, list);
  }
  for (const [name, list] of segments) {
    list.sort((a, b) => a.index - b.index);
    let charset = '';
    const bytes: number[] = [];
    list.forEach((seg, i) => {
      let text = seg.text;
      if (seg.encoded && i === 0) {
        const q1 = text.indexOf("'");
        const q2 = q1 < 0 ? -1 : text.indexOf("'", q1 + 1);
        if (q2 >= 0) {
          charset = text.slice(0, q1);
          text = text.slice(q2 + 1);
        }
      }
      for (let j = 0; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (
          seg.encoded &&
          c === 0x25 &&
          j + 2 < text.length &&
          isHex(text.charCodeAt(j + 1)) &&
          isHex(text.charCodeAt(j + 2))
        ) {
          bytes.push(Number.parseInt(text.slice(j + 1, j + 3), 16));
          j += 2;
        } else if (c < 0x80) bytes.push(c);
        else for (const b of Buffer.from(text[j]!, 'utf8')) bytes.push(b);
      }
    });
    // An extended value wins over a plain one of the same name (RFC 2231 §4).
    out.set(name, decodeCharset(Buffer.from(bytes), charset || undefined).text);
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/** A part's body without its transfer encoding: base64 and quoted-printable decoded, anything else as is. */
export function decodeBody(buf: Buffer, start: number, end: number, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(buf.toString('latin1', start, end), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(buf, start, end);
  return buf.subarray(start, end);
}

/**
 * Quoted-printable (RFC 2045 §6.7), tolerantly: "=XX" is a byte (either case), "=" before a line
 * end (blanks allowed between) is a soft line break, any other "=" stays as it is.
 */
export function decodeQuotedPrintable(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let o = 0;
  let i = start;
  for (;;) {
    const eq = buf.indexOf(0x3d, i);
    const stop = eq < 0 || eq >= end ? end : eq;
    o += buf.copy(out, o, i, stop);
    if (stop === end) break;
    i = stop + 1;
    const a = buf[i];
    const b = buf[i + 1];
    if (i + 1 < end && a !== undefined && b !== undefined && isHex(a) && isHex(b)) {
      out[o++] = (hexValue(a) << 4) | hexValue(b);
      i += 2;
      continue;
    }
    // Soft line break: "=", optional blanks, CRLF or LF (or the end of the part).
    let j = i;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    if (j >= end) {
      i = end;
      continue;
    }
    if (buf[j] === 0x0d && buf[j + 1] === 0x0a && j + 1 < end) {
      i = j + 2;
      continue;
    }
    if (buf[j] === 0x0a || buf[j] === 0x0d) {
      i = j + 1;
      continue;
    }
    out[o++] = 0x3d;
  }
  return out.subarray(0, o);
}

/**
 * format=flowed text (RFC 3676): a line ending in a space goes on in the next line of the same
 * quote depth (with delsp=yes that space is dropped); space-stuffing removed. Works on
 * characters, so it runs on the Latin-1 view of the bytes before the charset is applied.
 */
export function decodeFlowed(text: string, delSp: boolean): string {
  const lines = text.split('\n');
  const result: string[] = [];
  // The paragraph as pieces, joined once at its end (joining per line would be quadratic).
  let parts: string[] = [];
  let length = 0;
  let depth = 0;
  let prefix = '';
  const push = (part: string): void => {
    if (part) {
      parts.push(part);
      length += part.length;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let lineDepth = 0;
    while (line.charCodeAt(lineDepth) === 0x3e) lineDepth++;
    const prefixLength = lineDepth && line.charCodeAt(lineDepth) === 0x20 ? lineDepth + 1 : lineDepth;
    const content = line.slice(prefixLength);
    const last = parts.length ? parts[parts.length - 1]! : '';
    // A signature separator "-- " is never joined with the next line.
    const soft = lineDepth === depth && last.endsWith(' ') && !(length === 3 && parts.join('') === '-- ');
    if (soft) {
      if (delSp) {
        parts.pop();
        length -= last.length;
        push(last.slice(0, -1));
        push(content);
      } else push(lineDepth || !content.startsWith(' ') ? content : content.slice(1));
    } else {
      if (i > 0) result.push(prefix + parts.join(''));
      parts = [];
      length = 0;
      depth = lineDepth;
      prefix = line.slice(0, prefixLength);
      push(content);
    }
  }
  if (length || prefix) result.push(prefix + parts.join(''));
  // Space-stuffing (RFC 3676 §4.4): one leading space of a line is not content.
  return result.map((l) => (l.startsWith(' ') ? l.slice(1) : l)).join('\n');
}

const decoders = new Map<string, TextDecoder | null>();

/** A TextDecoder for a charset label, or null when Node knows none by that name (cached). */
function decoderFor(label: string): TextDecoder | null {
  let d = decoders.get(label);
  if (d !== undefined) return d;
  try {
    d = new TextDecoder(label, { fatal: false });
  } catch {
    d = null;
  }
  if (decoders.size < 200) decoders.set(label, d);
  return d;
}

/** Labels that mean "plain text, no charset": bytes are read as UTF-8 when valid, else Latin-1. */
const NO_CHARSET = new Set([
  '',
  'us-ascii',
  'ascii',
  'usascii',
  'us_ascii',
  'ansi_x3.4-1968',
  'utf-8',
  'utf8',
]);

/**
 * Bytes to text in a declared charset, as Node's TextDecoder (full ICU) knows it: ISO-2022-JP,
 * Shift_JIS, EUC-JP, GB18030, Big5, KOI8-R, windows-125x, ISO-8859-x… With no charset, US-ASCII
 * or UTF-8: UTF-8 when the bytes are valid UTF-8, else Latin-1 (8-bit junk in a part that
 * claims ASCII is usually Latin-1). An unknown charset is read the same way and says so.
 */
export function decodeCharset(bytes: Buffer, charset?: string): { text: string; unknown: boolean } {
  const label = (charset ?? '').trim().toLowerCase();
  if (!NO_CHARSET.has(label)) {
    // RFC 2231 language suffix ("utf-8*en"): cut at the "*".
    const star = label.indexOf('*');
    const d = decoderFor(star < 0 ? label : label.slice(0, star));
    if (!d) return { text: plainText(bytes), unknown: true };
    return { text: d.encoding === 'windows-1252' ? windows1252(bytes) : d.decode(bytes), unknown: false };
  }
  return { text: plainText(bytes), unknown: false };
}

/** windows-1252's characters for the bytes 0x80–0x9F (WHATWG Encoding; U+FFFD-free: undefined bytes stay C1). */
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** The bytes 0x80–0x9F, as Latin-1 characters. */
const C1 = /[\x80-\x9f]/;

/**
 * windows-1252, which WHATWG also names latin1, iso-8859-1 and us-ascii. Decoded here because
 * Node 20.18.3 and later read it as ISO-8859-1 (nodejs/node#60888): "wasn=92t" came out
 * with a C1 control instead of the apostrophe.
 */
function windows1252(bytes: Buffer): string {
  const text = bytes.toString('latin1', 0, bytes.length);
  // Most text has none of those bytes: one search says so, where the loop below read every
  // character (in the interpreter, for much of a mailbox run).
  const first = text.search(C1);
  if (first < 0) return text;
  let out = '';
  let copied = 0;
  for (let i = first; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 || c > 0x9f) continue;
    out += text.slice(copied, i) + CP1252_HIGH[c - 0x80]!;
    copied = i + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** UTF-8 when valid, else Latin-1 (as windows-1252, its superset that the web and mailers mean by it). */
export function plainText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : windows1252(bytes);
}
