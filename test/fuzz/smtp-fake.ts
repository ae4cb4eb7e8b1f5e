import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import fc from 'fast-check';
import { createTestPki } from '../support/test-ca.js';
import { burstArb, ehloLinesArb, encodeLines, replyLinesArb } from './smtp-arbitraries.js';

/**
 * A loopback SMTP "server" that plays a random script per connection, for fuzzing the
 * client side: it writes what the script says (replies, garbage, NULs, endless lines) in
 * random chunks with random pauses, waits for client lines where the script says so (so
 * replies land on random commands, in random orders), can switch to TLS when the script
 * says so, and ends by closing, resetting or going silent. Every line the client sends is
 * recorded, so that a property can say "the client never sent DATA or BDAT".
 */

export type ServerStep =
  /** Write bytes, cut into chunks of the given sizes (the rest at once), `trickleMs` apart. */
  | { op: 'send'; bytes: Uint8Array; chunks: number[]; trickleMs: number }
  /** A line that does not end: `length` bytes of one value, in chunks of `chunk` bytes. */
  | { op: 'endless'; byte: number; length: number; chunk: number; trickleMs: number }
  /** Wait for the next line from the client (or for it to hang up). */
  | { op: 'await' }
  | { op: 'pause'; ms: number }
  /** Become the TLS server side of the connection (as after "220 Ready to start TLS"). */
  | { op: 'tls' };

export interface ServerScript {
  steps: ServerStep[];
  /** What happens after the last step: FIN, RST, or keep the connection open and silent. */
  end: 'close' | 'reset' | 'hang';
}

export interface PlayedConnection {
  /** Every line the client sent, in order. */
  clientLines: string[];
  /** Resolves when the client's connection is gone. */
  closed: Promise<void>;
  /** Bytes the script wrote. */
  bytesSent: number;
  /**
   * The client began a TLS handshake the script did not answer (after a 220 to STARTTLS):
   * its bytes from there on are not lines and are not recorded.
   */
  clientTls: boolean;
}

const MESSAGE_COMMAND = /^\s*(DATA|BDAT)\b/i;

export function isMessageCommand(line: string): boolean {
  return MESSAGE_COMMAND.test(line);
}

const sendArb: fc.Arbitrary<ServerStep> = fc
  .tuple(
    burstArb,
    fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }),
    fc.constantFrom(0, 0, 0, 0, 1, 3),
  )
  .map(([bytes, chunks, trickleMs]) => ({ op: 'send', bytes, chunks, trickleMs }));

const replyStepArb = (lines: fc.Arbitrary<string[]>): fc.Arbitrary<ServerStep> =>
  fc
    .tuple(lines, fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }))
    .map(([ls, chunks]) => ({ op: 'send', bytes: encodeLines(ls, ['\r\n'], false), chunks, trickleMs: 0 }));

const stepArb: fc.Arbitrary<ServerStep> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ op: 'await' } as const) },
  { weight: 6, arbitrary: replyStepArb(replyLinesArb) },
  { weight: 2, arbitrary: replyStepArb(ehloLinesArb) },
  { weight: 3, arbitrary: sendArb },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(0x41, 0x00, 0x20, 0x2e, 0x0d),
        fc.integer({ min: 100, max: 300_000 }),
        fc.constantFrom(512, 4096, 65_536),
        fc.constantFrom(0, 0, 1),
      )
      .map(
        ([byte, length, chunk, trickleMs]) => ({ op: 'endless', byte, length, chunk, trickleMs }) as const,
      ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ op: 'pause', ms }) as const) },
  { weight: 1, arbitrary: fc.constant({ op: 'tls' } as const) },
);

/**
 * Replies in the order a plausible server would give them (greeting, EHLO with STARTTLS,
 * 220 and a TLS upgrade, then replies of random codes), with random steps spliced in.
 */
const conversationArb: fc.Arbitrary<ServerStep[]> = fc
  .tuple(
    fc.boolean(),
    fc.array(replyStepArb(replyLinesArb), { maxLength: 10 }),
    fc.array(fc.tuple(fc.nat({ max: 30 }), stepArb), { maxLength: 3 }),
  )
  .map(([tls, replies, splices]) => {
    const line = (text: string): ServerStep => ({
      op: 'send',
      bytes: Buffer.from(`${text}\r\n`),
      chunks: [],
      trickleMs: 0,
    });
    const steps: ServerStep[] = [
      line('220 mx.fuzz.test ESMTP'),
      { op: 'await' },
      line(`250-mx.fuzz.test\r\n250-PIPELINING\r\n${tls ? '250-STARTTLS\r\n' : ''}250 8BITMIME`),
    ];
    if (tls) steps.push({ op: 'await' }, line('220 2.0.0 Ready to start TLS'), { op: 'tls' });
    for (const r of replies) steps.push({ op: 'await' }, r);
    for (const [at, step] of splices) steps.splice(Math.min(at, steps.length), 0, step);
    return steps;
  });

export const scriptArb: fc.Arbitrary<ServerScript> = fc.record({
  steps: fc.oneof({ weight: 2, arbitrary: conversationArb }, fc.array(stepArb, { maxLength: 24 })),
  end: fc.constantFrom('close', 'close', 'close', 'close', 'reset', 'hang'),
});

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/**
 * The server. `play(script)` arms the script for the next connection and returns what that
 * connection did; connections arriving without a script are closed at once.
 */
export class ScriptedSmtpServer {
  port = 0;
  private server: Server | undefined;
  private armed: { script: ServerScript; resolve: (c: PlayedConnection) => void } | undefined;
  private readonly sockets = new Set<Socket>();
  private secureContext: SecureContext | undefined;

  async start(): Promise<this> {
    const leaf = createTestPki('mxdoctor fuzz').leaf({ names: ['mx.fuzz.test'], selfSigned: true });
    this.secureContext = createSecureContext({ key: leaf.keyPem, cert: leaf.certPem });
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /**
   * Arms `script` for the next connection. `connection()` resolves with what that connection
   * did once it is closed (or `waitMs` passed), or with undefined when none arrived within
   * `waitMs` after the client finished (a client aborted before connecting never arrives).
   */
  play(script: ServerScript): { connection(waitMs?: number): Promise<PlayedConnection | undefined> } {
    const arrived = new Promise<PlayedConnection>((resolve) => {
      this.armed = { script, resolve };
    });
    return {
      connection: async (waitMs = 500) => {
        let timer: NodeJS.Timeout | undefined;
        const none = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), waitMs)));
        try {
          const played = await Promise.race([arrived, none]);
          // Every line the client sent is in once its side of the connection is closed.
          if (played) await Promise.race([played.closed, none]);
          return played;
        } finally {
          clearTimeout(timer);
          if (this.armed?.script === script) this.armed = undefined;
        }
      },
    };
  }

  private accept(socket: Socket): void {
    const armed = this.armed;
    this.armed = undefined;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    if (!armed) {
      socket.destroy();
      return;
    }
    let stream: Socket | TLSSocket = socket;
    let gone = false;
    let buffer = '';
    const pending: string[] = [];
    let wake: (() => void) | undefined;
    const played: PlayedConnection = {
      clientLines: [],
      bytesSent: 0,
      clientTls: false,
      closed: new Promise<void>((resolve) =>
        socket.once('close', () => {
          gone = true;
          this.sockets.delete(socket);
          wake?.();
          resolve();
        }),
      ),
    };
    const onData = (chunk: Buffer): void => {
      if (played.clientTls) return;
      buffer += chunk.toString('latin1');
      for (;;) {
        // A TLS record (ClientHello) right after STARTTLS — in the same packet or the next —
        // is a handshake the script did not expect, not a command line.
        if (stream === socket && buffer.charCodeAt(0) === 0x16 && played.clientLines.at(-1) === 'STARTTLS') {
          played.clientTls = true;
          buffer = '';
          break;
        }
        const i = buffer.indexOf('\n');
        if (i < 0) break;
        const line = buffer.slice(0, i).replace(/\r$/, '');
        buffer = buffer.slice(i + 1);
        played.clientLines.push(line);
        pending.push(line);
      }
      wake?.();
    };
    socket.on('data', onData);
    const nextLine = (): Promise<void> =>
      new Promise((resolve) => {
        if (pending.length > 0 || gone) {
          pending.shift();
          return resolve();
        }
        wake = () => {
          wake = undefined;
          pending.shift();
          resolve();
        };
      });
    const write = async (bytes: Uint8Array, chunks: readonly number[], trickleMs: number): Promise<void> => {
      let at = 0;
      for (const size of [...chunks, bytes.length]) {
        if (gone || at >= bytes.length) return;
        const part = bytes.subarray(at, at + size);
        at += part.length;
        played.bytesSent += part.length;
        stream.write(part);
        await delay(trickleMs);
      }
    };
    const upgrade = (): Promise<void> =>
      new Promise((resolve) => {
        socket.removeListener('data', onData);
        const secure = new TLSSocket(socket, { isServer: true, secureContext: this.secureContext! });
        secure.on('error', () => {
          socket.destroy();
          resolve();
        });
        secure.once('secure', () => {
          stream = secure;
          secure.on('data', onData);
          resolve();
        });
      });
    const run = async (): Promise<void> => {
      for (const step of armed.script.steps) {
        if (gone) return;
        switch (step.op) {
          case 'send':
            await write(step.bytes, step.chunks, step.trickleMs);
            break;
          case 'endless': {
            const block = Buffer.alloc(step.chunk, step.byte);
            for (let sent = 0; sent < step.length && !gone; sent += step.chunk) {
              const part = block.subarray(0, Math.min(step.chunk, step.length - sent));
              played.bytesSent += part.length;
              // Respect back-pressure: a client that stops reading must not fill our memory.
              if (!stream.write(part)) await new Promise((r) => setTimeout(r, 1));
              await delay(step.trickleMs);
            }
            break;
          }
          case 'await':
            await nextLine();
            break;
          case 'pause':
            await delay(step.ms);
            break;
          case 'tls':
            await upgrade();
            break;
        }
      }
      if (gone) return;
      if (armed.script.end === 'close') stream.end();
      else if (armed.script.end === 'reset') socket.resetAndDestroy();
      // 'hang': keep the connection open and say nothing until the client leaves.
    };
    armed.resolve(played);
    run().catch(() => socket.destroy());
  }
}
