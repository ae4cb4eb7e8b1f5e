/**
 * Splitting an mbox into its messages, fed in chunks so that a mailbox of any size is read
 * with bounded memory: at most one message (up to the size limit) plus one line is held.
 * Pure: bytes in, messages out; the command line does the reading (src/cli/bounce-mailbox.ts).
 *
 * A file is an mbox when its first line is a "From " separator (the envelope sender and an
 * asctime date, as mbox writers put before every message); every later separator line starts
 * the next message. Anything else is one message, as `mxdoctor bounce FILE` reads it.
 */

/** An mbox separator line (without its line end). Linear: no nested or adjacent open repeats. */
const SEPARATOR =
  /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d(?: \S+)? \d{4}[ \t]*\r?$/;

/** Longest line looked at as a possible separator; longer "From " lines are message text. */
const MAX_SEPARATOR = 1024;

const FROM_LINE = Buffer.from('\nFrom ');

export function isMboxSeparator(line: string): boolean {
  return line.length <= MAX_SEPARATOR && SEPARATOR.test(line);
}

/** Whether bytes that begin a file begin an mbox (its first line a separator). */
export function startsMbox(head: Buffer): boolean {
  const nl = head.indexOf(0x0a);
  return nl >= 0 && isMboxSeparator(head.toString('latin1', 0, Math.min(nl, MAX_SEPARATOR + 1)));
}

/**
 * A whole file that plainly holds one message (its first line read and not a separator, and
 * within the size limit): that message, as MboxSplitter would return it, without the
 * splitter's copies and bookkeeping. Null when the splitter must decide.
 */
export function singleMessage(bytes: Buffer, maxBytes: number): MailboxMessage | null {
  if (bytes.length === 0 || bytes.length > maxBytes) return null;
  // As MboxSplitter.push: a short first chunk without a line end is kept until more comes.
  if (bytes.indexOf(0x0a) < 0 && bytes.length <= MAX_SEPARATOR + 1) return null;
  return startsMbox(bytes) ? null : { size: bytes.length, bytes };
}

/** One message of the input: its bytes, or only its size when it is over the limit. */
export interface MailboxMessage {
  /** Position in the mbox, from 1; undefined when the input is a single message. */
  number?: number;
  /** The message, "From " line included; undefined when over the size limit. */
  bytes?: Buffer;
  /** Its size in bytes. */
  size: number;
}

/**
 * Push chunks in order, then call end(); each call returns the messages completed so far.
 * Messages larger than `maxBytes` are returned without their bytes (the caller reports them
 * as too large), and are never held in memory whole.
 */
export class MboxSplitter {
  /** Unknown until the first line is seen. */
  private mbox: boolean | undefined;
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes not yet assigned: the start of a line that may be a separator. */
  private carry: Buffer = Buffer.alloc(0);
  private count = 0;
  private ended = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): MailboxMessage[] {
    if (this.ended) throw new Error('MboxSplitter: push after end');
    let buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    if (this.mbox === undefined) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0 && buf.length <= MAX_SEPARATOR + 1) {
        this.carry = buf;
        return [];
      }
      this.mbox = startsMbox(buf);
    }
    if (!this.mbox) {
      this.add(buf);
      return [];
    }
    const out: MailboxMessage[] = [];
    let start = 0; // start of the bytes not yet added to the current message
    let pos = 0;
    for (;;) {
      const i = buf.indexOf(FROM_LINE, pos);
      if (i < 0) break;
      const end = buf.indexOf(0x0a, i + 1);
      if (end < 0) {
        if (buf.length - i <= MAX_SEPARATOR + 2) {
          // The candidate line goes on in the next chunk: keep it, with its "\n", for then.
          this.add(buf.subarray(start, i));
          this.carry = buf.subarray(i);
          return out;
        }
        break;
      }
      if (isMboxSeparator(buf.toString('latin1', i + 1, Math.min(end, i + 2 + MAX_SEPARATOR)))) {
        this.add(buf.subarray(start, i + 1));
        out.push(this.finish());
        start = i + 1;
      }
      pos = end;
    }
    // A separator may begin right at the end of this chunk ("\nFro" + "m …"): keep the last line's start.
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl >= start && buf.length - lastNl <= FROM_LINE.length) {
      this.add(buf.subarray(start, lastNl));
      this.carry = buf.subarray(lastNl);
    } else this.add(buf.subarray(start));
    buf = Buffer.alloc(0);
    return out;
  }

  end(): MailboxMessage[] {
    if (this.ended) return [];
    this.ended = true;
    if (this.carry.length) {
      if (this.mbox === undefined) this.mbox = false;
      this.add(this.carry);
      this.carry = Buffer.alloc(0);
    }
    if (this.mbox === undefined) return [];
    if (!this.mbox) {
      const m = this.finish();
      delete m.number;
      return [m];
    }
    const last = this.finish();
    // An mbox of one message is a message with a "From " line: no number, as for any file.
    if (this.count === 1) delete last.number;
    return last.size > 0 && (last.bytes === undefined || last.bytes.toString('latin1').trim()) ? [last] : [];
  }

  private add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.maxBytes) this.parts = [];
    else this.parts.push(bytes);
  }

  private finish(): MailboxMessage {
    this.count++;
    const m: MailboxMessage = {
      number: this.count,
      size: this.size,
      ...(this.size > this.maxBytes ? {} : { bytes: Buffer.concat(this.parts) }),
    };
    this.parts = [];
    this.size = 0;
    return m;
  }
}
