import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { connectAllowed } from '../net/address-guard.js';
import { directConnect } from '../net/connect.js';
import type { SocketFactory } from '../net/connect.js';
import { deadline } from '../net/deadline.js';
import { ProbeError, describeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';
import { LineReader } from '../net/line-reader.js';
import { parseEhlo } from '../smtp/ehlo.js';
import { ReplyAssembler, ReplySyntaxError } from '../smtp/reply.js';
import type { SmtpReply } from '../smtp/reply.js';
import { chainFacts } from '../tls/certificate.js';
import { expiryOf, hostnameMatches, trustAnchors, verifyChain } from '../tls/evaluate.js';
import type { SubmissionProbe, SubmissionTarget } from './model.js';

/**
 * One look at a submission port the way a mail client would connect, minus the login:
 * port 465 with TLS from the first byte (RFC 8314 §3), port 587 with EHLO, STARTTLS and EHLO
 * again (RFC 6409, RFC 3207), noting which SASL mechanisms are offered before and after TLS.
 * It sends EHLO, STARTTLS and QUIT only: never AUTH, never MAIL, never DATA. Every read is
 * bounded and every step has a deadline under the caller's signal.
 */

export interface SubmissionTimeouts {
  connectMs: number;
  bannerMs: number;
  commandMs: number;
  tlsMs: number;
}

export interface SubmissionProbeOptions {
  target: SubmissionTarget;
  /** The address to connect to (resolved by the caller; the guard is applied here). */
  address: string;
  heloName: string;
  timeouts: SubmissionTimeouts;
  allowPrivate: boolean;
  signal: AbortSignal;
  /** PEM trust anchors the certificate is judged against. */
  trust: readonly string[];
  now: Date;
  connect?: SocketFactory;
}

const LIMITS = { maxLineBytes: 2048, maxTotalBytes: 64 * 1024 };
const MAX_REPLY_LINES = 100;

class Stop extends Error {
  constructor(
    readonly outcome: SubmissionProbe['outcome'],
    message: string,
  ) {
    super(message);
  }
}

async function reply(reader: LineReader, parent: AbortSignal, ms: number, what: string): Promise<SmtpReply> {
  const d = deadline(parent, ms, `${what} reply`);
  const assembler = new ReplyAssembler();
  try {
    for (;;) {
      const line = await reader.next(d.signal);
      let done: SmtpReply | undefined;
      try {
        done = assembler.push(line);
      } catch (err) {
        throw new ProbeError('EPROTOCOL', err instanceof ReplySyntaxError ? err.message : String(err));
      }
      if (done) return done;
      if (assembler.pending >= MAX_REPLY_LINES)
        throw new ProbeError('ELIMIT', `${what} reply has more than ${MAX_REPLY_LINES} lines`);
    }
  } finally {
    d.dispose();
  }
}

function presentedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let cert: PeerCertificate | DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert && cert.raw && !seen.has(cert.fingerprint256) && chain.length < 16) {
    seen.add(cert.fingerprint256);
    chain.push(Buffer.from(cert.raw));
    const next: DetailedPeerCertificate | undefined = (cert as DetailedPeerCertificate).issuerCertificate;
    cert = next && next !== cert ? next : undefined;
  }
  return chain;
}

function upgrade(socket: Socket, host: string, ms: number, parent: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const d = deadline(parent, ms, 'TLS handshake');
    const secure = tlsConnect({
      socket,
      ...(ipFamily(host) ? {} : { servername: host }),
      // No trust store during the handshake: the chain seen is exactly what the server sent;
      // it is judged afterwards against `trust` (tls/evaluate.ts).
      ca: [],
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const cleanup = (): void => {
      d.dispose();
      d.signal.removeEventListener('abort', onAbort);
      secure.removeListener('secureConnect', onSecure);
      secure.removeListener('error', onError);
    };
    const onSecure = (): void => {
      cleanup();
      resolve(secure);
    };
    const onError = (err: Error): void => {
      cleanup();
      secure.destroy();
      reject(new Stop('tls_failed', `TLS handshake failed: ${describeError(err)}`));
    };
    const onAbort = (): void => {
      cleanup();
      secure.destroy();
      const reason: unknown = d.signal.reason;
      reject(reason instanceof Error ? reason : new ProbeError('EABORTED', 'aborted'));
    };
    secure.once('secureConnect', onSecure);
    secure.once('error', onError);
    if (d.signal.aborted) onAbort();
    else d.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** QUIT and wait (briefly) for the goodbye; a server that hangs up instead is fine too. */
async function quit(socket: Socket, reader: LineReader, signal: AbortSignal, ms: number): Promise<void> {
  socket.write('QUIT\r\n');
  try {
    await reply(reader, signal, ms, 'QUIT');
  } catch (err) {
    if (signal.aborted) throw err;
  }
}

/** Probes one target address. Never rejects for network outcomes; only when `signal` aborts. */
export async function probeSubmission(o: SubmissionProbeOptions): Promise<SubmissionProbe> {
  const t0 = performance.now();
  const { target, timeouts, signal } = o;
  const out: SubmissionProbe = { ...target, address: o.address, outcome: 'ok', ms: 0 };
  const allowed = connectAllowed(o.address, o.allowPrivate);
  if (!allowed.ok) return { ...out, outcome: 'forbidden', error: allowed.why, ms: 0 };
  let socket: Socket | TLSSocket | undefined;
  let reader: LineReader | undefined;
  try {
    try {
      socket = await (o.connect ?? directConnect)(
        { address: o.address, port: target.port },
        { timeoutMs: timeouts.connectMs, signal },
      );
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Stop('connect_failed', describeError(err));
    }
    const secureOn = async (plain: Socket): Promise<TLSSocket> => {
      const secure = await upgrade(plain, target.host, timeouts.tlsMs, signal);
      const raw = presentedChain(secure);
      const { chain } = chainFacts(raw);
      const leaf = chain[0];
      const trust = verifyChain(raw, trustAnchors(o.trust as string[]), o.now);
      const name = leaf ? hostnameMatches(leaf, target.host) : { matches: false, names: [] };
      const expiry = leaf ? expiryOf(leaf, o.now) : { state: 'expired', daysLeft: 0 };
      out.tls = {
        protocol: secure.getProtocol() ?? 'unknown',
        cipher: secure.getCipher().standardName ?? secure.getCipher().name,
        chain,
        trusted: trust.trusted,
        hostnameMatches: name.matches,
        names: name.names,
        daysLeft: expiry.daysLeft,
        expiry: expiry.state,
      };
      if (trust.error) out.tls.trustError = trust.error;
      return secure;
    };
    const smtp = async (what: string, ms: number): Promise<SmtpReply> => {
      try {
        return await reply(reader!, signal, ms, what);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new Stop('smtp_failed', `${what}: ${describeError(err)}`);
      }
    };
    if (target.mode === 'implicit') {
      socket = await secureOn(socket as Socket);
      reader = new LineReader(socket, LIMITS);
    } else reader = new LineReader(socket, LIMITS);
    const banner = await smtp('banner', timeouts.bannerMs);
    out.banner = banner.lines[0] ?? '';
    if (banner.code !== 220) throw new Stop('smtp_failed', `the greeting was "${out.banner}"`);
    socket.write(`EHLO ${o.heloName}\r\n`);
    let ehlo = await smtp('EHLO', timeouts.commandMs);
    if (ehlo.code !== 250) throw new Stop('smtp_failed', `EHLO was answered "${ehlo.lines[0]}"`);
    if (target.mode === 'starttls') {
      const caps = parseEhlo(ehlo);
      out.plain = {
        keywords: caps.keywords,
        auth: caps.auth,
        authOffered: caps.keywords.includes('AUTH'),
        starttls: caps.starttls,
      };
      if (!caps.starttls) {
        await quit(socket, reader, signal, timeouts.commandMs);
        return out;
      }
      socket.write('STARTTLS\r\n');
      const ready = await smtp('STARTTLS', timeouts.commandMs);
      if (ready.code !== 220) throw new Stop('smtp_failed', `STARTTLS was answered "${ready.lines[0]}"`);
      const early = reader.detach();
      if (early.length > 0)
        throw new Stop(
          'smtp_failed',
          `plaintext after the STARTTLS reply: ${JSON.stringify(early[0]!.slice(0, 80))}`,
        );
      socket = await secureOn(socket as Socket);
      reader = new LineReader(socket, LIMITS);
      socket.write(`EHLO ${o.heloName}\r\n`);
      ehlo = await smtp('EHLO after STARTTLS', timeouts.commandMs);
      if (ehlo.code !== 250)
        throw new Stop('smtp_failed', `EHLO after STARTTLS was answered "${ehlo.lines[0]}"`);
    }
    const secureCaps = parseEhlo(ehlo);
    out.secure = { keywords: secureCaps.keywords, auth: secureCaps.auth };
    await quit(socket, reader, signal, timeouts.commandMs);
    return out;
  } catch (err) {
    if (err instanceof Stop) {
      out.outcome = err.outcome;
      out.error = err.message;
      return out;
    }
    throw err;
  } finally {
    reader?.detach();
    socket?.end();
    const s = socket;
    if (s) setTimeout(() => s.destroy(), 500).unref();
    out.ms = Math.round(performance.now() - t0);
  }
}
