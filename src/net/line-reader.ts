import type { Duplex } from 'node:stream';
import { ProbeError } from './errors.js';

/**
 * Bounded line framing over any byte stream (a TCP or TLS socket): splits on LF, strips an
 * optional CR, and fails with ELIMIT when one line or the whole conversation grows past its
 * limit, so a peer that never sends a newline (or never stops) cannot make us buffer without
 * bound. Knows nothing about the protocol; callers interpret the lines. Waiting is bounded
 * by the signal the caller passes (a deadline from net/deadline.ts).
 */
export interface LineLimits {
  /** Longest line accepted, in bytes without the line end. */
  maxLineBytes: number;
  /** Most bytes accepted from the peer over the reader's life. */
  maxTotalBytes: number;
}

const DECODER = new TextDecoder('utf-8', { fatal: false });

export class LineReader {
  /** Bytes received so far. */
  bytesIn = 0;
  private partial: Buffer = Buffer.alloc(0);
  private readonly lines: string[] = [];
  private failure: ProbeError | undefined;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onEnd = (): void =>
    this.fail(new ProbeError('ECONNECTION', 'the server closed the connection'));
  private readonly onError = (err: Error): void =>
    this.fail(new ProbeError('ECONNECTION', `connection error: ${err.message}`, { cause: err }));

  constructor(
    private readonly stream: Duplex,
    private readonly limits: LineLimits,
  ) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
    // A stream handed over paused (e.g. after a proxy handshake) must flow again.
    stream.resume();
  }

  /**
   * Stops reading from the stream (before handing the socket to a TLS upgrade) and returns
   * what had arrived but was not read: a well-behaved peer sends nothing there.
   */
  detach(): string[] {
    this.stream.removeListener('data', this.onData);
    this.stream.removeListener('end', this.onEnd);
    this.stream.removeListener('close', this.onEnd);
    this.stream.removeListener('error', this.onError);
    const rest = [...this.lines];
    if (this.partial.length > 0) rest.push(DECODER.decode(this.partial));
    this.lines.length = 0;
    this.partial = Buffer.alloc(0);
    return rest;
  }

  /** The next complete line; rejects with the stream's failure or the signal's reason. */
  next(signal: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', onAbort);
      };
      const check = (): boolean => {
        const line = this.lines.shift();
        if (line !== undefined) {
          done();
          resolve(line);
          return true;
        }
        if (this.failure) {
          done();
          reject(this.failure);
          return true;
        }
        return false;
      };
      const onAbort = (): void => {
        done();
        const reason: unknown = signal.reason;
        reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
      };
      if (check()) return;
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = () => void check();
    });
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    this.bytesIn += chunk.length;
    if (this.bytesIn > this.limits.maxTotalBytes) {
      this.fail(new ProbeError('ELIMIT', `the server sent more than ${this.limits.maxTotalBytes} bytes`));
      this.stream.destroy();
      return;
    }
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    for (;;) {
      const nl = data.indexOf(0x0a);
      if (nl < 0) break;
      const end = nl > 0 && data[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end > this.limits.maxLineBytes) return this.tooLong();
      this.lines.push(DECODER.decode(data.subarray(0, end)));
      data = data.subarray(nl + 1);
    }
    if (data.length > this.limits.maxLineBytes) return this.tooLong();
    this.partial = Buffer.from(data);
    this.wake?.();
  }

  private tooLong(): void {
    this.partial = Buffer.alloc(0);
    this.fail(
      new ProbeError('ELIMIT', `the server sent a line longer than ${this.limits.maxLineBytes} bytes`),
    );
    this.stream.destroy();
  }

  private fail(err: ProbeError): void {
    if (this.failure) return;
    this.failure = err;
    this.wake?.();
  }
}
