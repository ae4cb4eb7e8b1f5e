import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { BOUNCE_ACCEPTS, BounceInputError } from '../bounce/errors.js';
import { MboxSplitter, singleMessage, startsMbox } from '../bounce/mailbox.js';
import type { MailboxMessage } from '../bounce/mailbox.js';
import type { BounceRecord, Diagnosis } from '../bounce/model.js';
import type { Config } from '../config/index.js';
import { saveCodeCacheNow } from './bundle-hooks.js';
import { EXIT, UsageError } from './errors.js';
// Not through ./format.js: that would load the check report's formatting and its zod schemas.
import { visibleControls as safeText } from '../report/visible-text.js';

/**
 * `mxdoctor bounce` over a mailbox: several files, folders (a Maildir's cur/ and new/, or a
 * folder of messages) and mboxes, every message diagnosed in this one process. With --json,
 * one JSON object per line and message; without, one line per message and a table by reason.
 * A message that cannot be used is reported on its line and the run goes on.
 */

/** One output line of --json. */
export interface MailboxLine {
  /** The file, as given or inside a given folder. */
  file: string;
  /** For an mbox of several messages: the message's number in it, from 1. */
  message?: number;
  diagnosis?: Diagnosis;
  /** Why the message could not be diagnosed (the code of BounceInputError, or internal_error). */
  error?: { code: string; message: string };
}

export interface MailboxOptions {
  /** Largest message diagnosed, in bytes (config.bounce.maxBytes). */
  maxBytes: number;
  /** The follow-up checks of each diagnosis and the configuration they run with; none when absent. */
  followups?: { config: Config; smtp: boolean };
  json: boolean;
  color: boolean;
  /** Also print each message's full diagnosis, as for one message with -v. */
  verbose: boolean;
  /** Follow-ups of this many messages at once (they wait on the network). */
  concurrency?: number;
}

/** Files up to this size are read whole; larger ones (big mboxes) are streamed. */
const READ_WHOLE = 16 * 1024 * 1024;
const STREAM_CHUNK = 1024 * 1024;
/** Bytes read first from every file: the whole of most messages. */
const scratch = Buffer.allocUnsafe(64 * 1024);
/** Bytes enough to see whether a file starts as an mbox. */
const MBOX_HEAD = 1100;

interface Source {
  file: string;
  /** Undefined for standard input. */
  path?: string;
}

/** The files the arguments name, folders expanded, in order. Usage errors for paths that are neither. */
export async function mailboxSources(
  inputs: readonly string[],
): Promise<{ sources: Source[]; notes: string[] }> {
  const sources: Source[] = [];
  const notes: string[] = [];
  for (const input of inputs.length ? inputs : ['-']) {
    if (input === '-') {
      sources.push({ file: '-' });
      continue;
    }
    let s;
    try {
      s = await stat(input);
    } catch (err) {
      throw new UsageError(
        `cannot read ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`,
      );
    }
    if (s.isFile()) sources.push({ file: input, path: input });
    else if (s.isDirectory()) sources.push(...(await folderSources(input, notes)));
    else throw new UsageError(`${input} is neither a file nor a folder. ${BOUNCE_ACCEPTS}`);
  }
  return { sources, notes };
}

/** A Maildir (its cur/ and new/, not tmp/) or a folder of messages: its regular, non-hidden files by name. */
async function folderSources(dir: string, notes: string[]): Promise<Source[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const sub = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  const maildir = sub.has('cur') || sub.has('new');
  const folders = maildir ? ['cur', 'new'].filter((f) => sub.has(f)).map((f) => join(dir, f)) : [dir];
  const out: { name: string; path: string }[] = [];
  let skipped = 0;
  for (const folder of folders) {
    const list = folder === dir ? entries : await readdir(folder, { withFileTypes: true });
    // join(folder, name) for a name of one component (no "/", not "." or ".."): the folder's
    // part of it is the same for every name, so join is asked once, not once per file.
    const prefix = join(folder, 'x').slice(0, -1);
    for (const e of list) {
      if (e.name.startsWith('.')) continue;
      const path = prefix + e.name;
      if (e.isFile()) out.push({ name: e.name, path });
      else if (e.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())
        out.push({ name: e.name, path });
      else skipped++;
    }
  }
  if (skipped) {
    notes.push(
      `${dir}: ${skipped} entr${skipped === 1 ? 'y that is' : 'ies that are'} not a file not read (folders inside are not searched; give them as arguments)`,
    );
  }
  // Maildir names begin with the delivery time: by name is by arrival, across cur/ and new/.
  // (Compared by code point: the same order for those names, and localeCompare cost 12 ms for
  // 2,400 files.)
  const byCodePoint = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return out
    .sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(a.path, b.path))
    .map(({ path }) => ({ file: path, path }));
}

/**
 * The messages of one source, with their bytes unless over the limit: those of a local file
 * that is read whole as an array, those of standard input and of a large file streamed as
 * they come. An array is walked without an await per message: an async generator's step is a
 * promise and a turn of the microtask queue, for what is nearly always one message already in
 * hand (over the corpus ×10, 86M instructions of the run's ~5.6G).
 */
function messagesOf(source: Source, maxBytes: number): MailboxMessage[] | AsyncIterable<MailboxMessage> {
  if (!source.path) return streamedMessages(process.stdin, maxBytes);
  return (
    fileMessages(source.path, maxBytes) ??
    streamedMessages(createReadStream(source.path, { highWaterMark: STREAM_CHUNK }), maxBytes)
  );
}

/**
 * The messages of a local file read whole, or undefined when it is too large to be (an mbox of
 * more than READ_WHOLE bytes, streamed instead).
 */
function fileMessages(path: string, maxBytes: number): MailboxMessage[] | undefined {
  // Local files, read synchronously: four thread-pool round trips per file (open, stat, read,
  // close) cost more than the read itself, and nothing else runs meanwhile without follow-ups.
  const fd = openSync(path, 'r');
  let whole: Buffer | undefined;
  let tooLarge: number | undefined;
  try {
    // Most messages are a few kilobytes: a read into the scratch buffer that stops short of its
    // end has read the whole file (a regular file's read is short only at its end), and the
    // file's size need not be asked for (a system call less per message).
    const first = readSync(fd, scratch, 0, scratch.length, 0);
    const size = first < scratch.length ? first : fstatSync(fd).size;
    // Too large for one message: read on only if it is an mbox (its first line a separator).
    if (size > maxBytes && !startsMbox(scratch.subarray(0, Math.min(first, MBOX_HEAD)))) tooLarge = size;
    // A copy: the scratch buffer is read into again for the next file.
    else if (first < scratch.length) whole = Buffer.from(scratch.subarray(0, first));
    else if (size <= READ_WHOLE) {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      for (let n = -1; got < size && n !== 0; got += n) n = readSync(fd, buf, got, size - got, got);
      whole = buf.subarray(0, got);
    }
  } finally {
    closeSync(fd);
  }
  if (tooLarge !== undefined) return [{ size: tooLarge }];
  if (!whole) return undefined;
  // Most files are one message: no need to split them.
  const single = singleMessage(whole, maxBytes);
  if (single) return [single];
  const splitter = new MboxSplitter(maxBytes);
  return [...splitter.push(whole), ...splitter.end()];
}

/** The messages of a stream of bytes, split as they come. */
async function* streamedMessages(
  chunks: AsyncIterable<unknown>,
  maxBytes: number,
): AsyncGenerator<MailboxMessage> {
  const splitter = new MboxSplitter(maxBytes);
  for await (const chunk of chunks) yield* splitter.push(chunk as Buffer);
  yield* splitter.end();
}

/**
 * Hands every message of the sources to `take`, in order, waiting only when it returns a
 * promise; a source that cannot be read goes to `unreadable` instead, and the run goes on.
 */
async function eachMessage(
  sources: readonly Source[],
  maxBytes: number,
  take: (source: Source, m: MailboxMessage) => Promise<void> | undefined,
  unreadable: (source: Source, err: unknown) => Promise<void>,
): Promise<void> {
  for (const source of sources) {
    try {
      const messages = messagesOf(source, maxBytes);
      let count = 0;
      if (Array.isArray(messages)) {
        for (; count < messages.length; count++) {
          const pending = take(source, messages[count]!);
          if (pending) await pending;
        }
      } else {
        for await (const m of messages) {
          count++;
          await take(source, m);
        }
      }
      // An empty file is a message that cannot be used, as `mxdoctor bounce FILE` says.
      if (count === 0) await take(source, { size: 0, bytes: Buffer.alloc(0) });
    } catch (err) {
      await unreadable(source, err);
    }
  }
}

/** Bytes of output gathered before a write. */
const OUTPUT_CHUNK = 64 * 1024;

/**
 * Writes to standard output in blocks, waiting when the reader is slower. Each text is encoded
 * into the block on its own: most lines are ASCII and encode fast alone, where a block of
 * lines joined into one string was encoded as a whole, as two-byte text as soon as one of its
 * lines held a character beyond Latin-1 (several times slower: over the corpus ×10, 7 MB of
 * JSON Lines, a fifth of them with such characters).
 */
class Output {
  private block = Buffer.allocUnsafe(OUTPUT_CHUNK);
  private used = 0;
  /** Adds a text; a promise only when a block had to be written first (then wait for it). */
  write(text: string): Promise<void> | undefined {
    // At most 3 bytes of UTF-8 per UTF-16 unit: a text that fits so is written whole.
    if (this.used + text.length * 3 > this.block.length) return this.writeAfterFlush(text);
    this.used += this.block.write(text, this.used);
    return undefined;
  }
  private async writeAfterFlush(text: string): Promise<void> {
    await this.flush();
    if (text.length * 3 > this.block.length) await this.send(text);
    else this.used += this.block.write(text, this.used);
  }
  async flush(): Promise<void> {
    if (!this.used) return;
    const bytes = this.block.subarray(0, this.used);
    // A new block: the stream may hold on to this one until it is written.
    this.block = Buffer.allocUnsafe(OUTPUT_CHUNK);
    this.used = 0;
    await this.send(bytes);
  }
  private async send(data: string | Buffer): Promise<void> {
    if (!process.stdout.write(data)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}

/** V8's settings for a mailbox run (runMailbox sets them before the parser's modules load). */
function tuneForBatch(): void {
  // A mailbox is a batch of some thousands of messages. V8's default tier-up budget, made for
  // programs that run for long, has its optimising compiler spend more CPU on the parser's large
  // functions than it wins back in such a run: over the bounce corpus ×10 (2,390 messages, one
  // core) the run takes 1.6 s of CPU with it and 1.3 s with a budget six times larger, and over
  // ×50 both take 4.6 s (`npm run bench bounce-mailbox`); what stays hot is still optimised.
  setFlagsFromString('--interrupt-budget=400000');
  // And it inlines less into each function it optimises (150 bytes of bytecode in all, not
  // 920): the parser's hot functions call many middle-sized ones (the phrase readers, the
  // literal scanner, the status rules), and compiling them all into each caller cost more than
  // the calls; over the corpus ×10 the run takes some 40 ms less CPU (1.34 → 1.30 s, nine runs
  // each, alternately), over ×50 some 150 ms less (4.71 → 4.53 s).
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=150');
  // Nor does it peel the first turn off the loops it compiles (a copy of the loop's body, so
  // that checks that hold for every turn are made once, before the loop): worth it in a
  // program that runs for long, but here compiling the copies cost more than they saved. Over
  // the corpus ×10: 5,366M → 5,274M instructions (callgrind), 1.05 → 1.01 s of CPU (nine runs
  // each, alternately); ×50: 4.28 → 4.13 s (five each); one message unchanged (nothing is
  // optimised there); 25 runs over ×10 without a crash, output byte-identical.
  setFlagsFromString('--no-turbo-loop-peeling');
  // Each regular expression is compiled to machine code at its first run, not first to V8's
  // regexp interpreter and again to machine code at its second: nearly every expression of the
  // parser runs on thousands of messages. A tier-up threshold of 0 is the state V8 itself gives
  // an expression it marks for tier-up, so expressions created before this (Node's own) are
  // untouched. Over the corpus ×10: 1.34 → 1.30 s of CPU (eleven runs each, alternately); ×50:
  // 4.85 → 4.72 s. (Not --no-regexp-tier-up, which would do the same by switching the
  // mechanism off: switched at run time, once expressions have run, it crashes Node 20 with a
  // segmentation fault in one run out of four over the corpus ×10; this ran 15 times without.)
  setFlagsFromString('--regexp-tier-up-ticks=0');
}

/** What runs the follow-up checks of a diagnosis. */
type FollowUp = (diagnosis: Diagnosis) => Promise<Diagnosis>;

async function followUpWith(settings: NonNullable<MailboxOptions['followups']>): Promise<FollowUp> {
  const { runFollowups } = await import('../bounce/followups/index.js');
  return (diagnosis) => runFollowups(diagnosis, settings);
}

/** Diagnoses every message; returns the exit code. */
export async function runMailbox(inputs: readonly string[], options: MailboxOptions): Promise<number> {
  const { sources, notes } = await mailboxSources(inputs);
  for (const n of notes) process.stderr.write(`mxdoctor: ${n}\n`);
  const { maxBytes } = options;
  // The code cache of what ran so far, before the flags change (src/cli/bundle-hooks.ts says why).
  saveCodeCacheNow();
  // Before the parser's modules load, so that their functions get the settings.
  tuneForBatch();
  // The parser itself, not bounce/index.js, whose model loads zod and the diagnosis's schemas.
  const { diagnoseBounceSync, formatSize } = await import('../bounce/diagnose.js');
  const followUp = options.followups ? await followUpWith(options.followups) : undefined;
  const format = options.verbose && !options.json ? await import('./format-bounce.js') : undefined;
  const out = new Output();
  const summary = new Summary();

  /** The diagnosis of one message; throws as diagnoseBounce does, or when it is too large. */
  const diagnosisOf = (m: MailboxMessage): Diagnosis => {
    if (!m.bytes) {
      throw new BounceInputError(
        'too_large',
        `The message is ${formatSize(m.size)}, more than the limit of ${formatSize(maxBytes)} (MXDOCTOR_BOUNCE_MAX_SIZE).`,
      );
    }
    return diagnoseBounceSync(m.bytes, { maxBytes });
  };
  const lineOf = (source: Source, m: MailboxMessage): MailboxLine => ({
    file: source.file,
    ...(m.number !== undefined ? { message: m.number } : {}),
  });
  const failed = (line: MailboxLine, err: unknown): MailboxLine => {
    line.error =
      err instanceof BounceInputError
        ? { code: err.code, message: err.message }
        : { code: 'internal_error', message: err instanceof Error ? err.message : String(err) };
    return line;
  };
  const emit = (line: MailboxLine): Promise<void> | undefined => {
    summary.add(line);
    if (options.json) return out.write(`${JSON.stringify(line)}\n`);
    return emitText(line);
  };
  const emitText = async (line: MailboxLine): Promise<void> => {
    await out.write(`${messageLine(line)}\n`);
    if (format && line.diagnosis) {
      const block = format.formatDiagnosis(line.diagnosis, { color: options.color, verbose: true });
      await out.write(`${block.replace(/^(?=.)/gm, '    ')}\n`);
    }
  };

  // Messages are diagnosed in order. Without follow-ups, each at once: the parser does no
  // I/O, and a promise per message and step was some of a mailbox run's cost. With follow-ups
  // (network waits), several at once, their lines still printed in input order.
  const width = Math.max(1, options.concurrency ?? 4);
  const window: Promise<MailboxLine>[] = [];
  const followed = async (source: Source, m: MailboxMessage, then: FollowUp): Promise<MailboxLine> => {
    const line = lineOf(source, m);
    try {
      line.diagnosis = await then(diagnosisOf(m));
    } catch (err) {
      failed(line, err);
    }
    return line;
  };
  const drain = async (): Promise<void> => {
    while (window.length) await emit(await window.shift()!);
  };
  const take = (source: Source, m: MailboxMessage): Promise<void> | undefined => {
    if (followUp) {
      window.push(followed(source, m, followUp));
      return window.length >= width ? window.shift()!.then(emit) : undefined;
    }
    const line = lineOf(source, m);
    try {
      line.diagnosis = diagnosisOf(m);
    } catch (err) {
      failed(line, err);
    }
    return emit(line);
  };
  const unreadable = async (source: Source, err: unknown): Promise<void> => {
    // The file could not be read (removed meanwhile, no permission): its line says so.
    await drain();
    await emit({
      file: source.file,
      error: { code: 'unreadable', message: `cannot read ${source.file}: ${(err as Error).message}` },
    });
  };
  await eachMessage(sources, maxBytes, take, unreadable);
  await drain();
  if (!options.json) await out.write(summary.table(options.color));
  await out.flush();
  if (summary.messages === 0) {
    process.stderr.write(`mxdoctor: no message found in ${inputs.join(', ') || 'standard input'}\n`);
    return EXIT.usage;
  }
  if (summary.internal > 0) return EXIT.internal;
  if (summary.diagnosed === 0) return EXIT.usage;
  return summary.unusable > 0 ? EXIT.fail : EXIT.ok;
}

function label(r: BounceRecord): string {
  if (r.reason === 'delivered' || r.reason === 'vacation' || r.reason === 'feedback') return 'not a bounce';
  if (r.action === 'delayed') return 'delayed';
  return r.hard ? 'hard' : 'soft';
}

/** The line of one message in the human output. */
export function messageLine(line: MailboxLine): string {
  const where = `${safeText(line.file)}${line.message !== undefined ? ` #${line.message}` : ''}`;
  if (line.error) return `${where}  unusable (${line.error.code}): ${safeText(line.error.message)}`;
  const d = line.diagnosis!;
  const record = (r: BounceRecord): string =>
    [r.reason, `(${label(r)})`, r.recipient ? safeText(r.recipient) : '(recipient not named)', r.status ?? '']
      .filter(Boolean)
      .join(' ');
  const n = d.bounces.length;
  if (n === 0) return `${where}  ${d.kind}: no recipient`;
  if (n === 1) return `${where}  ${record(d.bounces[0]!)}`;
  const shown = d.bounces.slice(0, 3).map(record).join('; ');
  return `${where}  ${n} recipients: ${shown}${n > 3 ? `; … ${n - 3} more` : ''}`;
}

/** Counts for the table by reason. */
class Summary {
  messages = 0;
  diagnosed = 0;
  unusable = 0;
  internal = 0;
  recipients = 0;
  private readonly reasons = new Map<string, { count: number; hard: number; soft: number }>();
  private readonly errors = new Map<string, number>();

  add(line: MailboxLine): void {
    this.messages++;
    if (line.error) {
      this.unusable++;
      if (line.error.code === 'internal_error') this.internal++;
      this.errors.set(line.error.code, (this.errors.get(line.error.code) ?? 0) + 1);
      return;
    }
    this.diagnosed++;
    for (const r of line.diagnosis!.bounces) {
      this.recipients++;
      const row = this.reasons.get(r.reason) ?? { count: 0, hard: 0, soft: 0 };
      row.count++;
      if (r.hard) row.hard++;
      else row.soft++;
      this.reasons.set(r.reason, row);
    }
  }

  table(color: boolean): string {
    const bold = (t: string): string => (color ? `\u001b[1m${t}\u001b[0m` : t);
    const rows = [...this.reasons].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
    const width = Math.max(
      16,
      ...rows.map(([reason]) => reason.length),
      ...[...this.errors.keys()].map((code) => `unusable: ${code}`.length),
    );
    const num = (n: number, w: number): string => String(n).padStart(w);
    const lines = [
      '',
      bold(
        `${this.messages} message${this.messages === 1 ? '' : 's'}: ${this.diagnosed} diagnosed, ${this.unusable} unusable; ${this.recipients} recipient${this.recipients === 1 ? '' : 's'}`,
      ),
    ];
    if (rows.length) {
      lines.push(`${'reason'.padEnd(width)}  recipients   hard   soft`);
      for (const [reason, r] of rows)
        lines.push(`${reason.padEnd(width)}  ${num(r.count, 10)} ${num(r.hard, 6)} ${num(r.soft, 6)}`);
    }
    for (const [code, n] of [...this.errors].sort((a, b) => b[1] - a[1]))
      lines.push(`${`unusable: ${code}`.padEnd(width)}  ${num(n, 10)} message${n === 1 ? '' : 's'}`);
    return `${lines.join('\n')}\n`;
  }
}
