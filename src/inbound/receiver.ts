import { randomBytes } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerError, SMTPServerSession } from 'smtp-server';
import { classifyRecipient } from './address.js';
import { ClientLimits } from './limits.js';
import type { CertificateSummary, ConnectionFacts, Delivery, TlsFacts } from './model.js';
import { SessionObserver, printable } from './observer.js';

/**
 * The inbound test receiver: an SMTP server (the `smtp-server` package) that accepts one
 * message per live one-time address and records how the client delivered it. Everything the
 * client sends is untrusted: sessions are limited per client address (at once and per
 * period), by an idle timeout and by a deadline for the whole session; the message by size;
 * recipients other than live test addresses are refused at RCPT (no relaying); nothing is
 * executed or followed. STARTTLS is offered with the configured certificate or a self-signed
 * one, old protocol versions included so that a sender still using them can be told so, and
 * a client certificate is asked for (never required).
 *
 * Accepted sockets come from this module's own listener, paused: bytes a client sends before
 * the greeting wait in the socket until the greeting has gone out (and are then read as
 * commands), so an early talker is recorded instead of being cut off.
 */

export type TestLookup = 'waiting' | 'used' | 'unknown';

export type DeliverOutcome = { ok: true; id: string } | { ok: false; reason: 'used' | 'unknown' };

export interface ReceiverOptions {
  listen: { host: string; port: number };
  /** Domain of the test addresses; also the name in the greeting. */
  domain: string;
  tls: { certPem: string; keyPem: string; kind: TlsFacts['receiverCertificate'] };
  maxBytes: number;
  sessionDeadlineMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  connectionsPerIp: number;
  ratePerIp: { points: number; windowMs: number };
  /** Whether the test of a token waits for its message. */
  lookup(token: string): Promise<TestLookup>;
  /** A whole message arrived for `token`: claim the test (once) and keep the message. */
  deliver(token: string, delivery: Delivery, message: Buffer): Promise<DeliverOutcome>;
  log?: ReceiverLog;
}

export interface ReceiverLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface Receiver {
  host: string;
  port: number;
  /** Sessions open now. */
  readonly sessions: number;
  /** Stops accepting, ends the sessions still open (421) and resolves when all are gone. */
  close(): Promise<void>;
}

interface Session {
  id: string;
  address: string;
  raw: Socket;
  current: Socket | TLSSocket;
  observer: SessionObserver;
  connectedAt: Date;
  deadline: NodeJS.Timeout;
  tls: Omit<TlsFacts, 'offered' | 'receiverCertificate'>;
  transactions: number;
  ended: boolean;
}

/** Recent failed TLS handshakes per client address, attached to its next delivery. */
const TLS_FAILURE_MEMORY_MS = 15 * 60_000;

function smtpError(code: number, message: string): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  err.responseCode = code;
  return err;
}

/** IPv4-mapped IPv6 ("::ffff:192.0.2.1") as the IPv4 address. */
export function normalizeAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}

function certificateSummary(socket: TLSSocket): CertificateSummary | undefined {
  let cert: X509Certificate | undefined;
  try {
    cert = socket.getPeerX509Certificate();
  } catch {
    return undefined;
  }
  if (!cert) return undefined;
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter(Boolean)
    .slice(0, 20)
    .map((n) => printable(n, 200));
  return {
    subject: printable(cert.subject.replace(/\n/g, ', '), 300),
    issuer: printable(cert.issuer.replace(/\n/g, ', '), 300),
    subjectAltNames: names,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    // Signed by its own key (checkIssued would also want keyCertSign, which leaf certificates lack).
    selfSigned: cert.subject === cert.issuer && verifiesItself(cert),
  };
}

function verifiesItself(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const sessions = new Map<string, Session>();
  const limits = new ClientLimits({ perAddress: options.connectionsPerIp, rate: options.ratePerIp });
  const tlsFailures = new Map<string, { at: number; message: string }>();
  const log = options.log;
  const name = options.domain;

  const end = (s: Session): void => {
    if (s.ended) return;
    s.ended = true;
    clearTimeout(s.deadline);
    sessions.delete(s.id);
    limits.release(s.address);
  };

  // smtp-server reports every reply it writes through its logger ("S:" lines): that is how the
  // observer learns what was sent, in order with what was received.
  const wireLog = {
    trace() {},
    info() {},
    warn() {},
    fatal() {},
    debug(entry: { tnx?: string; cid?: string } | undefined, _msg: string, payload?: unknown) {
      if (entry?.tnx === 'send' && typeof entry.cid === 'string' && typeof payload === 'string') {
        sessions.get(entry.cid)?.observer.sent(`${payload}\r\n`);
      }
    },
    error(entry: { tnx?: string; err?: Error } | undefined, _msg: string, id?: unknown) {
      const s = typeof id === 'string' ? sessions.get(id) : undefined;
      if (!s || entry?.tnx !== 'error' || s.tls.used) return;
      // A failed STARTTLS handshake: remembered for the address, whose sender may come back
      // without TLS.
      const message = printable(entry.err?.message ?? 'TLS handshake failed', 200);
      s.tls.failed = message;
      tlsFailures.set(s.address, { at: Date.now(), message });
      if (tlsFailures.size > 1000) tlsFailures.delete(tlsFailures.keys().next().value!);
    },
  };

  const smtp = new SMTPServer({
    name,
    banner: 'mxdoctor inbound test receiver',
    logger: wireLog as never,
    key: options.tls.keyPem,
    cert: options.tls.certPem,
    // Old versions accepted on purpose: a sender that still uses them is reported, not refused.
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
    requestCert: true,
    rejectUnauthorized: false,
    size: options.maxBytes,
    rejectOversized: true,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    useXClient: false,
    useXForward: false,
    socketTimeout: options.idleTimeoutMs,
    closeTimeout: 3000,
    maxClients: options.maxConnections,
    onConnect(session, callback) {
      const s = sessions.get(session.id);
      if (!s) return callback(smtpError(421, '4.3.0 Session unknown, try again'));
      // What the client sent while waiting for the greeting sits in the paused socket.
      s.observer.talkedEarly(s.raw.readableLength);
      callback();
      // The greeting is out (written synchronously by the callback): read on.
      s.raw.resume();
    },
    onSecure(socket, session, callback) {
      const s = sessions.get(session.id);
      if (s) {
        const tls = socket as TLSSocket;
        s.current = tls;
        const cipher = tls.getCipher();
        s.tls = { used: true };
        const protocol = tls.getProtocol();
        if (protocol) s.tls.protocol = protocol;
        if (cipher?.name) s.tls.cipher = cipher.name;
        if (cipher?.standardName) s.tls.cipherStandard = cipher.standardName;
        if (typeof session.servername === 'string' && session.servername)
          s.tls.sni = printable(session.servername, 255);
        const cert = certificateSummary(tls);
        if (cert) s.tls.clientCertificate = cert;
        s.observer.tlsStarted(
          `TLS started: ${protocol ?? '?'} ${cipher?.standardName ?? cipher?.name ?? ''}`,
        );
        // Registered before smtp-server pipes the socket into its parser, in this same tick.
        tls.on('data', (chunk: Buffer) => s.observer.received(chunk));
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= 1) {
        return callback(smtpError(452, '4.5.3 One test address per message, please'));
      }
      const verdict = classifyRecipient(address.address, name);
      if (verdict.kind === 'relay') {
        return callback(
          smtpError(
            550,
            `5.7.1 Relaying denied: this server accepts mail only for its test addresses @${name}`,
          ),
        );
      }
      if (verdict.kind === 'unknown') {
        return callback(
          smtpError(550, '5.1.1 No such test address (get one from the mxdoctor inbound test)'),
        );
      }
      options.lookup(verdict.token).then(
        (state) => {
          if (state === 'waiting') return callback();
          callback(
            smtpError(
              550,
              state === 'used'
                ? '5.1.1 This test address has received its message already; start a new test'
                : '5.1.1 This test address is unknown or has expired; start a new test',
            ),
          );
        },
        (err: unknown) => {
          log?.warn(
            { err: { message: (err as Error).message } },
            'inbound: could not look a test address up',
          );
          callback(smtpError(451, '4.3.0 Temporary problem, please try again later'));
        },
      );
    },
    onData(stream, session, callback) {
      receiveMessage(stream, session).then(
        (reply) => callback(null, reply),
        (err: SMTPServerError) => callback(err),
      );
    },
    onClose(session) {
      const s = sessions.get(session.id);
      if (s) end(s);
    },
  });
  smtp.on('error', (err: Error) => log?.debug({ err: { message: err.message } }, 'inbound: session error'));

  async function receiveMessage(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        // Past the limit the rest is drained, not kept; smtp-server answers 552.
        if (bytes <= options.maxBytes) chunks.push(chunk);
        bytes += chunk.length;
      });
      stream.once('end', resolve);
      stream.once('error', reject);
    });
    const s = sessions.get(session.id);
    if (stream.sizeExceeded || bytes > options.maxBytes || !s) {
      throw smtpError(552, `5.3.4 Message larger than the ${options.maxBytes} bytes accepted`);
    }
    s.transactions++;
    const rcpt = session.envelope.rcptTo[0]?.address ?? '';
    const verdict = classifyRecipient(rcpt, name);
    if (verdict.kind !== 'test') throw smtpError(554, '5.5.1 No valid recipient');
    const delivery = deliveryOf(s, session, bytes);
    let outcome: DeliverOutcome;
    try {
      outcome = await options.deliver(verdict.token, delivery, Buffer.concat(chunks));
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'inbound: could not keep a test message');
      throw smtpError(451, '4.3.0 Temporary problem keeping the message, please try again later');
    }
    if (!outcome.ok) {
      throw smtpError(
        550,
        outcome.reason === 'used'
          ? '5.1.1 This test address has received its message already; start a new test'
          : '5.1.1 This test address is unknown or has expired; start a new test',
      );
    }
    log?.info(
      { test: outcome.id, client: s.address, bytes, tls: s.tls.protocol ?? 'none' },
      'inbound: test message received',
    );
    // The sender's logs keep this line: it names no test id (the id is what opens the report).
    return '2.0.0 Test message received; its report is being prepared where the test was started';
  }

  function deliveryOf(s: Session, session: SMTPServerSession, size: number): Delivery {
    const observed = s.observer.result();
    const failure = tlsFailures.get(s.address);
    const tls: TlsFacts = {
      offered: true,
      ...s.tls,
      used: s.tls.used,
      receiverCertificate: options.tls.kind,
    };
    if (!tls.failed && failure && Date.now() - failure.at < TLS_FAILURE_MEMORY_MS)
      tls.failed = failure.message;
    const opening = session.openingCommand;
    const connection: ConnectionFacts = {
      sessionId: s.id,
      remoteAddress: s.address,
      remotePort: session.remotePort,
      localAddress: normalizeAddress(session.localAddress),
      localPort: session.localPort,
      connectedAt: s.connectedAt.toISOString(),
      tls,
      pipelining: {
        offered: observed.pipeliningOffered,
        misuse: observed.pipeliningMisuse,
        groups: observed.pipelinedGroups,
      },
      transcript: observed.transcript,
      transcriptOmitted: observed.transcriptOmitted,
      transactions: s.transactions,
    };
    if (opening === 'EHLO' || opening === 'HELO') {
      connection.helo = { command: opening, name: printable(String(session.hostNameAppearsAs || ''), 255) };
    }
    if (observed.earlyTalk) connection.earlyTalk = observed.earlyTalk;
    const mailFrom = session.envelope.mailFrom;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries((mailFrom && mailFrom.args) || {}).slice(0, 10)) {
      params[printable(k, 20)] = printable(v === true ? '' : String(v), 100);
    }
    return {
      connection,
      envelope: {
        mailFrom: mailFrom ? printable(mailFrom.address, 320) : '',
        mailFromParams: params,
        rcptTo: printable(session.envelope.rcptTo[0]?.address ?? '', 320),
        size,
        receivedAt: new Date().toISOString(),
      },
    };
  }

  const refuse = (socket: Socket, text: string): void => {
    socket.on('error', () => {});
    socket.end(`421 ${name} ${text}\r\n`);
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  const listener: Server = createServer({ pauseOnConnect: true }, (socket) => {
    const address = normalizeAddress(socket.remoteAddress);
    if (sessions.size >= options.maxConnections) return refuse(socket, '4.7.0 Too busy, try again later');
    const admitted = limits.admit(address);
    if (admitted !== 'ok') {
      log?.info(
        { client: address, reason: admitted },
        'inbound: connection refused by the per-address limits',
      );
      return refuse(
        socket,
        admitted === 'too_many_connections'
          ? '4.7.0 Too many connections from your address, try again later'
          : '4.7.0 Too many connections from your address recently, try again later',
      );
    }
    const id = randomBytes(10).toString('hex');
    const observer = new SessionObserver();
    const s: Session = {
      id,
      address,
      raw: socket,
      current: socket,
      observer,
      connectedAt: new Date(),
      tls: { used: false },
      transactions: 0,
      ended: false,
      deadline: setTimeout(() => {
        if (s.ended) return;
        const line = `421 4.4.2 ${name} Session deadline reached, closing`;
        if (!s.current.destroyed && s.current.writable) {
          observer.sent(`${line}\r\n`);
          s.current.write(`${line}\r\n`);
        }
        setTimeout(() => {
          s.raw.destroy();
          end(s);
        }, 500).unref();
      }, options.sessionDeadlineMs),
    };
    s.deadline.unref();
    sessions.set(id, s);
    socket.on('data', (chunk: Buffer) => observer.received(chunk));
    socket.once('close', () => {
      // After STARTTLS smtp-server removes this listener and reports the end through onClose.
      end(s);
    });
    smtp.connect(socket, { id });
    // Held until the greeting is out (onConnect resumes it).
    socket.pause();
  });
  listener.on('error', (err) => log?.warn({ err: { message: err.message } }, 'inbound: listener error'));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.listen.port, options.listen.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const bound = listener.address() as AddressInfo;
  log?.info({ host: bound.address, port: bound.port, domain: name }, 'inbound: receiver listening');

  return {
    host: bound.address,
    port: bound.port,
    get sessions() {
      return sessions.size;
    },
    async close() {
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        smtp.close(() => {});
        const until = Date.now() + 4000;
        const wait = setInterval(() => {
          if (sessions.size === 0 || Date.now() > until) {
            for (const s of sessions.values()) {
              s.raw.destroy();
              end(s);
            }
            clearInterval(wait);
          }
        }, 50);
      });
    },
  };
}
