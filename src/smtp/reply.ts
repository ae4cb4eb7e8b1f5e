/**
 * SMTP replies (RFC 5321 §4.2): framing of reply lines into replies, and the enhanced
 * status code of RFC 3463/2034. Pure: takes text lines, returns data. The connection
 * (connection.ts) feeds it lines it has already bounded in length and number.
 */

export interface SmtpReply {
  /** Three-digit reply code, e.g. 250. */
  code: number;
  /** RFC 3463 enhanced status code of the first line ("5.1.1"), when the server sent one. */
  enhanced?: string;
  /** Every line as received, without CRLF (code and separator included). */
  lines: string[];
  /** The text of all lines without code, separator and enhanced code, joined with spaces. */
  text: string;
}

export type ReplyClass = 'positive' | 'intermediate' | 'transient' | 'permanent';

export function replyClass(code: number): ReplyClass {
  if (code >= 500) return 'permanent';
  if (code >= 400) return 'transient';
  if (code >= 300) return 'intermediate';
  return 'positive';
}

const LINE = /^([2-5][0-9][0-9])([ -])?(.*)$/;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

/** A line that is not part of a well-formed reply. */
export class ReplySyntaxError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
    this.name = 'ReplySyntaxError';
  }
}

/**
 * Collects reply lines until a reply is complete. `push` returns the finished reply on the
 * last line ("250 " — code followed by a space or nothing), or undefined while continuation
 * lines ("250-") are arriving; it throws ReplySyntaxError for a line that is not
 * "ddd[ -]text" or whose code differs from the first line's (RFC 5321 §4.2.1).
 */
export class ReplyAssembler {
  private lines: string[] = [];
  private code: number | undefined;

  get pending(): number {
    return this.lines.length;
  }

  /**
   * Whether `line` is a well-formed reply line that cannot belong to the multi-line reply in
   * progress because its code differs: a line of another reply that arrived in the middle of
   * this one (RFC 5321 §4.2.1 gives every line of a reply the same code). The caller sets it
   * aside; the reply in progress goes on with the next line.
   */
  interrupts(line: string): boolean {
    if (this.code === undefined) return false;
    const m = LINE.exec(line);
    return m !== null && Number(m[1]) !== this.code;
  }

  push(line: string): SmtpReply | undefined {
    const m = LINE.exec(line);
    if (!m) throw new ReplySyntaxError(`not an SMTP reply line: ${JSON.stringify(line.slice(0, 120))}`, line);
    const code = Number(m[1]);
    if (this.code !== undefined && code !== this.code) {
      throw new ReplySyntaxError(
        `reply code changed from ${this.code} to ${code} within one multi-line reply`,
        line,
      );
    }
    this.code = code;
    this.lines.push(line);
    if (m[2] === '-') return undefined;
    const reply = buildReply(this.lines);
    this.lines = [];
    this.code = undefined;
    return reply;
  }
}

/** Builds a reply from complete lines (all with the same code). */
export function buildReply(lines: readonly string[]): SmtpReply {
  const first = lines[0] ?? '';
  const code = Number(first.slice(0, 3));
  const texts = lines.map((l) => l.slice(4));
  const enhancedMatch = ENHANCED.exec(texts[0] ?? '');
  // RFC 3463 §2: the class digit of the enhanced code must match the reply code's class.
  const enhanced =
    enhancedMatch && enhancedMatch[1] === first[0]
      ? `${enhancedMatch[1]}.${enhancedMatch[2]}.${enhancedMatch[3]}`
      : undefined;
  const stripped = texts.map((t) => (enhanced ? t.replace(ENHANCED, '') : t).trim());
  const reply: SmtpReply = { code, lines: [...lines], text: stripped.filter(Boolean).join(' ') };
  if (enhanced) reply.enhanced = enhanced;
  return reply;
}

/** Parses a complete reply given as text with CRLF or LF line ends (for tests and fixtures). */
export function parseReply(text: string): SmtpReply {
  const assembler = new ReplyAssembler();
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  for (const line of lines) {
    const reply = assembler.push(line);
    if (reply) return reply;
  }
  throw new ReplySyntaxError('reply is incomplete (last line is a continuation)', lines.at(-1) ?? '');
}

/** "550 5.1.1 User unknown" — the first line, for summaries (trimmed to a readable length). */
export function quoteReply(reply: SmtpReply, max = 200): string {
  const text = reply.lines.length > 1 ? `${reply.lines[0]} …` : (reply.lines[0] ?? String(reply.code));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The host name a greeting or EHLO reply announces: the first word after the code when it
 * looks like a domain name or an address literal (RFC 5321 §4.1.1.1, §4.3.1).
 */
export function announcedHostname(reply: SmtpReply): string | undefined {
  const first = (reply.lines[0] ?? '').slice(4).trim();
  const word = first.split(/\s+/)[0] ?? '';
  if (/^\[[0-9a-f.:]+\]$/i.test(word)) return word;
  const name = word.replace(/\.$/, '').toLowerCase();
  if (/^[a-z0-9_](?:[a-z0-9_-]{0,62}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}[a-z0-9_])?)*$/.test(name)) {
    // "ESMTP" or "Service" alone is a word, not a host name; require a dot or a known single label.
    if (name.includes('.') || name === 'localhost') return name;
  }
  return undefined;
}

/** The client address a server reports back in its EHLO/HELO greeting ("[192.0.2.1]"). */
export function reportedClientAddress(reply: SmtpReply): string | undefined {
  const first = reply.lines[0] ?? '';
  const m = /\[(?:IPv6:)?([0-9a-f.:]+)\]/i.exec(first.slice(4));
  if (m) return m[1];
  const bare = /\b((?:\d{1,3}\.){3}\d{1,3})\b/.exec(first.slice(4));
  return bare?.[1];
}
