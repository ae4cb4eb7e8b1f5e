import { firstMatchingLine, splitLines } from './lines.js';
import { MAX_DIAGNOSTIC } from './record.js';
import { findRemoteMta, joinMultiline, squash } from './reply.js';

/**
 * The notice of a report (its text before the returned message) as the records read it: the
 * text about one recipient made into its diagnostic (without the greeting lines, the trailer
 * paragraphs and the address that starts it), and what several records read from the whole
 * notice, worked out once.
 */

/**
 * The notice (the report's text before the returned message) and what the records read from
 * it, each worked out once however many records there are.
 */
export class Notice {
  #context?: string;
  #plain?: string;
  #remote?: string | null;
  readonly #replies = new Map<string, string>();
  readonly #blocks = new Map<string, BlockText>();
  readonly #plainBlocks = new Map<string, BlockText>();
  readonly #remotes = new Map<string, string | null>();
  constructor(readonly text: string) {}
  /**
   * A recipient's text read for its diagnostic (without the trailer paragraphs when `trailers`
   * is true), once per distinct text: recipients named on one line share that line.
   */
  block(text: string, trailers = true): BlockText {
    const memo = trailers ? this.#blocks : this.#plainBlocks;
    let b = memo.get(text);
    if (!b) {
      const flat = squash(trailers ? withoutTrailer(text) : text);
      b = { flat, bare: flat.replace(/[<>:]/g, '').trim(), joined: joinMultiline(flat) };
      memo.set(text, b);
    }
    return b;
  }
  /** findRemoteMta of a recipient's text, once per distinct text. */
  remoteIn(text: string): string | null {
    let r = this.#remotes.get(text);
    if (r === undefined) this.#remotes.set(text, (r = findRemoteMta(text)));
    return r;
  }
  /** Whitespace-normalised, at most 4000 characters: the context of a record without its own text. */
  get context(): string {
    return (this.#context ??= squash(this.text).slice(0, 4000));
  }
  /** Without the greeting lines (stripBoilerplate). */
  get withoutBoilerplate(): string {
    return (this.#plain ??= stripBoilerplate(this.text));
  }
  get remoteMta(): string | null {
    if (this.#remote === undefined) this.#remote = findRemoteMta(this.text);
    return this.#remote;
  }
  /** replyLines of the notice, per code. */
  replyLines(code: string): string {
    let lines = this.#replies.get(code);
    if (lines === undefined) this.#replies.set(code, (lines = replyLines(this.text, code)));
    return lines;
  }
}

interface BlockText {
  /** Whitespace-normalised (squash). */
  flat: string;
  /** flat without "<", ">" and ":": equal to the address when the text is only the address. */
  bare: string;
  /** flat with a multi-line reply joined (joinMultiline). */
  joined: string;
}

/** The lines of a text that are lines of a reply with this code ("550-…", "<<< 550 …"), joined. */
export function replyLines(text: string, code: string): string {
  return splitLines(text)
    .map((l) => l.replace(/^\s*(?:<<<\s*)?/, ''))
    .filter((l) => l.startsWith(`${code}-`) || l.startsWith(`${code} `))
    .join(' ');
}

/**
 * Paragraphs MTAs put after the per-recipient reasons (Exim's delay warning: "No action is
 * required on your part. Delivery attempts will continue…"): the reason ends where they start.
 */
const TRAILERS = [
  /^[ \t]*(?:no action is required on your part|delivery attempts will continue|eventually the mail delivery software will give up|this warning may be repeated|you will be notified if|please do not reply to this (?:message|e-?mail))/i,
];

function withoutTrailer(block: string): string {
  const m = firstMatchingLine(block, TRAILERS);
  return m ? block.slice(0, m.index) : block;
}

/**
 * A reason the notice labels as one, for a recipient whose own text says nothing: Haraka's
 * template puts "Intended Recipients: <…>" and "Failure Reason: …" under qmail's greeting.
 */
const LABELLED_REASON = [/^[ \t]*failure reason:[ \t]*/i];

function labelledReason(text: string): string | null {
  const m = firstMatchingLine(text, LABELLED_REASON);
  if (!m) return null;
  const rest = text.slice(m.index + m.length);
  const line = squash(rest.slice(0, rest.search(/[\r\n]|$/)));
  return line || null;
}

export function diagnosticOf(block: string, notice: Notice, recipient: string): string {
  const own = notice.block(block);
  const silent = !own.flat || own.bare === recipient;
  const labelled = labelledReason(silent ? notice.text : block);
  if (labelled) return labelled.slice(0, MAX_DIAGNOSTIC);
  const flat = silent ? notice.block(notice.withoutBoilerplate, false).joined : own.joined;
  return (recipient ? withoutLeadingAddress(flat, recipient) : flat).slice(0, MAX_DIAGNOSTIC);
}

/**
 * Drops the greeting lines most MTAs put before the reason (qmail's, which Haraka copies, say
 * "I'm afraid I wasn't able to deliver your message … to the following addresses. This is a
 * permanent error; I've given up.").
 */
export function stripBoilerplate(notice: string): string {
  return splitLines(notice)
    .filter(
      (l) =>
        !/^(?:this is the (?:mail system|qmail-send program|postfix program)|i'?m sorry to have to inform you|for further assistance|if you do so, please include|delete your own text|the mail system|this message was created automatically|hi\. this is the|i'?m afraid i wasn'?t able to deliver your message|to the following addresses\.$|this is a permanent error; i'?ve given up)/i.test(
          l.trim(),
        ),
    )
    .join('\n');
}

/** Not a word character of a pattern without the u flag (`\W`). */
const isNonWord = (c: string | undefined): boolean => c !== undefined && !/\w/.test(c);
const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/**
 * The text without the address that starts it: what `^\W*<address>>?\s*:?\s*` (case-
 * insensitive) removes. The address can start only where the leading non-word characters
 * end, less the non-word characters the address itself starts with — one place to compare,
 * where the pattern would try every one of them.
 */
export function withoutLeadingAddress(text: string, address: string): string {
  let words = 0;
  while (isNonWord(text[words])) words++;
  let lead = 0;
  while (isNonWord(address[lead])) lead++;
  // An "address" of non-word characters only (never a real one) can start at any of them.
  const candidates = lead === address.length ? range(words - address.length, 0) : [words - lead];
  const at = candidates.find((j) => j >= 0 && sameIgnoringCase(text.slice(j, j + address.length), address));
  if (at === undefined) return text;
  let end = at + address.length;
  if (text[end] === '>') end++;
  while (isSpace(text[end])) end++;
  if (text[end] === ':') end++;
  while (isSpace(text[end])) end++;
  return text.slice(end);
}

/** from, from - 1, …, to. */
function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i >= to; i--) out.push(i);
  return out;
}

/** Equal as a pattern with the i flag (and without u) compares them, character by character. */
function sameIgnoringCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && canonical(a[i]!) !== canonical(b[i]!)) return false;
  return true;
}

/** ECMA-262 Canonicalize without the u flag: upper case, unless that leaves one character or crosses into ASCII. */
function canonical(c: string): string {
  const upper = c.toUpperCase();
  if (upper.length !== 1) return c;
  return c.charCodeAt(0) >= 128 && upper.charCodeAt(0) < 128 ? c : upper;
}
