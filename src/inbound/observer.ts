/**
 * What the receiver sees of a client's manners, from the bytes alone: the session's
 * transcript (commands and replies, not the message), commands sent before the greeting
 * (early talking), and commands sent before the reply to a command that must end a pipelined
 * group (RFC 2920 §3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP; RFC 3207 §4: STARTTLS;
 * RFC 4954 §4: AUTH), or any command while a reply is owed when PIPELINING was not offered.
 * Pure: the receiver feeds it what was received and sent, in order. Everything it keeps is
 * bounded.
 */

export interface TranscriptLine {
  /** Milliseconds since the connection was accepted. */
  atMs: number;
  /** C: the client, S: the receiver, I: a note of the receiver (TLS started). */
  dir: 'C' | 'S' | 'I';
  line: string;
}

export interface PipeliningMisuse {
  /** The command whose reply the client did not wait for. */
  after: string;
  /** The command it sent too early. */
  next: string;
  atMs: number;
}

export interface ObservedSession {
  /** Bytes the client sent before the greeting, and how they began. */
  earlyTalk?: { bytes: number; preview: string };
  pipeliningOffered: boolean;
  /** Commands sent before a reply they had to wait for (the first few). */
  pipeliningMisuse: PipeliningMisuse[];
  /** Groups of commands sent without waiting, where that is allowed. */
  pipelinedGroups: number;
  transcript: TranscriptLine[];
  /** Lines left out of the transcript once it was full. */
  transcriptOmitted: number;
  commands: number;
}

/** Commands that must be the last of a pipelined group. */
const LAST_IN_GROUP = new Set([
  'EHLO',
  'HELO',
  'LHLO',
  'DATA',
  'VRFY',
  'EXPN',
  'TURN',
  'QUIT',
  'NOOP',
  'STARTTLS',
  'AUTH',
]);
const MAX_TRANSCRIPT = 300;
const MAX_LINE_CHARS = 300;
const MAX_PENDING_BYTES = 4096;
const MAX_MISUSE = 10;
const PREVIEW_CHARS = 80;

/** Control characters become a visible dot; the line is cut to `max` characters. */
export function printable(text: string, max = MAX_LINE_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '·');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function verbOf(line: string): string {
  const m = /^\s*([A-Za-z]{1,12})/.exec(line);
  return m ? m[1]!.toUpperCase() : '?';
}

export class SessionObserver {
  private readonly started: number;
  private mode: 'command' | 'data' = 'command';
  private pending = '';
  private dataTail = '';
  private replyBuffer = '';
  private greeted = false;
  /** Commands (and ends of message) still owed a reply, oldest first. */
  private owed: { verb: string; flagged: boolean }[] = [];
  private groupFlagged = false;
  private earlyBytes = 0;
  private earlyPreview = '';
  private readonly out: ObservedSession = {
    pipeliningOffered: false,
    pipeliningMisuse: [],
    pipelinedGroups: 0,
    transcript: [],
    transcriptOmitted: 0,
    commands: 0,
  };

  constructor(private readonly now: () => number = () => performance.now()) {
    this.started = now();
  }

  private at(): number {
    return Math.round(this.now() - this.started);
  }

  private note(dir: TranscriptLine['dir'], line: string): void {
    if (this.out.transcript.length >= MAX_TRANSCRIPT) this.out.transcriptOmitted++;
    else this.out.transcript.push({ atMs: this.at(), dir, line: printable(line) });
  }

  /** The receiver found `bytes` waiting when it was about to greet: the client talked first. */
  talkedEarly(bytes: number): void {
    if (bytes <= 0) return;
    this.earlyBytes = bytes;
    this.out.earlyTalk = { bytes, preview: '' };
  }

  /** Bytes from the client (the plaintext socket, then the TLS socket). */
  received(chunk: Buffer | string): void {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    if (this.earlyBytes > 0 && this.out.earlyTalk && this.earlyPreview.length < PREVIEW_CHARS) {
      this.earlyPreview += text.slice(0, Math.min(this.earlyBytes, PREVIEW_CHARS - this.earlyPreview.length));
      this.out.earlyTalk.preview = printable(this.earlyPreview.split(/\r?\n/)[0] ?? '', PREVIEW_CHARS);
    }
    this.earlyBytes = Math.max(0, this.earlyBytes - text.length);
    while (text.length > 0) {
      if (this.mode === 'data') {
        const data = this.owed.find((o) => o.verb === 'DATA');
        if (data && !data.flagged) {
          // The message before the 354 that invites it.
          this.misuse(data, 'message');
        }
        const joined = this.dataTail + text;
        const end = joined.indexOf('\r\n.\r\n');
        if (end < 0) {
          this.dataTail = joined.slice(-4);
          return;
        }
        this.note('C', '<message>');
        this.note('C', '.');
        this.owed.push({ verb: '.', flagged: false });
        this.mode = 'command';
        text = joined.slice(end + 5);
        this.dataTail = '';
        continue;
      }
      const nl = text.indexOf('\n');
      if (nl < 0) {
        this.pending = (this.pending + text).slice(0, MAX_PENDING_BYTES);
        return;
      }
      const line = (this.pending + text.slice(0, nl)).replace(/\r$/, '');
      this.pending = '';
      text = text.slice(nl + 1);
      this.command(line);
    }
  }

  private command(line: string): void {
    const verb = verbOf(line);
    this.out.commands++;
    this.note('C', verb === 'AUTH' ? 'AUTH …' : line);
    if (this.greeted && this.owed.length > 0) {
      // A must-be-last command still waiting for its reply, or any command without PIPELINING.
      const after =
        this.owed.find((o) => LAST_IN_GROUP.has(o.verb)) ??
        (this.out.pipeliningOffered ? undefined : this.owed[this.owed.length - 1]);
      if (after) {
        if (!after.flagged) this.misuse(after, verb);
      } else if (!this.groupFlagged) {
        this.out.pipelinedGroups++;
        this.groupFlagged = true;
      }
    }
    if (this.owed.length < 1000) this.owed.push({ verb, flagged: false });
    // DATA is answered 354 and the content follows; smtp-server reads what comes after
    // DATA as the message at once, so the observer does too.
    if (verb === 'DATA') {
      this.mode = 'data';
      this.dataTail = '\r\n';
    }
  }

  /** Records that `next` came before the reply to `after` (once per command waited for). */
  private misuse(after: { verb: string; flagged: boolean }, next: string): void {
    after.flagged = true;
    if (this.out.pipeliningMisuse.length < MAX_MISUSE)
      this.out.pipeliningMisuse.push({ after: after.verb, next, atMs: this.at() });
  }

  /** Bytes the receiver wrote to the client. */
  sent(chunk: Buffer | string): void {
    this.replyBuffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (;;) {
      const nl = this.replyBuffer.indexOf('\n');
      if (nl < 0) break;
      const line = this.replyBuffer.slice(0, nl).replace(/\r$/, '');
      this.replyBuffer = this.replyBuffer.slice(nl + 1);
      this.reply(line);
    }
    if (this.replyBuffer.length > MAX_PENDING_BYTES) this.replyBuffer = '';
  }

  private reply(line: string): void {
    this.note('S', line);
    const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!m) return;
    if (/^PIPELINING\b/i.test(m[3] ?? '')) this.out.pipeliningOffered = true;
    if (m[2] === '-') return;
    if (!this.greeted) {
      this.greeted = true;
      return;
    }
    const answered = this.owed.shift()?.verb;
    if (this.owed.length === 0) this.groupFlagged = false;
    // DATA refused (no valid recipient): the client stays in command mode.
    if (answered === 'DATA' && m[1] !== '354' && this.mode === 'data' && this.dataTail === '\r\n') {
      this.mode = 'command';
    }
  }

  /** The TLS handshake succeeded: the client starts again with EHLO (RFC 3207 §4.2). */
  tlsStarted(description: string): void {
    this.note('I', description);
    this.pending = '';
    this.mode = 'command';
    this.owed = [];
    this.out.pipeliningOffered = false;
  }

  result(): ObservedSession {
    return structuredClone(this.out);
  }
}
