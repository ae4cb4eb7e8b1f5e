import { parseHeaderValue, typeByExtension } from './mime-decode.js';

/**
 * The MIME structure of a message (RFC 2045/2046), read synchronously from its bytes in one
 * forward pass: the top-level header fields and the leaf parts with where their bodies are.
 * Nothing is copied or decoded here but the header fields; the caller decodes the parts it
 * needs (decodeBody, decodeFlowed, decodeCharset below), so a 10 MB attachment costs one scan
 * for delimiter lines and nothing more.
 *
 * Delimiter lines are found as mailsplit (mailparser's splitter) finds them, so that a part
 * ends where mail clients end it: `--boundary` with optional `--`, blanks and CRs before the
 * LF; a delimiter of any open ancestor multipart ends the parts below it; after a multipart's
 * closing delimiter its own boundary is epilogue; a message/rfc822 part is a leaf (its own
 * parts are not read). Bounded: depth, part count and header size are capped, and each cap
 * reached leaves a warning and what was read so far. Linear: every byte is looked at a fixed
 * number of times per open multipart (at most MAX_DEPTH), no regular expression sees the body.
 */

/** Multiparts nested deeper than this are opaque (their parts are not read). */
export const MAX_DEPTH = 20;
/** Parts read at most (mailparser's limit was 500 child nodes). */
export const MAX_PARTS = 500;
/** Bytes of one header section kept at most (mailsplit's maxHeadSize); the rest is skipped. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Header fields of one section kept at most. */
export const MAX_FIELDS = 2000;
/** Bytes of a header section read as one Latin-1 text; lines past it are converted one by one. */
const HEADER_WINDOW = 16 * 1024;
/** Blanks a delimiter line may carry after the boundary (a header line's length, RFC 5322 §2.1.1). */
const DELIMITER_TRAILING_BLANKS = 998;

export interface RawField {
  /** Lower case, trimmed. */
  name: string;
  /** The value after the colon, unfolded (each line break and the blanks after it become one space), bytes as Latin-1, not trimmed. */
  value: string;
}

export interface LeafPart {
  /** type/subtype in lower case; '' when the part declares an empty Content-Type. */
  type: string;
  /** Content-Type parameters, names in lower case, RFC 2231 continuations joined and decoded. */
  params: Map<string, string>;
  /** Content-Disposition value in lower case, or null. */
  disposition: string | null;
  /** Content-Disposition filename or Content-Type name, or null. */
  filename: string | null;
  /** Content-Transfer-Encoding in lower case, '' when none. */
  encoding: string;
  /** The body, [start, end) in the message bytes, the line end before a delimiter excluded. */
  start: number;
  end: number;
  /** The message itself is this part (not a multipart). */
  root: boolean;
  /** Some ancestor is a multipart/alternative. */
  inAlternative: boolean;
}

export interface MimeStructure {
  /** The top-level header fields, in order. */
  headers: RawField[];
  /** Whether the top level has a Content-Type field. */
  mime: boolean;
  /** Leaf parts in document order (multipart containers are not listed). */
  leaves: LeafPart[];
  warnings: string[];
}

/** A delimiter line found: the body before it ends at `end`, the next part starts at `next`. */
interface Delimiter {
  end: number;
  next: number;
  /** Index of the multipart (in the open stack) whose boundary it is. */
  level: number;
  close: boolean;
}

interface Frame {
  boundary: Buffer;
  /** After this multipart's closing delimiter: its own boundary no longer delimits. */
  epilogue: boolean;
}

/** Reads the structure. `bytes` is the message without an mbox "From " line. Never throws. */
export function readStructure(bytes: Buffer): MimeStructure {
  const reader = new StructureReader(bytes);
  return reader.read();
}

class StructureReader {
  private readonly stack: Frame[] = [];
  private readonly leaves: LeafPart[] = [];
  private readonly warnings: string[] = [];
  private parts = 0;
  private partsCapped = false;
  private depthCapped = false;
  private headerCapped = false;
  private topHeaders: RawField[] = [];

  constructor(private readonly buf: Buffer) {}

  read(): MimeStructure {
    let mime = false;
    this.entity(0, false, (fields) => {
      this.topHeaders = fields;
      mime = fields.some((f) => f.name === 'content-type');
    });
    return { headers: this.topHeaders, mime, leaves: this.leaves, warnings: this.warnings };
  }

  /**
   * One entity (the message or a part) from `start`: its header, then its body. Returns the
   * delimiter of an enclosing multipart that ended it, or null at the end of the input.
   */
  private entity(
    start: number,
    inAlternative: boolean,
    onHeaders?: (fields: RawField[]) => void,
  ): Delimiter | null {
    const root = this.stack.length === 0;
    const head = this.header(start, root);
    onHeaders?.(head.fields);
    const t = contentTypeOf(head.fields, root, inAlternative);
    const bodyStart = head.delimiter ? head.delimiter.end : head.end;
    const multipart = t.type.startsWith('multipart/');
    const boundary = multipart ? boundaryOf(t.params) : null;
    if (multipart && boundary && !head.delimiter) {
      if (this.stack.length < MAX_DEPTH) {
        return this.multipart(boundary, bodyStart, inAlternative || t.type === 'multipart/alternative');
      }
      if (!this.depthCapped) {
        this.depthCapped = true;
        this.warnings.push(`Multipart parts nested deeper than ${MAX_DEPTH} levels were not read.`);
      }
    }
    const delimiter = head.delimiter ?? this.findDelimiter(bodyStart);
    // A multipart without a usable boundary has no parts and no body of its own (RFC 2046 §5.1.1).
    if (!multipart) {
      t.end = delimiter ? delimiter.end : this.buf.length;
      t.start = Math.min(bodyStart, t.end);
      this.leaves.push(t);
    }
    return delimiter;
  }

  /** The parts of a multipart whose header ended before `pos`; returns as entity() does. */
  private multipart(boundary: Buffer, pos: number, inAlternative: boolean): Delimiter | null {
    const frame: Frame = { boundary, epilogue: false };
    const level = this.stack.length;
    this.stack.push(frame);
    let seenPart = false;
    try {
      let d = this.findDelimiter(pos);
      for (;;) {
        if (!d) return null;
        if (d.level !== level) return d; // an ancestor's delimiter ends this multipart too
        if (d.close) {
          // A closing delimiter before any part is preamble (mailsplit reads on); after a part, epilogue follows.
          if (seenPart) frame.epilogue = true;
          d = this.findDelimiter(d.next);
          continue;
        }
        if (this.parts >= MAX_PARTS) {
          if (!this.partsCapped) {
            this.partsCapped = true;
            this.warnings.push(`The message has more than ${MAX_PARTS} MIME parts; the rest were not read.`);
          }
          frame.epilogue = true;
          d = this.findDelimiter(d.next);
          continue;
        }
        this.parts++;
        seenPart = true;
        d = this.entity(d.next, inAlternative);
      }
    } finally {
      this.stack.pop();
    }
  }

  /**
   * A header section from `start` to its empty line, or to a delimiter line of an open multipart
   * (the part then has no body), or to the end of the input.
   */
  private header(
    start: number,
    root: boolean,
  ): { fields: RawField[]; end: number; delimiter: Delimiter | null } {
    const buf = this.buf;
    // The bytes as Latin-1 text, converted once for the first HEADER_WINDOW bytes (nearly every
    // header section) rather than line by line: over the corpus ×10 that was some 80,000 calls
    // through Buffer's toString, each costing more than the copy.
    const windowEnd = Math.min(buf.length, start + HEADER_WINDOW);
    const window = buf.toString('latin1', start, windowEnd);
    const latin1 = (from: number, to: number): string =>
      to <= windowEnd ? window.slice(from - start, to - start) : buf.toString('latin1', from, to);
    const lineFeed = (from: number): number => {
      if (from >= windowEnd) return buf.indexOf(0x0a, from);
      const i = window.indexOf('\n', from - start);
      if (i >= 0) return start + i;
      return windowEnd < buf.length ? buf.indexOf(0x0a, windowEnd) : -1;
    };
    const fields: RawField[] = [];
    let pos = start;
    let kept = 0;
    let capped = false;
    while (pos < buf.length) {
      const nl = lineFeed(pos);
      const lineEnd = nl < 0 ? buf.length : nl;
      const next = nl < 0 ? buf.length : nl + 1;
      const contentEnd = lineEnd > pos && buf[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
      if (contentEnd === pos) return { fields, end: next, delimiter: null };
      if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d && this.stack.length) {
        const d = this.delimiterAt(pos);
        if (d) return { fields, end: d.end, delimiter: d };
      }
      kept += Math.max(next - pos, 64);
      if (!capped && (kept > MAX_HEADER_BYTES || fields.length >= MAX_FIELDS)) {
        capped = true;
        if (!this.headerCapped) {
          this.headerCapped = true;
          this.warnings.push('A header section is too large; its fields past the first 1 MiB were not read.');
        }
      }
      if (!capped) {
        const first = buf[pos];
        if ((first === 0x20 || first === 0x09) && fields.length) {
          // Folding (RFC 5322 §2.2.3): the line break and the blanks after it become one space.
          let s = pos;
          while (s < contentEnd && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
          const last = fields[fields.length - 1]!;
          last.value += ` ${latin1(s, contentEnd)}`;
        } else if (!(root && fields.length === 0 && isMboxLine(buf, pos))) {
          const line = latin1(pos, contentEnd);
          const colon = line.indexOf(':');
          fields.push(
            colon < 0
              ? { name: '', value: '' }
              : { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) },
          );
        }
      }
      pos = next;
    }
    return { fields, end: buf.length, delimiter: null };
  }

  /** The first delimiter line of an open multipart at or after the line start `from`. */
  private findDelimiter(from: number): Delimiter | null {
    if (this.stack.length === 0) return null;
    const buf = this.buf;
    if (from < buf.length && buf[from] === 0x2d && buf[from + 1] === 0x2d) {
      const d = this.delimiterAt(from);
      if (d) return d;
    }
    for (let i = buf.indexOf(NL_DASHES, from); i >= 0; i = buf.indexOf(NL_DASHES, i + 1)) {
      const d = this.delimiterAt(i + 1);
      if (d) return d;
    }
    return null;
  }

  /** Whether the line at `pos` (starting "--") is a delimiter of an open multipart, innermost first. */
  private delimiterAt(pos: number): Delimiter | null {
    for (let level = this.stack.length - 1; level >= 0; level--) {
      const frame = this.stack[level]!;
      if (level === this.stack.length - 1 && frame.epilogue) continue;
      const m = matchDelimiter(this.buf, pos, frame.boundary);
      if (m) {
        // The line end before the delimiter belongs to it (RFC 2046 §5.1.1).
        let end = pos;
        if (end > 0 && this.buf[end - 1] === 0x0a) {
          end--;
          if (end > 0 && this.buf[end - 1] === 0x0d) end--;
        }
        return { end, next: m.next, level, close: m.close };
      }
    }
    return null;
  }
}

const NL_DASHES = Buffer.from('\n--', 'latin1');

/** `--boundary` or `--boundary--`, blanks, CRs and an LF (or the end, for a closing one) at `pos`. */
function matchDelimiter(buf: Buffer, pos: number, boundary: Buffer): { next: number; close: boolean } | null {
  const b = pos + 2;
  if (b + boundary.length > buf.length) return null;
  if (buf.compare(boundary, 0, boundary.length, b, b + boundary.length) !== 0) return null;
  let i = b + boundary.length;
  let close = false;
  if (buf[i] === 0x2d) {
    if (buf[i + 1] !== 0x2d) return null;
    close = true;
    i += 2;
  }
  const blanksEnd = i + DELIMITER_TRAILING_BLANKS;
  while (i < buf.length && i < blanksEnd && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  if (i >= buf.length) return close ? { next: i, close } : null;
  while (i < buf.length && buf[i] === 0x0d) i++;
  if (i >= buf.length) return { next: i, close };
  if (buf[i] !== 0x0a) return null;
  return { next: i + 1, close };
}

function isMboxLine(buf: Buffer, pos: number): boolean {
  return buf.toString('latin1', pos, Math.min(pos + 5, buf.length)).toLowerCase() === 'from ';
}

/** The boundary parameter when usable: ASCII, without trailing blanks (mailsplit and Python agree). */
function boundaryOf(params: Map<string, string>): Buffer | null {
  const b = (params.get('boundary') ?? '').trimEnd();
  if (!b) return null;
  for (let i = 0; i < b.length; i++) if (b.charCodeAt(i) > 0x7f) return null;
  return Buffer.from(b, 'latin1');
}

/** What a part is, from its Content-Type, Content-Disposition and Content-Transfer-Encoding fields (one shape for every leaf). */
function contentTypeOf(fields: readonly RawField[], root: boolean, inAlternative: boolean): LeafPart {
  let ct: string | undefined;
  let cd: string | undefined;
  let cte: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.name === 'content-type') ct ??= f.value;
    else if (f.name === 'content-disposition') cd ??= f.value;
    else if (f.name === 'content-transfer-encoding') cte ??= f.value;
  }
  const disp = cd !== undefined ? parseHeaderValue(cd) : null;
  const parsed = ct !== undefined ? parseHeaderValue(ct) : null;
  const filename = disp?.params.get('filename') ?? parsed?.params.get('name') ?? null;
  let type: string;
  if (parsed) type = parsed.value.toLowerCase();
  else {
    // No Content-Type: text/plain (RFC 2045 §5.2), unless the disposition names a file.
    type =
      (filename && typeByExtension(filename)) ||
      (disp?.value.toLowerCase() === 'attachment' ? 'application/octet-stream' : 'text/plain');
  }
  if (!type && root) type = 'text/plain';
  return {
    type,
    params: parsed?.params ?? new Map(),
    disposition: disp?.value ? disp.value.toLowerCase() : null,
    filename,
    encoding: cte !== undefined ? withoutComment(cte).trim().toLowerCase() : '',
    // Where the body is: set by the caller once its end is found.
    start: 0,
    end: 0,
    root,
    inAlternative,
  };
}

/** A Content-Transfer-Encoding without a "(comment)": from the first "(" to the last ")". */
function withoutComment(value: string): string {
  const open = value.indexOf('(');
  if (open < 0) return value;
  const close = value.lastIndexOf(')');
  return close > open ? value.slice(0, open) + value.slice(close + 1) : value;
}
