import { splitLines } from './lines.js';

/**
 * Pulling SMTP facts out of free text: the reply code (RFC 5321 §4.2), the enhanced status
 * code (RFC 3463), the remote server, and the SMTP command the reply answered. Also the
 * parser for a bare, possibly multi-line, reply pasted on its own.
 */

/** White space other than single spaces. */
const UNEVEN_SPACE = /[^\S ]| {2}/;

/** Whitespace-normalised text: one line, single spaces. */
export function squash(text: string): string {
  // Four texts in ten have single spaces only (many are squashed already): then squashing is
  // trimming, and the replacement's copy of the text is not needed.
  return (UNEVEN_SPACE.test(text) ? text.replace(/\s+/g, ' ') : text).trim();
}

/**
 * Joins an RFC 5321 multi-line reply quoted inside text ("550-5.1.1 The email account …
 * 550-5.1.1 double-checking …") into one line, dropping the repeated code prefixes.
 */
export function joinMultiline(text: string): string {
  const first = /(?<![\w.#/:=@-])([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3})\s)?/.exec(text);
  if (!first) return text;
  const [, code, st] = first;
  const head = `${text.slice(0, first.index)}${code} ${st ? `${st} ` : ''}`;
  const again = new RegExp(`(^|\\s)${code}[ -]${st ? `(?:${st.replace(/\./g, '\\.')}\\s)?` : ''}`, 'g');
  return head + text.slice(first.index + first[0].length).replace(again, '$1');
}

const STATUS_RE = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/;
/** Reply codes followed by a space, a hyphen or an enhanced code: "550 ", "550-", "550 5.1.1". */
const REPLY_RE =
  /(?<![\w.#/:=-])([245][0-5]\d)(?=[ -]|$)(?![ -]?(?:bytes|days?|hours?|minutes?|seconds?|ms|kb|mb|%))/;

/** The first enhanced status code in the text, normalised ("5.1.1"). */
export function findStatus(text: string): string | null {
  const m = STATUS_RE.exec(text);
  if (!m) return null;
  return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
}

/** Every enhanced status code in the text, in order. */
export function findStatuses(text: string): string[] {
  const out: string[] = [];
  const re = new RegExp(STATUS_RE.source, 'g');
  for (const m of text.matchAll(re)) out.push(`${m[1]}.${Number(m[2])}.${Number(m[3])}`);
  return out;
}

/**
 * The reply code that text quotes. Prefers a code right after a cue ("said:", "<<<",
 * "Remote host said", "error:", "returned was:") or at the start of a line; never a number
 * inside an IP address, a date or a size.
 */
export function findReplyCode(text: string): number | null {
  const cued =
    /(?:said|<<<|returned(?: was)?|response(?: was)?|error(?: was)?|reply(?: was)?|replied|answered|message|reason|smtp|code|diagnostic-code|status|host \S+(?: \[[^\][]+\])?|\]|\)|>|;|:)\s*(?::\s*)?\(?([245][0-5]\d)(?=[ -]|$)(?!\.\d)/i.exec(
      text,
    );
  if (cued && plausibleCode(cued[1]!)) return Number(cued[1]);
  // Blank space up to the code, but no line break: from the last line break before it, the same code.
  const lineStart = /(?:^|\n)[^\S\n]*([245][0-5]\d)(?=[ -])/.exec(text);
  if (lineStart && plausibleCode(lineStart[1]!)) return Number(lineStart[1]);
  const any = REPLY_RE.exec(text);
  if (any && plausibleCode(any[1]!)) return Number(any[1]);
  return null;
}

function plausibleCode(code: string): boolean {
  const n = Number(code);
  // RFC 5321 §4.2: first digit 2–5, second 0–5.
  return n >= 200 && n <= 559 && Math.floor(n / 10) % 10 <= 5;
}

export type SmtpCommand = 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';

/**
 * The wordings of each SMTP stage, tried on the lower-cased text, with the literals every
 * match of the expression contains (one of them): an expression whose literals the text lacks
 * cannot match and is not run. Most bounce texts name one stage or none, and these expressions
 * ran on every diagnostic and its context. (The screens are checked against the expressions'
 * every possible match in test/unit/bounce-reply-command.test.ts.)
 */
export const COMMAND_RULES: readonly { re: RegExp; cmd: SmtpCommand; screen: readonly string[] }[] = [
  {
    re: /in reply to (?:end of )?data|after (?:end of )?data|(?:final )?data(?: command)? (?:send|was rejected)|did not like our (?:final )?data|after the message|failed after i sent the message|after message|step: data|\bend of data\b|>>> data|after sending (?:the )?(?:message|data)|data (?:phase|stage)|smtp:data|for text command/,
    cmd: 'DATA',
    screen: ['data', 'message', 'text command'],
  },
  {
    re: /in reply to rcpt|after rcpt|rcpt to:|did not like our rcpt|>>> rcpt|does not like recipient|rcpt (?:phase|command)|smtp:rcpt|step: rcpt/,
    cmd: 'RCPT',
    screen: ['rcpt', 'recipient'],
  },
  {
    re: /in reply to mail|after mail from|mail from:|did not like our mail|>>> mail from|sender was rejected|mail (?:from )?command|smtp:mail|step: mail/,
    cmd: 'MAIL',
    screen: ['mail', 'sender was rejected'],
  },
  {
    re: /in reply to (?:helo|ehlo)|after (?:helo|ehlo)|my name was rejected|>>> (?:helo|ehlo)|did not like our (?:helo|ehlo)/,
    cmd: 'HELO',
    screen: ['helo', 'ehlo', 'my name was rejected'],
  },
  {
    re: /refused to talk to me|after initial connection|greeting|banner|on connect|while connecting|connection rejected|not accepting connections|in reply to (?:the )?initial/,
    cmd: 'CONNECT',
    screen: ['connect', 'refused to talk', 'greeting', 'banner', 'initial'],
  },
];

/** The SMTP stage a quoted reply answered, from the MTA's own wording: the earliest-named one. */
export function findCommand(text: string): SmtpCommand | null {
  const t = text.toLowerCase();
  let best: SmtpCommand | null = null;
  let at = Infinity;
  for (let r = 0; r < COMMAND_RULES.length; r++) {
    const { re, cmd, screen } = COMMAND_RULES[r]!;
    let present = false;
    for (let i = 0; i < screen.length && !present; i++) present = t.includes(screen[i]!);
    if (!present) continue;
    const m = re.exec(t);
    if (m && m.index < at) {
      best = cmd;
      at = m.index;
    }
  }
  return best;
}

/**
 * Whether the reply came after the message itself had been transferred (the answer to the end
 * of DATA, RFC 5321 §4.1.1.4), as opposed to an answer to RCPT or to the DATA command. Postfix
 * says "in reply to end of DATA command", Exim "after end of data", qmail "failed after I sent
 * the message", Microsoft and others "while sending the message body". Sendmail's ">>> DATA"
 * is not this: with PIPELINING it reports the refused RCPTs under the DATA command that
 * followed them, before any of the message was sent.
 */
export function refusedAfterBody(text: string): boolean {
  return AFTER_BODY.test(text);
}
const AFTER_BODY =
  /\bin reply to end of data\b|\bafter end of data\b|\bend of data(?: command)?\b|\bfailed after i sent the message\b|\bafter (?:(?:i |we )?(?:sent|sending|transferring|transmitting) )?the message(?: body| (?:data|content|text))?(?: was (?:sent|transferred))?\b|\bwhile (?:sending|transferring|transmitting) (?:the )?message (?:body|data|content|text)\b|\bafter (?:the )?message (?:body|data|content) (?:was )?(?:sent|transferred|received)\b|\bdid not like our final data\b|\bafter (?:the )?dot\b|\bfor text command\b/i;

/** "host mx.example.com[192.0.2.1]", "host mx.example.com [192.0.2.1]", "Remote-MTA: dns; …". */
export function findRemoteMta(text: string): string | null {
  const patterns = [
    /\bhost\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,}|\[[0-9a-f:.]+\])\s*\[([0-9a-f:.]+)\]/i,
    /\bhost\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\s*\(([0-9a-f:.]+)\)/i,
    /(?:rejected by the server for the recipient domain \S+ by|by|from|connected to|talking to|while talking to)\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\.?\s*\[([0-9a-f:.]+)\]/i,
    // The name starts where a run of name characters starts: tried from inside the run, it would
    // read the rest of the run again from every character of a long dotted token.
    /(?:^|[^a-z0-9.-])\b([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\.?\s*\[([0-9a-f:.]{7,})\](?::\d+)?\s*(?:said|did not like|failed|refused|:)/i,
    /while talking to\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\.?/i,
    // Exim: "H=mx.example.net [192.0.2.25]" (delay warnings, logs) and "host 192.0.2.25 [192.0.2.25]".
    /(?:\bH=|\bhost\s+)((?:\d{1,3}\.){3}\d{1,3}|[a-z0-9][a-z0-9.-]*\.[a-z]{2,})\s*\[([0-9a-f:.]+)\]/i,
    /(?:connected to|remote host)\s+(\d{1,3}(?:\.\d{1,3}){3})\b/i,
    /\b(\d{1,3}(?:\.\d{1,3}){3}) (?:does not like recipient|failed after i sent the message|did not like)/i,
  ];
  for (const re of patterns) {
    const m = re.exec(text);
    if (m) return m[2] && m[2] !== m[1] ? `${m[1]!.toLowerCase()} [${m[2]}]` : m[1]!.toLowerCase();
  }
  return null;
}

export interface BareReply {
  code: number;
  status: string | null;
  text: string;
}

/**
 * Parses input that is only an SMTP reply, one or several lines ("550-5.1.1 …" / "550 5.1.1 …"),
 * possibly with a "host said:"-style prefix. Returns null when the text is not a reply.
 */
export function parseBareReply(input: string): BareReply | null {
  const lines = splitLines(input)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0 || lines.length > 40) return null;
  // The first line may carry a short prefix such as "host mx.example.com said:".
  const first =
    /^(?:.{0,160}?(?:said|reply|response|error|returned(?: was)?)\s*:\s*)?([245][0-5]\d)(?:[ -]|$)/i.exec(
      lines[0]!,
    );
  if (!first || !plausibleCode(first[1]!)) return null;
  // The rest of the line is the text; a line separator in it (a lone CR, U+2028) is not a reply.
  const rest = lines[0]!.slice(first[0].length);
  if (/[\r\u2028\u2029]/.test(rest)) return null;
  const code = Number(first[1]);
  const texts = [rest.trim()];
  for (const line of lines.slice(1)) {
    // Another recipient's line ("<b@example.org>: host … said: 550 …"): a pasted report about
    // several recipients, not one reply.
    if (
      /^<?[^\s<>@]+@[^\s<>@]+>?\s*:/.test(line) ||
      /\b(?:said|reply|response)\s*:\s*[245]\d\d\b/i.test(line)
    )
      return null;
    const m = /^([245]\d\d)([ -]|$)(.*)$/.exec(line);
    if (m) {
      if (Number(m[1]) !== code) return null;
      texts.push(m[3]!.trim());
    } else if (/^[\w-]+:\s/.test(line) && !/^\d/.test(line)) {
      return null; // a header line: this is a message, not a reply
    } else {
      texts.push(line);
    }
  }
  const joined = texts.join(' ');
  const status = findStatus(joined.slice(0, 12));
  // Continuation lines often repeat the enhanced code ("550-5.7.26 …"): drop the repeats.
  const text = status
    ? joined.replace(new RegExp(`(^|\\s)${status.replace(/\./g, '\\.')}(?=\\s|$)`, 'g'), '$1')
    : joined;
  return { code, status, text: squash(text) };
}
