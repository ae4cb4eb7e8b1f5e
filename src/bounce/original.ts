import { decodeEncodedWords, decodeText, header, headers } from './mime.js';
import type { HeaderField, MessageView } from './mime.js';
import type { DkimSignatureRef, HeaderLine, Original } from './model.js';
import { addressesIn } from './ndr.js';
import { MAX_HOPS, parseReceived, sendingHop } from './received.js';

/**
 * The original message a bounce returns (as an attachment or inline after the notice): who
 * sent it to whom, its subject and Message-ID, the Received chain and the sending IP, its DKIM
 * signatures and its header fields for display — read from the header only, bounded.
 */

export function emptyOriginal(): Original {
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
export function parseHeaderBlock(raw: string): HeaderField[] {
  return scanHeaderBlock(raw).map((f) => ({ name: f.name.toLowerCase(), value: unfold(f, Infinity) }));
}

/** One field of a header block as written: its name, the rest of its first line, its continuation lines. */
interface RawHeader {
  name: string;
  first: string;
  more: string[] | null;
}

/**
 * The fields of a header block in one pass: leading white space skipped, up to the first empty
 * line; a line starting with a blank continues the field before it; a field line is a name of
 * printable characters but ":", optional white space and ":" (a line holding a bare CR or a line
 * separator is none, as `/^([\x21-\x39\x3b-\x7e]+)\s*:(.*)$/` would have it).
 */
function scanHeaderBlock(raw: string): RawHeader[] {
  const text = raw.trimStart();
  const out: RawHeader[] = [];
  let pos = 0;
  while (pos <= text.length) {
    const found = text.indexOf('\n', pos);
    const nl = found < 0 ? text.length : found;
    // A CR before the LF belongs to the line end; a CR at the very end does not.
    const line = text.slice(pos, found > pos && text.charCodeAt(found - 1) === 0x0d ? found - 1 : nl);
    pos = nl + 1;
    // The first empty line ends the block.
    if (line === '') break;
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      const last = out[out.length - 1];
      if (last) (last.more ??= []).push(line);
      continue;
    }
    let n = 0;
    while (n < line.length && isNameChar(line.charCodeAt(n))) n++;
    if (n === 0) continue;
    let colon = n;
    while (colon < line.length && isSpace(line.charCodeAt(colon))) colon++;
    // (Not read past the end: a read out of bounds, NaN, had the optimised code thrown away.)
    if (colon === line.length || line.charCodeAt(colon) !== 0x3a) continue;
    const rest = line.slice(colon + 1);
    if (hasLineBreak(rest)) continue;
    out.push({ name: line.slice(0, n), first: rest, more: null });
  }
  return out;
}

/** The field's value: its first line and each continuation trimmed, joined by spaces; continuations stop once the value reaches `max`. */
function unfold(f: RawHeader, max: number): string {
  let value = f.first.trim();
  if (f.more) for (const m of f.more) if (value.length < max) value += ` ${m.trim()}`;
  return value;
}

function isNameChar(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x3a;
}

/** What `\s` matches. */
function isSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** What `.` does not match. */
function hasLineBreak(s: string): boolean {
  return s.includes('\r') || s.includes('\u2028') || s.includes('\u2029');
}

export function buildOriginal(view: MessageView, inlineReturned: string | null): Original {
  const original = emptyOriginal();
  const raw = view.returned.length
    ? view.returned.map((b) => decodeText(b)).find((t) => t.trim())
    : inlineReturned;
  const scanned = raw ? scanHeaderBlock(raw.replace(/^From \S[^\n]*\n/, '')) : [];
  const fields = scanned.map((f) => ({ name: f.name.toLowerCase(), value: unfold(f, Infinity) }));
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
  original.headers = displayHeaders(scanned);
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
function displayHeaders(scanned: readonly RawHeader[]): HeaderLine[] {
  return scanned.slice(0, MAX_HEADER_FIELDS).map((f) => {
    let value = decodeHeader(unfold(f, MAX_HEADER_VALUE));
    if (value.length > MAX_HEADER_VALUE) value = `${value.slice(0, MAX_HEADER_VALUE - 1)}…`;
    return { name: f.name, value };
  });
}

export function decodeHeader(value: string): string {
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

export function isoDate(value: string | null): string | null {
  if (!value) return null;
  const t = Date.parse(withoutTrailingComment(value));
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}
