// Long on purpose: one class owns the socket, its bounded line framing, the STARTTLS upgrade
// and the transcript; they share the read buffer and deadline state that must not be split.
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { TLSSocket, PeerCertificate, DetailedPeerCertificate, SecureContext } from 'node:tls';
import type { SocketFactory } from '../net/connect.js';
import { deadline } from '../net/deadline.js';
import { ProbeError, isProbeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';
import { serializeCommand } from './command.js';
import type { SmtpCommand } from './command.js';
import { ReplyAssembler, ReplySyntaxError } from './reply.js';
import type { SmtpReply } from './reply.js';

/**
 * One SMTP client connection: TCP connect, bounded line framing, command writing (only the
 * commands of SmtpCommand: no DATA, no BDAT), the STARTTLS upgrade, and a transcript with
 * millisecond offsets. Every read waits under a deadline and the connection's signal; every
 * byte received counts against the session budget. Interpretation of replies belongs to
 * the session (session.ts); this file only moves lines.
 */

export interface ConnectionLimits {
  /** Longest reply line accepted, in bytes (without CRLF). */
  maxLineBytes: number;
  /** Most lines in one reply. */
  maxReplyLines: number;
  /** Most bytes received over the whole session. */
  maxSessionBytes: number;
}

export interface TranscriptEntry {
  /** Milliseconds since the session started. */
  atMs: number;
  /** C: sent by us; S: received from the server; *: an event (connect, TLS handshake, close). */
  dir: 'C' | 'S' | '*';
  line: string;
}

/**
 * Reply lines the server sent out of turn (RFC 5321 §4.2: one reply per command, in order),
 * as the connection found them: left over when the next command was about to be sent, or in
 * the middle of another reply.
 */
export interface StrayLines {
  /** When the first line arrived, in milliseconds since the session started. */
  atMs: number;
  lines: string[];
  /** The phase of the multi-line reply the lines interrupted, when they came inside one. */
  inside?: string;
}

export type ConnectFailure = 'refused' | 'timeout' | 'unreachable' | 'reset' | 'forbidden' | 'error';

export interface ConnectOptions {
  address: string;
  port: number;
  timeoutMs: number;
  signal: AbortSignal;
  limits: ConnectionLimits;
  /** Opens the TCP connection another way (the SOCKS5 egress proxy); direct when absent. */
  connect?: SocketFactory;
}

export interface TlsUpgradeOptions {
  /** SNI; omitted for IP addresses (RFC 6066 §3 forbids literal addresses). */
  servername: string;
  timeoutMs: number;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

/** What the legacy-TLS session offers: TLS 1.0 and 1.1 only, with OpenSSL's default ciphers at security level 0 (which lets the old ones through). */
export const LEGACY_TLS: Pick<TlsUpgradeOptions, 'minVersion' | 'maxVersion' | 'ciphers'> = {
  minVersion: 'TLSv1',
  maxVersion: 'TLSv1.1',
  ciphers: 'DEFAULT:@SECLEVEL=0',
};

/** Client contexts of STARTTLS by protocol range and ciphers (two in use: the main and the legacy session's). */
const contexts = new Map<string, SecureContext>();
const MAX_CONTEXTS = 8;

/**
 * The client TLS context of a STARTTLS upgrade with these versions and ciphers, built once
 * per process: building one (OpenSSL's context, the placeholder CA parsed) took ~0.3–0.7 ms
 * at every STARTTLS, when the server's "220" was there and the handshake waited for it.
 * Sharing it resumes no session: Node's client contexts keep no session cache, and a session
 * is resumed only when tls.connect is given one, which the probe never does (each handshake
 * must show the server's certificates). Throws as tls.createSecureContext does on bad options.
 */
export function starttlsContext(
  options: Pick<TlsUpgradeOptions, 'minVersion' | 'maxVersion' | 'ciphers'>,
): SecureContext {
  const key = `${options.minVersion ?? ''}|${options.maxVersion ?? ''}|${options.ciphers ?? ''}`;
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({
      // A placeholder CA so that Node does not complete the chain from a trust store:
      // getPeerCertificate(true) then shows exactly what the server presented.
      ca: [PLACEHOLDER_CA],
      ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    });
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    contexts.set(key, context);
  }
  return context;
}

export interface TlsHandshake {
  protocol: string;
  cipher: string;
  /** IANA/RFC cipher suite name, when Node knows it. */
  cipherStandardName?: string;
  /** Key-exchange group (X25519, P-256 …) or "DH 2048", when the server used an ephemeral key. */
  group?: string;
  /** ALPN protocol agreed; SMTP offers none, so normally undefined. */
  alpn?: string;
  /** DER certificates as presented by the server, leaf first. */
  chain: Buffer[];
  ms: number;
}

const DEFAULT_LINE_DECODER = new TextDecoder('utf-8', { fatal: false });

function mapConnectError(err: NodeJS.ErrnoException): { failure: ConnectFailure; text: string } {
  switch (err.code) {
    case 'ECONNREFUSED':
      return { failure: 'refused', text: 'connection refused' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return { failure: 'unreachable', text: `network unreachable (${err.code})` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { failure: 'reset', text: `connection reset (${err.code})` };
    case 'ETIMEDOUT':
      return { failure: 'timeout', text: 'connect timed out' };
    default:
      return { failure: 'error', text: `${err.code ?? 'error'}: ${err.message}` };
  }
}

export class ConnectError extends ProbeError {
  constructor(
    readonly failure: ConnectFailure,
    message: string,
    cause?: unknown,
  ) {
    super(
      failure === 'timeout' ? 'ETIMEDOUT' : failure === 'forbidden' ? 'EFORBIDDEN' : 'ECONNECTION',
      message,
      {
        phase: 'connect',
        cause,
      },
    );
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export class SmtpConnection {
  readonly transcript: TranscriptEntry[] = [];
  /** Lines received that ended in a bare LF instead of CRLF (RFC 5321 §2.3.8). */
  bareLineFeeds = 0;
  /** Bytes received so far. */
  bytesIn = 0;
  /** The server sent a TLS session ticket / session ID for resumption. */
  sessionTicket = false;
  /** Set once the socket closed or failed; later reads fail with it. */
  private failure: ProbeError | undefined;
  private socket: Socket | TLSSocket;
  private partial: Buffer = Buffer.alloc(0);
  /** Complete lines received and not read yet, with their arrival time. */
  private lines: { text: string; atMs: number }[] = [];
  /** Lines of other replies found inside a multi-line reply, not yet taken by the session. */
  private interlopers: StrayLines[] = [];
  /** An incomplete line was taken as stray: drop the rest of it when it arrives. */
  private dropRestOfLine = false;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onEnd = (): void =>
    this.fail(new ProbeError('ECONNECTION', 'the server closed the connection'));
  private readonly onError = (err: Error): void =>
    this.fail(
      new ProbeError('ECONNECTION', `connection error: ${mapConnectError(err).text}`, { cause: err }),
    );

  private constructor(
    socket: Socket,
    private readonly t0: number,
    private readonly limits: ConnectionLimits,
    private readonly signal: AbortSignal,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Opens a TCP connection. Rejects with ConnectError naming the exact failure. */
  static open(
    options: ConnectOptions,
    t0 = performance.now(),
  ): Promise<{ conn: SmtpConnection; ms: number }> {
    const { address, port, timeoutMs, signal, limits } = options;
    if (options.connect) {
      const started = performance.now();
      return options.connect({ address, port }, { timeoutMs, signal }).then(
        (socket) => {
          const conn = new SmtpConnection(socket, t0, limits, signal);
          // A factory may hand the socket over paused (bytes after a proxy reply are put back).
          socket.resume();
          const ms = Math.round(performance.now() - started);
          conn.note(`connected to ${address} port ${port} through the proxy in ${ms} ms`);
          return { conn, ms };
        },
        (err: unknown) => {
          if (signal.aborted) throw err;
          const text = err instanceof Error ? err.message : String(err);
          const failure: ConnectFailure = isProbeError(err, 'ETIMEDOUT')
            ? 'timeout'
            : /connection refused/.test(text)
              ? 'refused'
              : /unreachable/.test(text)
                ? 'unreachable'
                : 'error';
          throw new ConnectError(failure, text, err);
        },
      );
    }
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const d = deadline(signal, timeoutMs, 'TCP connect');
      const socket = netConnect({
        host: address,
        port,
        family: ipFamily(address) || undefined,
        noDelay: true,
      });
      const cleanup = (): void => {
        d.dispose();
        d.signal.removeEventListener('abort', onAbort);
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', onError);
      };
      const onConnect = (): void => {
        cleanup();
        const conn = new SmtpConnection(socket, t0, limits, signal);
        const ms = Math.round(performance.now() - started);
        conn.note(`connected to ${address} port ${port} in ${ms} ms`);
        resolve({ conn, ms });
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        cleanup();
        socket.destroy();
        const mapped = mapConnectError(err);
        reject(new ConnectError(mapped.failure, mapped.text, err));
      };
      const onAbort = (): void => {
        cleanup();
        socket.destroy();
        const reason: unknown = d.signal.reason;
        if (isProbeError(reason, 'ETIMEDOUT'))
          reject(new ConnectError('timeout', `no answer to TCP connect within ${timeoutMs} ms`));
        else reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      if (d.signal.aborted) onAbort();
      else d.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  get elapsedMs(): number {
    return Math.round(performance.now() - this.t0);
  }

  get encrypted(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted === true;
  }

  /** Records an event line in the transcript. */
  note(line: string): void {
    this.transcript.push({ atMs: this.elapsedMs, dir: '*', line });
  }

  /** Lines (complete or partial) the server sent that nobody has read yet. */
  unread(): string[] {
    const rest = this.lines.map((l) => l.text);
    if (this.partial.length > 0) rest.push(DEFAULT_LINE_DECODER.decode(this.partial));
    return rest;
  }

  /** Throws away unread input (after recording it), e.g. plaintext received before a TLS upgrade. */
  discardUnread(): string[] {
    const rest = this.unread();
    for (const line of rest) this.transcript.push({ atMs: this.elapsedMs, dir: 'S', line });
    this.lines = [];
    this.partial = Buffer.alloc(0);
    return rest;
  }

  /**
   * Everything the server said out of turn since the last call: lines of other replies found
   * inside a multi-line reply, then whatever is waiting unread — call it when no reply is due
   * (right before sending a command), so that anything waiting arrived unasked. The waiting
   * lines go into the transcript with their arrival time and are discarded, so the next reply
   * read answers the next command; an incomplete line is discarded up to its end.
   */
  takeStrays(): StrayLines[] {
    const found = this.interlopers;
    this.interlopers = [];
    const first = this.lines[0];
    if (first || this.partial.length > 0) {
      const lines = this.lines.map((l) => l.text);
      for (const l of this.lines) this.transcript.push({ atMs: l.atMs, dir: 'S', line: l.text });
      if (this.partial.length > 0) {
        const text = DEFAULT_LINE_DECODER.decode(this.partial);
        this.transcript.push({ atMs: this.elapsedMs, dir: 'S', line: `${text}… (incomplete, discarded)` });
        lines.push(text);
        this.partial = Buffer.alloc(0);
        this.dropRestOfLine = true;
      }
      found.push({ atMs: first?.atMs ?? this.elapsedMs, lines });
      this.lines = [];
    }
    return found;
  }

  send(cmd: SmtpCommand): void {
    this.write([cmd]);
  }

  /** Writes several commands in one packet (RFC 2920 PIPELINING); replies come in order. */
  pipeline(cmds: readonly SmtpCommand[]): void {
    this.write(cmds);
  }

  private write(cmds: readonly SmtpCommand[]): void {
    if (this.failure) throw this.failure;
    const lines = cmds.map(serializeCommand);
    for (const line of lines) this.transcript.push({ atMs: this.elapsedMs, dir: 'C', line });
    this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /**
   * Reads one complete reply within `timeoutMs`. Rejects with ProbeError: ETIMEDOUT (with
   * what had arrived so far), ECONNECTION (closed), EPROTOCOL (not SMTP), ELIMIT (too long).
   */
  async readReply(phase: string, timeoutMs: number): Promise<SmtpReply> {
    const d = deadline(this.signal, timeoutMs, `${phase} reply`);
    const assembler = new ReplyAssembler();
    let setAside = 0;
    try {
      for (;;) {
        const line = await this.nextLine(d.signal, phase, timeoutMs);
        this.transcript.push({ atMs: this.elapsedMs, dir: 'S', line });
        if (assembler.interrupts(line)) {
          // A line of another reply in the middle of this one: set it aside, read on.
          this.interlopers.push({ atMs: this.elapsedMs, lines: [line], inside: phase });
          if (++setAside >= this.limits.maxReplyLines)
            throw new ProbeError(
              'ELIMIT',
              `more than ${this.limits.maxReplyLines} stray lines in one reply`,
              {
                phase,
              },
            );
          continue;
        }
        let reply: SmtpReply | undefined;
        try {
          reply = assembler.push(line);
        } catch (err) {
          const message = err instanceof ReplySyntaxError ? err.message : String(err);
          throw new ProbeError('EPROTOCOL', message, { phase });
        }
        if (reply) return reply;
        if (assembler.pending >= this.limits.maxReplyLines) {
          throw new ProbeError('ELIMIT', `reply has more than ${this.limits.maxReplyLines} lines`, { phase });
        }
      }
    } finally {
      d.dispose();
    }
  }

  private nextLine(signal: AbortSignal, phase: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = this.lines.shift();
        if (line !== undefined) {
          done();
          resolve(line.text);
          return true;
        }
        if (this.failure) {
          done();
          reject(
            new ProbeError(this.failure.code, this.failure.message, { phase, cause: this.failure.cause }),
          );
          return true;
        }
        return false;
      };
      const onAbort = (): void => {
        done();
        const reason: unknown = signal.reason;
        if (isProbeError(reason, 'ETIMEDOUT') && reason.message.startsWith(`${phase} reply`)) {
          const got =
            this.partial.length > 0
              ? `; received so far: ${JSON.stringify(DEFAULT_LINE_DECODER.decode(this.partial).slice(0, 80))}`
              : '; nothing received';
          reject(
            new ProbeError('ETIMEDOUT', `no complete ${phase} reply within ${timeoutMs} ms${got}`, { phase }),
          );
        } else if (reason instanceof ProbeError) {
          // The session deadline (or the caller) ended the wait, not this reply's own timeout.
          reject(
            new ProbeError(reason.code, `${reason.message} (waiting for the ${phase} reply)`, { phase }),
          );
        } else reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted', { phase }));
      };
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', onAbort);
      };
      if (check()) return;
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        check();
      };
    });
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    this.bytesIn += chunk.length;
    if (this.bytesIn > this.limits.maxSessionBytes) {
      this.fail(
        new ProbeError(
          'ELIMIT',
          `the server sent more than ${this.limits.maxSessionBytes} bytes in one session`,
        ),
      );
      this.socket.destroy();
      return;
    }
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    if (this.dropRestOfLine) {
      // The rest of a line already taken as stray (see takeStrays): record it, drop it.
      const nl = data.indexOf(0x0a);
      const rest = data.subarray(0, nl < 0 ? data.length : nl);
      if (rest.length > 0)
        this.transcript.push({
          atMs: this.elapsedMs,
          dir: 'S',
          line: `…${DEFAULT_LINE_DECODER.decode(rest.subarray(0, this.limits.maxLineBytes)).replace(/\r$/, '')} (rest of the discarded line)`,
        });
      if (nl < 0) return;
      this.dropRestOfLine = false;
      data = data.subarray(nl + 1);
    }
    for (;;) {
      const nl = data.indexOf(0x0a);
      if (nl < 0) break;
      const crlf = nl > 0 && data[nl - 1] === 0x0d;
      if (!crlf) this.bareLineFeeds++;
      const raw = data.subarray(0, crlf ? nl - 1 : nl);
      data = data.subarray(nl + 1);
      if (raw.length > this.limits.maxLineBytes) {
        this.lineTooLong();
        return;
      }
      this.lines.push({ text: DEFAULT_LINE_DECODER.decode(raw), atMs: this.elapsedMs });
    }
    if (data.length > this.limits.maxLineBytes) {
      this.lineTooLong();
      return;
    }
    this.partial = Buffer.from(data);
    this.wake?.();
  }

  private lineTooLong(): void {
    this.transcript.push({
      atMs: this.elapsedMs,
      dir: 'S',
      line: `${DEFAULT_LINE_DECODER.decode(this.partial.subarray(0, 120))}… (line longer than ${this.limits.maxLineBytes} bytes, cut)`,
    });
    this.partial = Buffer.alloc(0);
    this.fail(
      new ProbeError('ELIMIT', `the server sent a reply line longer than ${this.limits.maxLineBytes} bytes`),
    );
    this.socket.destroy();
  }

  private fail(err: ProbeError): void {
    if (this.failure) return;
    this.failure = err;
    this.wake?.();
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket | TLSSocket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('close', this.onEnd);
    socket.removeListener('error', this.onError);
  }

  /**
   * Upgrades to TLS after a 220 reply to STARTTLS (RFC 3207). The certificate is never
   * rejected here: the probe records it and judges it separately (rejectUnauthorized false,
   * no identity check), as an opportunistic MTA would connect anyway. Rejects with ETLS.
   */
  startTls(options: TlsUpgradeOptions): Promise<TlsHandshake> {
    if (this.failure) return Promise.reject(this.failure);
    const plain = this.socket as Socket;
    this.detach(plain);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const d = deadline(this.signal, options.timeoutMs, 'TLS handshake');
      const secure = tlsConnect({
        socket: plain,
        ...(ipFamily(options.servername) ? {} : { servername: options.servername }),
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        secureContext: starttlsContext(options),
      });
      secure.on('session', () => {
        this.sessionTicket = true;
      });
      const cleanup = (): void => {
        d.dispose();
        d.signal.removeEventListener('abort', onAbort);
        secure.removeListener('secureConnect', onSecure);
        secure.removeListener('error', onError);
        secure.removeListener('close', onClose);
      };
      const onSecure = (): void => {
        cleanup();
        this.socket = secure;
        this.attach(secure);
        const cipher = secure.getCipher();
        const ephemeral = secure.getEphemeralKeyInfo();
        const handshake: TlsHandshake = {
          protocol: secure.getProtocol() ?? 'unknown',
          cipher: cipher.name,
          chain: presentedChain(secure),
          ms: Math.round(performance.now() - started),
        };
        if (cipher.standardName) handshake.cipherStandardName = cipher.standardName;
        if (ephemeral && 'type' in ephemeral && ephemeral.type) {
          handshake.group =
            ephemeral.type === 'ECDH'
              ? (ephemeral.name ?? 'ECDH')
              : `${ephemeral.type} ${ephemeral.size ?? ''}`.trim();
        }
        if (typeof secure.alpnProtocol === 'string') handshake.alpn = secure.alpnProtocol;
        resolve(handshake);
      };
      const onError = (err: Error): void => {
        cleanup();
        secure.destroy();
        const failure = new ProbeError('ETLS', `TLS handshake failed: ${tlsErrorText(err)}`, {
          phase: 'tls',
          cause: err,
        });
        this.fail(failure);
        reject(failure);
      };
      const onClose = (): void =>
        onError(new Error('the server closed the connection during the TLS handshake'));
      const onAbort = (): void => {
        cleanup();
        secure.destroy();
        const reason: unknown = d.signal.reason;
        const failure = isProbeError(reason, 'ETIMEDOUT')
          ? new ProbeError('ETIMEDOUT', `TLS handshake not finished within ${options.timeoutMs} ms`, {
              phase: 'tls',
            })
          : reason instanceof ProbeError
            ? reason
            : new ProbeError('EABORTED', 'aborted', { phase: 'tls' });
        this.fail(failure);
        reject(failure);
      };
      secure.once('secureConnect', onSecure);
      secure.once('error', onError);
      secure.once('close', onClose);
      if (d.signal.aborted) onAbort();
      else d.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * After QUIT: reads its reply for at most `graceMs` (into the transcript, like every reply),
   * then closes. The socket no longer keeps the process alive meanwhile: a command-line check
   * ends when its report is written, whether the reply came or not. Never rejects.
   */
  async closeAfterReply(phase: string, graceMs: number): Promise<SmtpReply | undefined> {
    this.socket.unref();
    try {
      return await this.readReply(phase, graceMs);
    } catch {
      // No reply in time, a closed connection or a malformed line: the transcript shows which.
      return undefined;
    } finally {
      this.note('connection closed');
      this.close();
    }
  }

  /** Closes the socket without a goodbye (QUIT is the session's business). */
  close(): void {
    this.detach(this.socket);
    this.socket.on('error', () => {});
    this.socket.destroy();
  }
}

/** The certificates the server sent, leaf first (Node links them through issuerCertificate). */
function presentedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let cert: PeerCertificate | DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(Buffer.from(cert.raw));
    const next: DetailedPeerCertificate | undefined = (cert as DetailedPeerCertificate).issuerCertificate;
    cert = next && next !== cert ? next : undefined;
    if (chain.length >= 16) break;
  }
  return chain;
}

function tlsErrorText(err: Error): string {
  const code = (err as { code?: string }).code;
  const reason = (err as { reason?: string }).reason;
  const text = reason ?? err.message;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/**
 * A self-signed placeholder certificate used as the only "trusted" CA during the probe's
 * handshake (its key was thrown away; nothing can chain to it). Trust is judged afterwards
 * against the real trust store in tls/evaluate.ts, on the exact chain the server sent.
 */
const PLACEHOLDER_CA = `-----BEGIN CERTIFICATE-----
MIIBwzCCAWmgAwIBAgIUSm4IGH5vLkhzW/sWK0yWb0QRBC0wCgYIKoZIzj0EAwIw
NjE0MDIGA1UEAwwrbXhkb2N0b3IgcGxhY2Vob2xkZXIsIG5vdCBhIENBIGFueW9u
ZSBob2xkczAgFw0yNjExMjgyMDU0MDdaGA8yMTI2MTEwNDIwNTQwN1owNjE0MDIG
A1UEAwwrbXhkb2N0b3IgcGxhY2Vob2xkZXIsIG5vdCBhIENBIGFueW9uZSBob2xk
czBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMVA6RgheKhr55BpzheycCc/xjv6
g9QhLU0D7VtmscckAQ/1udLKbo5AQ/67CbU2EEtB6AJ4yzMbRFTyxOeZZMSjUzBR
MB0GA1UdDgQWBBTWIWW0Zzb4GwKVHxsACdS/278nCTAfBgNVHSMEGDAWgBTWIWW0
Zzb4GwKVHxsACdS/278nCTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA
MEUCIGXvvwe3YzQOZF8V+qiFjcMYmo5OIKBjd8xfZMMkALbbAiEA4pyWFlN3VfGg
8X0IVGPEF2hqDXfi3dm3G6IvbxZrHcM=
-----END CERTIFICATE-----`;
