import { decodeEncodedWords, decodeText } from '../bounce/mime.js';

/**
 * A received message as the checks of the inbound test read it: the header fields as sent
 * (unfolded, not decoded), the MIME structure (RFC 2045/2046) with its problems, and the
 * decoded text of the first text/plain and text/html parts. Pure and linear: the message is
 * walked line by line once per MIME level, with caps on fields, parts, depth and kept text,
 * so a hostile message costs at most its size.
 */

export interface HeaderField {
  /** As written (case kept). */
  name: string;
  /** Unfolded, as sent (encoded words not decoded). */
  value: string;
}

export interface MimePart {
  /** type/subtype, lower case; "text/plain" when the part declares none (RFC 2045 §5.2). */
  type: string;
  charset?: string;
  encoding?: string;
  disposition?: string;
  filename?: string;
  /** Bytes of the part's body. */
  bytes: number;
  parts?: MimePart[];
}

export interface ParsedMessage {
  headers: HeaderField[];
  /** More fields than kept. */
  headersOmitted: number;
  /** Bytes ≥ 0x80 in the header section. */
  eightBitHeaders: boolean;
  /** Lines longer than 998 characters (RFC 5322 §2.1.1). */
  longLines: number;
  /** Lines ending in LF alone, or CR alone. */
  bareLineEnds: number;
  mime: MimePart;
  /** What is wrong with the MIME structure, in words. */
  mimeProblems: string[];
  /** Decoded text of the first text/plain and text/html parts that are not attachments. */
  text?: string;
  html?: string;
}

const MAX_FIELDS = 500;
const MAX_VALUE = 8192;
const MAX_PARTS = 200;
const MAX_DEPTH = 10;
const MAX_TEXT = 256 * 1024;

/** Splits header section and body at the first empty line. */
function splitHead(text: string): { head: string; body: string } {
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return { head: text, body: '' };
  if (lf < 0 || (crlf >= 0 && crlf < lf)) return { head: text.slice(0, crlf), body: text.slice(crlf + 4) };
  return { head: text.slice(0, lf), body: text.slice(lf + 2) };
}

function parseFields(head: string): { fields: HeaderField[]; omitted: number; malformed: number } {
  const fields: HeaderField[] = [];
  let omitted = 0;
  let malformed = 0;
  for (const line of head.split('\n')) {
    const l = line.replace(/\r$/, '');
    if (/^[ \t]/.test(l)) {
      const last = fields[fields.length - 1];
      if (last && last.value.length < MAX_VALUE) last.value = `${last.value} ${l.trim()}`.slice(0, MAX_VALUE);
      continue;
    }
    const colon = l.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(l.slice(0, colon).trimEnd())) {
      if (l !== '') malformed++;
      continue;
    }
    if (fields.length >= MAX_FIELDS) {
      omitted++;
      continue;
    }
    fields.push({
      name: l.slice(0, colon).trimEnd(),
      value: l
        .slice(colon + 1)
        .trim()
        .slice(0, MAX_VALUE),
    });
  }
  return { fields, omitted, malformed };
}

/** The first value of a field, case-insensitive. */
export function field(fields: readonly HeaderField[], name: string): string | undefined {
  const n = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === n)?.value;
}

export function fieldCount(fields: readonly HeaderField[], name: string): number {
  const n = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === n).length;
}

/** A field value's text for people: RFC 2047 encoded words decoded, 8-bit bytes read as UTF-8. */
export function displayValue(value: string): string {
  const utf8 = /[\x80-\xff]/.test(value) ? decodeText(Buffer.from(value, 'latin1')) : value;
  return decodeEncodedWords(utf8);
}

/** "type/subtype; a=b; c="d"" → type and lower-cased parameter names (RFC 2045 §5.1, RFC 2231 ignored). */
export function parseContentType(value: string | undefined): {
  type: string;
  params: Record<string, string>;
} {
  if (value === undefined) return { type: '', params: {} };
  const [first = '', ...rest] = splitParams(value);
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!(key in params)) params[key] = v.slice(0, 200);
  }
  return { type: first.trim().toLowerCase(), params };
}

/** Splits at semicolons outside quoted strings. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && quoted && i + 1 < value.length) {
      cur += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function decodeBody(body: string, encoding: string | undefined): Buffer {
  const enc = (encoding ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (enc === 'quoted-printable') {
    return Buffer.from(
      body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    );
  }
  return Buffer.from(body, 'latin1');
}

interface Walk {
  parts: number;
  problems: string[];
  text?: string;
  html?: string;
}

function problem(walk: Walk, text: string): void {
  if (walk.problems.length < 20 && !walk.problems.includes(text)) walk.problems.push(text);
}

function walkPart(
  fields: HeaderField[],
  body: string,
  depth: number,
  walk: Walk,
  inherited: string,
): MimePart {
  walk.parts++;
  const ct = field(fields, 'content-type');
  const parsed = parseContentType(ct);
  const type = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(parsed.type) ? parsed.type : inherited;
  if (ct !== undefined && type !== parsed.type)
    problem(walk, `Content-Type "${ct.slice(0, 60)}" is not type/subtype`);
  const encoding = field(fields, 'content-transfer-encoding')?.trim().toLowerCase();
  const disposition = parseContentType(field(fields, 'content-disposition'));
  const part: MimePart = { type, bytes: body.length };
  if (parsed.params.charset) part.charset = parsed.params.charset.toLowerCase();
  if (encoding) {
    part.encoding = encoding;
    if (!['7bit', '8bit', 'binary', 'base64', 'quoted-printable'].includes(encoding))
      problem(walk, `unknown Content-Transfer-Encoding "${encoding.slice(0, 40)}"`);
  }
  if (disposition.type) part.disposition = disposition.type;
  const filename = disposition.params.filename ?? parsed.params.name;
  if (filename) part.filename = displayValue(filename).slice(0, 200);

  if (type.startsWith('multipart/')) {
    const boundary = parsed.params.boundary;
    if (!boundary) {
      problem(walk, `${type} without a boundary parameter`);
      return part;
    }
    if (depth >= MAX_DEPTH) {
      problem(walk, `MIME parts nested deeper than ${MAX_DEPTH} levels (not read further)`);
      return part;
    }
    if (encoding && !['7bit', '8bit', 'binary'].includes(encoding))
      problem(walk, `${type} with Content-Transfer-Encoding ${encoding} (RFC 2045 §6.4 forbids it)`);
    part.parts = splitMultipart(
      body,
      boundary,
      depth,
      walk,
      type === 'multipart/digest' ? 'message/rfc822' : 'text/plain',
    );
    if (part.parts.length === 0) problem(walk, `${type} with no parts`);
    return part;
  }
  if (type === 'text/plain' || type === 'text/html') {
    const attachment = part.disposition === 'attachment';
    const key = type === 'text/plain' ? 'text' : 'html';
    if (!attachment && walk[key] === undefined) {
      walk[key] = decodeText(decodeBody(body.slice(0, MAX_TEXT * 2), encoding), part.charset).slice(
        0,
        MAX_TEXT,
      );
    }
  }
  return part;
}

function splitMultipart(
  body: string,
  boundary: string,
  depth: number,
  walk: Walk,
  defaultType: string,
): MimePart[] {
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  const lines = body.split('\n');
  let current: string[] | undefined;
  let closed = false;
  const finish = (): void => {
    if (!current) return;
    if (walk.parts >= MAX_PARTS) {
      problem(walk, `more than ${MAX_PARTS} MIME parts (not read further)`);
      current = undefined;
      return;
    }
    const { head, body: partBody } = splitHead(current.join('\n'));
    // A part that starts with an empty line has no header fields.
    const fields = current[0]?.replace(/\r$/, '') === '' ? [] : parseFields(head).fields;
    const content = current[0]?.replace(/\r$/, '') === '' ? current.slice(1).join('\n') : partBody;
    parts.push(walkPart(fields, content, depth + 1, walk, defaultType));
    current = undefined;
  };
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(delimiter)) {
      const rest = line.slice(delimiter.length);
      if (/^--[ \t]*$/.test(rest)) {
        finish();
        closed = true;
        break;
      }
      if (/^[ \t]*$/.test(rest)) {
        finish();
        current = [];
        continue;
      }
    }
    current?.push(raw);
  }
  if (!closed) {
    finish();
    problem(
      walk,
      `the boundary "${boundary.slice(0, 70)}" is never closed (no --${boundary.slice(0, 70)}--)`,
    );
  }
  return parts;
}

export function parseMessage(raw: Buffer): ParsedMessage {
  const text = raw.toString('latin1');
  const { head, body } = splitHead(text);
  const { fields, omitted, malformed } = parseFields(head);
  let longLines = 0;
  let bareLineEnds = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    const len = end - start - (end > start && text[end - 1] === '\r' ? 1 : 0);
    if (len > 998) longLines++;
    if (nl >= 0 && (nl === 0 || text[nl - 1] !== '\r')) bareLineEnds++;
    if (nl < 0) break;
    start = nl + 1;
  }
  const walk: Walk = { parts: 0, problems: [] };
  if (malformed > 0)
    problem(walk, `${malformed} header line${malformed === 1 ? ' is' : 's are'} not "Name: value"`);
  const mimeVersion = field(fields, 'mime-version');
  if (field(fields, 'content-type') !== undefined && mimeVersion === undefined) {
    problem(walk, 'Content-Type without MIME-Version: 1.0 (RFC 2045 §4)');
  }
  const mime = walkPart(fields, body, 0, walk, 'text/plain');
  const parsed: ParsedMessage = {
    headers: fields,
    headersOmitted: omitted,
    eightBitHeaders: /[\x80-\xff]/.test(head),
    longLines,
    bareLineEnds,
    mime,
    mimeProblems: walk.problems,
  };
  if (walk.text !== undefined) parsed.text = walk.text;
  if (walk.html !== undefined) parsed.html = walk.html;
  return parsed;
}

/** Every part of a MIME tree, depth first. */
export function allParts(part: MimePart): MimePart[] {
  return [part, ...(part.parts ?? []).flatMap(allParts)];
}
