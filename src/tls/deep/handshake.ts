import { constants } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { connectAllowed } from '../../net/address-guard.js';
import type { SocketFactory } from '../../net/connect.js';
import { deadline } from '../../net/deadline.js';
import { ProbeError, describeError, isProbeError } from '../../net/errors.js';
import { ipFamily } from '../../net/ip-family.js';
import { LineReader } from '../../net/line-reader.js';
import type { LineLimits } from '../../net/line-reader.js';
import { suiteByName } from './suites.js';
import type { CipherSuite, TlsVersion } from './suites.js';

/**
 * One TLS handshake of the depth scan, on a fresh connection: TCP (through the given socket
 * factory), the smallest polite SMTP preamble (banner, EHLO, STARTTLS — RFC 3207), then a
 * Node TLS client restricted to exactly one protocol version and the offered suites, groups
 * and signature algorithms. It reports whether the server accepted and with what; it never
 * sends anything but EHLO, STARTTLS, NOOP (renegotiation test) and QUIT. Every step has its
 * own deadline under the caller's signal, and every line read is bounded.
 *
 * Why not SmtpConnection (smtp/connection.ts)? This module lives in tls/, which smtp/ imports
 * (a protocol folder cycle), and the scan needs the raw TLSSocket (renegotiate(), ephemeral
 * key info, OCSP) with options SmtpConnection does not expose.
 */

export type ScanPurpose = 'ciphers' | 'order' | 'curves' | 'kex_hash' | 'renegotiation';

export interface Attempt {
  purpose: ScanPurpose;
  version: TlsVersion;
  /** Offered in this order (client preference). */
  suites: readonly CipherSuite[];
  /** Key-exchange groups to offer (Node's `ecdhCurve`), in order. @defaultValue ALL_GROUP_NAMES */
  groups?: readonly string[];
  /** Signature algorithms to offer (Node's `sigalgs`), when restricted. */
  sigalgs?: string;
  /** After the handshake, ask for a client-initiated renegotiation (TLS ≤ 1.2). */
  renegotiate?: boolean;
}

export interface AttemptResult {
  /**
   * accepted: the handshake completed; refused: the server ended it (alert, closed the
   * connection); failed: we could not get as far as the handshake (connect, SMTP preamble,
   * timeout) — says nothing about TLS.
   */
  outcome: 'accepted' | 'refused' | 'failed';
  protocol?: string;
  /** IANA name of the suite the server chose. */
  suite?: string;
  /** Key-exchange group: "X25519", "P-256", "DH 2048" … */
  group?: string;
  /** Size of a finite-field DH group, in bits. */
  dhBits?: number;
  /** A stapled OCSP response arrived (RFC 6066 §8): its size and responseStatus. */
  ocsp?: { bytes: number; status: string };
  renegotiation?: 'allowed' | 'refused' | 'no_answer';
  /** For "failed": where it failed. */
  failure?: 'forbidden' | 'connect' | 'no_starttls' | 'smtp' | 'timeout' | 'client';
  error?: string;
  ms: number;
}

export interface HandshakeTimeouts {
  connectMs: number;
  bannerMs: number;
  /** EHLO, STARTTLS, NOOP. */
  commandMs: number;
  tlsMs: number;
}

export interface HandshakeTarget {
  /** MX host name: SNI (RFC 6066 §3 forbids literal addresses there). */
  host: string;
  address: string;
  port: number;
  /** Our EHLO name. */
  heloName: string;
}

export interface HandshakeEnv {
  target: HandshakeTarget;
  timeouts: HandshakeTimeouts;
  signal: AbortSignal;
  connect: SocketFactory;
  allowPrivate: boolean;
  limits?: LineLimits;
}

/** Every group the scan can offer, good ones first (Node's `ecdhCurve` order). */
export const ALL_GROUP_NAMES: readonly string[] = [
  'X25519',
  'P-256',
  'P-384',
  'X448',
  'P-521',
  'brainpoolP256r1',
  'brainpoolP384r1',
  'brainpoolP512r1',
  'P-224',
  'P-192',
  'secp256k1',
  'ffdhe2048',
  'ffdhe3072',
  'ffdhe4096',
];

const DEFAULT_LIMITS: LineLimits = { maxLineBytes: 2048, maxTotalBytes: 64 * 1024 };
/** Most lines in one SMTP reply before we call it a misbehaving server. */
const MAX_REPLY_LINES = 100;

/** Reads one SMTP reply (RFC 5321 §4.2): lines "ddd-…" until "ddd …"; returns code and lines. */
async function readReply(
  reader: LineReader,
  signal: AbortSignal,
  what: string,
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  for (;;) {
    const line = await reader.next(signal);
    const code = /^[2-5]\d\d/.test(line) ? Number(line.slice(0, 3)) : NaN;
    if (Number.isNaN(code))
      throw new ProbeError('EPROTOCOL', `${what}: not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`);
    lines.push(line);
    if (line[3] !== '-') return { code, lines };
    if (lines.length >= MAX_REPLY_LINES)
      throw new ProbeError('ELIMIT', `${what}: reply has more than ${MAX_REPLY_LINES} lines`);
  }
}

async function step<T>(
  signal: AbortSignal,
  ms: number,
  what: string,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const d = deadline(signal, ms, what);
  try {
    return await fn(d.signal);
  } finally {
    d.dispose();
  }
}

/**
 * Connects and runs banner → EHLO → STARTTLS. Resolves with the plain socket, ready for the
 * TLS ClientHello; rejects with ProbeError (the reason in words) for anything else.
 */
export async function startTlsPreamble(env: HandshakeEnv): Promise<Socket> {
  const { target, timeouts, signal } = env;
  const allowed = connectAllowed(target.address, env.allowPrivate);
  if (!allowed.ok) throw new ProbeError('EFORBIDDEN', allowed.why, { phase: 'connect' });
  const socket = await env.connect(
    { address: target.address, port: target.port },
    { timeoutMs: timeouts.connectMs, signal },
  );
  const reader = new LineReader(socket, env.limits ?? DEFAULT_LIMITS);
  try {
    const banner = await step(signal, timeouts.bannerMs, 'banner', (s) => readReply(reader, s, 'banner'));
    if (banner.code !== 220) throw new ProbeError('EPROTOCOL', `the banner was "${banner.lines[0]}"`);
    socket.write(`EHLO ${target.heloName}\r\n`);
    const ehlo = await step(signal, timeouts.commandMs, 'EHLO', (s) => readReply(reader, s, 'EHLO'));
    if (ehlo.code !== 250) throw new ProbeError('EPROTOCOL', `EHLO was answered "${ehlo.lines[0]}"`);
    if (!ehlo.lines.slice(1).some((l) => /^STARTTLS\b/i.test(l.slice(4).trim())))
      throw new ProbeError('EPROTOCOL', 'the server does not offer STARTTLS', { phase: 'no_starttls' });
    socket.write('STARTTLS\r\n');
    const ready = await step(signal, timeouts.commandMs, 'STARTTLS', (s) => readReply(reader, s, 'STARTTLS'));
    if (ready.code !== 220) throw new ProbeError('EPROTOCOL', `STARTTLS was answered "${ready.lines[0]}"`);
    const early = reader.detach();
    // RFC 3207 §4.2 / CVE-2011-0411: nothing may follow the 220 in plaintext.
    if (early.length > 0)
      throw new ProbeError(
        'EPROTOCOL',
        `the server sent plaintext after its STARTTLS reply: ${JSON.stringify(early[0]!.slice(0, 80))}`,
      );
    return socket;
  } catch (err) {
    reader.detach();
    socket.destroy();
    throw err;
  }
}

/** OpenSSL errors raised by our own client before anything reached the server. */
const CLIENT_SIDE = /NO_CIPHERS_AVAILABLE|NO_PROTOCOLS_AVAILABLE|NO_CIPHER_MATCH|INVALID_ARG/;

function tlsErrorText(err: Error): string {
  const reason = (err as { reason?: string }).reason;
  const code = (err as { code?: string }).code;
  const text = reason ?? err.message.split('\n')[0] ?? err.message;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** responseStatus of an OCSPResponse (RFC 6960 §4.2.1): SEQUENCE { ENUMERATED … }. */
export function ocspResponseStatus(der: Buffer): string {
  const names = [
    'successful',
    'malformedRequest',
    'internalError',
    'tryLater',
    '',
    'sigRequired',
    'unauthorized',
  ];
  // 30 len [len bytes] 0a 01 status
  if (der.length < 5 || der[0] !== 0x30) return 'unparseable';
  let i = 2;
  if (der[1]! & 0x80) i = 2 + (der[1]! & 0x7f);
  if (der[i] !== 0x0a || der[i + 1] !== 1 || der[i + 2] === undefined) return 'unparseable';
  return names[der[i + 2]!] || `status ${der[i + 2]}`;
}

function clientOptions(env: HandshakeEnv, attempt: Attempt, socket: Socket): ConnectionOptions {
  const legacy = attempt.suites.filter((s) => s.since !== 'TLSv1.3').map((s) => s.openssl);
  const modern = attempt.suites.filter((s) => s.since === 'TLSv1.3').map((s) => s.iana);
  return {
    socket,
    ...(ipFamily(env.target.host) ? {} : { servername: env.target.host }),
    minVersion: attempt.version,
    maxVersion: attempt.version,
    // @SECLEVEL=0 lets OpenSSL 3 offer what a 2010 server may still accept (TLS 1.0, SHA-1
    // signatures, small DH groups): the point is to see what the server accepts.
    // Node routes TLS_* names in `ciphers` to the TLS 1.3 list (SSL_CTX_set_ciphersuites).
    ciphers: [...modern, ...(legacy.length ? legacy : ['DEFAULT']), '@SECLEVEL=0'].join(':'),
    ecdhCurve: (attempt.groups ?? ALL_GROUP_NAMES).join(':'),
    ...(attempt.sigalgs ? { sigalgs: attempt.sigalgs } : {}),
    // Report the group size instead of refusing it (Node's client default is 1024).
    minDHSize: 1,
    // Old servers without RFC 5746 would otherwise be refused by our client (OpenSSL 3).
    secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT,
    // Honoured by tls.connect (it builds the TLSSocket with it) though missing from its type.
    ...({ requestOCSP: true } as ConnectionOptions),
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
}

/** Runs one attempt. Never rejects for network or TLS outcomes; only when `signal` aborts. */
export async function runAttempt(env: HandshakeEnv, attempt: Attempt): Promise<AttemptResult> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  let socket: Socket;
  try {
    socket = await startTlsPreamble(env);
  } catch (err) {
    if (env.signal.aborted) throw err;
    const failure = isProbeError(err, 'EFORBIDDEN')
      ? 'forbidden'
      : isProbeError(err) && (err.phase === 'connect' || err.phase === 'no_starttls')
        ? err.phase
        : 'smtp';
    return { outcome: 'failed', failure, error: describeError(err), ms: ms() };
  }
  let secure: TLSSocket | undefined;
  try {
    const handshake = await step(env.signal, env.timeouts.tlsMs, 'TLS handshake', (signal) =>
      handshakeOn(env, attempt, socket, signal),
    );
    secure = handshake.secure;
    const result: AttemptResult = { ...handshake.result, ms: 0 };
    if (attempt.renegotiate && result.protocol !== 'TLSv1.3')
      result.renegotiation = await step(env.signal, env.timeouts.commandMs, 'renegotiation', (signal) =>
        renegotiate(handshake.secure, signal),
      );
    result.ms = ms();
    return result;
  } catch (err) {
    if (env.signal.aborted) throw err;
    const timeout = isProbeError(err, 'ETIMEDOUT');
    const text = timeout ? `no TLS handshake within ${env.timeouts.tlsMs} ms` : describeError(err);
    const clientSide = CLIENT_SIDE.test(text);
    if (timeout || clientSide)
      return { outcome: 'failed', failure: timeout ? 'timeout' : 'client', error: text, ms: ms() };
    return { outcome: 'refused', error: text, ms: ms() };
  } finally {
    if (secure && !secure.destroyed) {
      // A polite goodbye; the socket is destroyed shortly after whatever the server does.
      secure.on('error', () => {});
      secure.end('QUIT\r\n');
      setTimeout(() => secure!.destroy(), 500).unref();
    } else socket.destroy();
  }
}

function handshakeOn(
  env: HandshakeEnv,
  attempt: Attempt,
  socket: Socket,
  signal: AbortSignal,
): Promise<{ secure: TLSSocket; result: Omit<AttemptResult, 'ms'> }> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect(clientOptions(env, attempt, socket));
    let ocsp: AttemptResult['ocsp'];
    secure.on('OCSPResponse', (response: Buffer) => {
      if (response?.length) ocsp = { bytes: response.length, status: ocspResponseStatus(response) };
    });
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      secure.removeListener('secureConnect', onSecure);
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
    };
    const onSecure = (): void => {
      cleanup();
      const cipher = secure.getCipher();
      const suite = suiteByName(cipher.standardName ?? '') ?? suiteByName(cipher.name);
      const key = secure.getEphemeralKeyInfo();
      const result: Omit<AttemptResult, 'ms'> = {
        outcome: 'accepted',
        protocol: secure.getProtocol() ?? 'unknown',
      };
      result.suite = suite?.iana ?? cipher.standardName ?? cipher.name;
      if (key && 'type' in key && key.type === 'ECDH') result.group = key.name ?? 'ECDH';
      else if (key && 'type' in key && key.type === 'DH') {
        result.group = `DH ${key.size}`;
        result.dhBits = key.size;
      }
      if (ocsp) result.ocsp = ocsp;
      resolve({ secure, result });
    };
    const onError = (err: Error): void => {
      cleanup();
      secure.destroy();
      reject(new ProbeError('ETLS', tlsErrorText(err), { phase: 'tls', cause: err }));
    };
    const onClose = (): void => onError(new Error('the server closed the connection during the handshake'));
    const onAbort = (): void => {
      cleanup();
      secure.destroy();
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
    };
    secure.once('secureConnect', onSecure);
    secure.once('error', onError);
    secure.once('close', onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Client-initiated renegotiation (RFC 5246 §7.4.1.2): the server either completes a second
 * handshake (allowed), refuses it with an alert or by closing (refused), or never answers.
 * A NOOP gives a server that only reads when it expects a command a reason to read.
 */
function renegotiate(secure: TLSSocket, signal: AbortSignal): Promise<'allowed' | 'refused' | 'no_answer'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (v: 'allowed' | 'refused' | 'no_answer'): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
      resolve(v);
    };
    const onError = (): void => finish('refused');
    const onClose = (): void => finish('refused');
    const onAbort = (): void => {
      if (isProbeError(signal.reason, 'ETIMEDOUT')) return finish('no_answer');
      settled = true;
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
      reject(signal.reason instanceof Error ? signal.reason : new ProbeError('EABORTED', 'aborted'));
    };
    secure.on('error', onError);
    secure.once('close', onClose);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const started = secure.renegotiate({ rejectUnauthorized: false }, (err) =>
      finish(err ? 'refused' : 'allowed'),
    );
    if (!started) return finish('refused');
    secure.write('NOOP\r\n');
  });
}
