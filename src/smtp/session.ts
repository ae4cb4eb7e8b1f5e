import { isIP } from 'node:net';
import { connectAllowed } from '../net/address-guard.js';
import type { SocketFactory } from '../net/connect.js';
import { deadline } from '../net/deadline.js';
import { ProbeError, describeError, isProbeError } from '../net/errors.js';
import { classifyRcpt, classifyRefusalOfProbe } from './classify.js';
import type { SmtpCommand } from './command.js';
import { ConnectError, SmtpConnection } from './connection.js';
import type { ConnectionLimits, TlsHandshake } from './connection.js';
import { diffExtensions, parseEhlo } from './ehlo.js';
import type { RcptResult, RcptRole, SessionRecord, TransactionTest } from './model.js';
import { announcedHostname, reportedClientAddress } from './reply.js';
import type { SmtpReply } from './reply.js';

/**
 * One SMTP session as a sending MTA would hold it, driven step by step: connect → banner →
 * EHLO (HELO when EHLO is refused) → STARTTLS → EHLO → MAIL FROM / RCPT TO → RSET → the
 * null-sender and open-relay transactions → QUIT. It never sends DATA or BDAT (the command
 * type cannot express them). Every outcome, including a timeout or a dropped connection,
 * ends up in the returned SessionRecord; only the caller's own abort makes it reject.
 */

export interface SmtpTimeouts {
  connectMs: number;
  bannerMs: number;
  /** EHLO, HELO, STARTTLS, RSET, NOOP, QUIT. */
  commandMs: number;
  /** MAIL FROM and RCPT TO. */
  envelopeMs: number;
  tlsMs: number;
  /** The whole session. */
  sessionMs: number;
}

export interface RcptPlan {
  to: string;
  role: RcptRole;
}

export interface SessionPlan {
  kind: SessionRecord['kind'];
  host: string;
  address: string;
  port: number;
  heloName: string;
  mailFrom: string;
  /** Upgrade with STARTTLS when offered. */
  starttls: boolean;
  /** legacy_tls: limit the handshake to TLS 1.0/1.1 and stop after it. */
  legacyTls?: boolean;
  recipients: RcptPlan[];
  /** Further random addresses, asked only when the first random one was accepted. */
  extraRandom?: string[];
  /** RCPT target of the null-sender test (MAIL FROM:<>). */
  nullSenderTo?: string;
  /** The open-relay test: a foreign sender and a recipient in a domain the server does not serve. */
  relay?: { from: string; to: string };
  timeouts: SmtpTimeouts;
  limits: ConnectionLimits;
  allowPrivate: boolean;
  signal: AbortSignal;
  /** Opens TCP connections through the SMTP egress proxy; direct when absent. */
  connect?: SocketFactory;
}

/** Thrown inside the runner to stop the plan; its details go into record.error. */
class Stop extends Error {
  constructor(readonly probe: ProbeError) {
    super(probe.message);
  }
}

function replyData(reply: SmtpReply): SmtpReply {
  const out: SmtpReply = { code: reply.code, lines: reply.lines, text: reply.text };
  if (reply.enhanced) out.enhanced = reply.enhanced;
  return out;
}

function asProbeError(err: unknown, phase: string): ProbeError {
  if (err instanceof ProbeError)
    return err.phase ? err : new ProbeError(err.code, err.message, { phase, cause: err.cause });
  return new ProbeError('EPROTOCOL', describeError(err), { phase, cause: err });
}

export async function runSession(plan: SessionPlan): Promise<SessionRecord> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const record: SessionRecord = {
    kind: plan.kind,
    host: plan.host,
    address: plan.address,
    port: plan.port,
    family: isIP(plan.address) === 6 ? 6 : 4,
    startedAt,
    durationMs: 0,
    connect: { ok: false },
    rcpts: [],
    quit: false,
    bareLineFeeds: 0,
    bytesIn: 0,
    transcript: [],
  };
  // The address guard, right before connecting: the address came from DNS and is used as is.
  const allowed = connectAllowed(plan.address, plan.allowPrivate);
  if (!allowed.ok) {
    record.connect = { ok: false, failure: 'forbidden', error: allowed.why };
    record.error = { code: 'EFORBIDDEN', phase: 'connect', message: allowed.why };
    record.transcript.push({ atMs: 0, dir: '*', line: `not connecting: ${allowed.why}` });
    return record;
  }
  const session = deadline(plan.signal, plan.timeouts.sessionMs, 'SMTP session');
  let conn: SmtpConnection | undefined;
  try {
    try {
      const opened = await SmtpConnection.open(
        {
          address: plan.address,
          port: plan.port,
          timeoutMs: plan.timeouts.connectMs,
          signal: session.signal,
          limits: plan.limits,
          ...(plan.connect ? { connect: plan.connect } : {}),
        },
        t0,
      );
      conn = opened.conn;
      record.connect = { ok: true, ms: opened.ms };
    } catch (err) {
      if (plan.signal.aborted) throw err;
      const failure = err instanceof ConnectError ? err.failure : 'error';
      const message =
        session.signal.aborted && !(err instanceof ConnectError)
          ? `session deadline: ${describeError(err)}`
          : describeError(err);
      record.connect = { ok: false, failure, error: message };
      record.error = { code: isProbeError(err) ? err.code : 'ECONNECTION', phase: 'connect', message };
      record.transcript.push({
        atMs: Math.round(performance.now() - t0),
        dir: '*',
        line: `connect to ${plan.address} port ${plan.port} failed: ${message}`,
      });
      return record;
    }
    await drive(conn, plan, record);
  } catch (err) {
    if (plan.signal.aborted) throw err;
    const probe = err instanceof Stop ? err.probe : asProbeError(err, 'session');
    record.error = { code: probe.code, phase: probe.phase ?? 'session', message: probe.message };
    conn?.note(`session stopped: ${probe.message}`);
  } finally {
    session.dispose();
    if (conn) {
      record.transcript = conn.transcript;
      record.bareLineFeeds = conn.bareLineFeeds;
      record.bytesIn = conn.bytesIn;
      conn.note('connection closed');
      conn.close();
    }
    record.durationMs = Math.round(performance.now() - t0);
  }
  return record;
}

async function drive(conn: SmtpConnection, plan: SessionPlan, record: SessionRecord): Promise<void> {
  const { timeouts } = plan;
  const read = async (phase: string, ms: number): Promise<SmtpReply> => {
    try {
      return await conn.readReply(phase, ms);
    } catch (err) {
      if (plan.signal.aborted) throw err;
      throw new Stop(asProbeError(err, phase));
    }
  };
  const command = async (cmd: SmtpCommand, phase: string, ms: number): Promise<SmtpReply> => {
    try {
      conn.send(cmd);
    } catch (err) {
      throw new Stop(asProbeError(err, phase));
    }
    return read(phase, ms);
  };
  const closing = (reply: SmtpReply, phase: string): void => {
    // 421: the server is closing the channel (RFC 5321 §3.8).
    if (reply.code === 421)
      throw new Stop(
        new ProbeError('ECONNECTION', `the server closed the session with ${reply.lines[0]}`, { phase }),
      );
  };

  // Banner.
  const bannerStart = conn.elapsedMs;
  const banner = await read('banner', timeouts.bannerMs);
  record.banner = { reply: replyData(banner), ms: conn.elapsedMs - bannerStart };
  const bannerHost = announcedHostname(banner);
  if (bannerHost) record.bannerHostname = bannerHost;
  const unsolicited = conn.unread();
  if (unsolicited.length > 0) {
    record.banner.unsolicited = unsolicited;
    conn.discardUnread();
  }
  if (banner.code !== 220) {
    // 554 (refused) or 421 (busy) at connect: say QUIT politely (RFC 5321 §3.1) and stop.
    await quit(conn, plan, record).catch(() => undefined);
    return;
  }

  // EHLO, or HELO when EHLO is refused (RFC 5321 §4.1.4).
  let ehlo = await command({ verb: 'EHLO', domain: plan.heloName }, 'ehlo', timeouts.commandMs);
  closing(ehlo, 'ehlo');
  if (ehlo.code === 250) {
    record.ehlo = { verb: 'EHLO', reply: replyData(ehlo), capabilities: parseEhlo(ehlo) };
  } else {
    const refused = ehlo;
    ehlo = await command({ verb: 'HELO', domain: plan.heloName }, 'helo', timeouts.commandMs);
    record.ehlo = { verb: 'HELO', reply: replyData(ehlo), ehloRefused: replyData(refused) };
    closing(ehlo, 'helo');
    if (ehlo.code !== 250) {
      await quit(conn, plan, record).catch(() => undefined);
      return;
    }
  }
  const ehloHost = announcedHostname(ehlo);
  if (ehloHost) record.ehloHostname = ehloHost;
  const client = reportedClientAddress(ehlo);
  if (client) record.ehlo.clientAddress = client;
  let caps = record.ehlo.capabilities;

  // STARTTLS (RFC 3207).
  if (plan.starttls && caps?.starttls) {
    const reply = await command({ verb: 'STARTTLS' }, 'starttls', timeouts.commandMs);
    record.starttls = { reply: replyData(reply) };
    closing(reply, 'starttls');
    if (reply.code !== 220) {
      record.starttls.error = `STARTTLS refused: ${reply.lines[0]}`;
      if (plan.legacyTls) return void (await quit(conn, plan, record).catch(() => undefined));
    } else {
      const injected = conn.discardUnread();
      if (injected.length > 0) record.starttls.injected = injected;
      let hs: TlsHandshake;
      try {
        hs = await conn.startTls({
          servername: plan.host,
          timeoutMs: timeouts.tlsMs,
          ...(plan.legacyTls
            ? { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }
            : {}),
        });
      } catch (err) {
        if (plan.signal.aborted) throw err;
        const probe = asProbeError(err, 'tls');
        record.starttls.error = probe.message;
        if (plan.legacyTls) record.legacy = { accepted: false, error: probe.message, errorCode: probe.code };
        conn.note(`TLS handshake failed: ${probe.message}`);
        // The connection is unusable after a failed handshake.
        throw new Stop(probe);
      }
      conn.note(
        `TLS handshake: ${hs.protocol}, ${hs.cipher}${hs.group ? `, ${hs.group}` : ''}, ${hs.chain.length} certificate${hs.chain.length === 1 ? '' : 's'}, ${hs.ms} ms`,
      );
      record.starttls.handshake = {
        protocol: hs.protocol,
        cipher: hs.cipher,
        ...(hs.cipherStandardName ? { cipherStandardName: hs.cipherStandardName } : {}),
        ...(hs.group ? { group: hs.group } : {}),
        ...(hs.alpn ? { alpn: hs.alpn } : {}),
        sessionTicket: false,
        ms: hs.ms,
      };
      chains.set(record, hs.chain);
      if (plan.legacyTls) {
        record.legacy = { accepted: true, protocol: hs.protocol, cipher: hs.cipher };
        await quit(conn, plan, record).catch(() => undefined);
        record.starttls.handshake.sessionTicket = conn.sessionTicket;
        return;
      }
      // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
      const again = await command({ verb: 'EHLO', domain: plan.heloName }, 'ehlo', timeouts.commandMs);
      record.starttls.handshake.sessionTicket = conn.sessionTicket;
      closing(again, 'ehlo');
      const capsTls = again.code === 250 ? parseEhlo(again) : undefined;
      const diff = caps && capsTls ? diffExtensions(caps, capsTls) : { added: [], removed: [], changed: [] };
      record.ehloTls = { reply: replyData(again), ...diff, ...(capsTls ? { capabilities: capsTls } : {}) };
      if (again.code !== 250) {
        await quit(conn, plan, record).catch(() => undefined);
        return;
      }
      caps = capsTls;
    }
  } else if (plan.legacyTls) {
    record.legacy = { accepted: false, error: caps ? 'STARTTLS not offered' : 'no EHLO capabilities' };
    await quit(conn, plan, record).catch(() => undefined);
    return;
  }

  // Recipient verification: MAIL FROM + RCPT TO, never DATA.
  if (plan.recipients.length > 0)
    await recipients(conn, plan, record, caps?.pipelining ?? false, command, read);
  if (plan.nullSenderTo) {
    record.nullSender = { from: '', to: plan.nullSenderTo };
    await transaction(plan, record.nullSender, command);
  }
  if (plan.relay) {
    record.relay = { from: plan.relay.from, to: plan.relay.to };
    await transaction(plan, record.relay, command);
  }
  await quit(conn, plan, record);
}

type Command = (cmd: SmtpCommand, phase: string, ms: number) => Promise<SmtpReply>;
type Read = (phase: string, ms: number) => Promise<SmtpReply>;

/** DER chains of sessions, kept out of the record (they go into TLS observations). */
export const chains = new WeakMap<SessionRecord, Buffer[]>();

function isTooManyRecipients(reply: SmtpReply): boolean {
  return reply.code === 452 && (reply.enhanced === '4.5.3' || /too many recipients/i.test(reply.text));
}

async function recipients(
  conn: SmtpConnection,
  plan: SessionPlan,
  record: SessionRecord,
  pipelining: boolean,
  command: Command,
  read: Read,
): Promise<void> {
  const { envelopeMs } = plan.timeouts;
  const results: RcptResult[] = record.rcpts;
  const pending = [...plan.recipients];
  let mailReply: SmtpReply;
  let first = true;
  const answered = (to: RcptPlan, reply: SmtpReply): RcptResult => {
    const c = classifyRcpt(reply);
    return {
      to: to.to,
      role: to.role,
      reply: replyData(reply),
      verdict: c.verdict,
      reason: c.reason,
      at: 'rcpt',
    };
  };
  try {
    while (pending.length > 0) {
      if (!first) await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
      first = false;
      const batch = pending.splice(0, pending.length);
      const retry: RcptPlan[] = [];
      if (pipelining) {
        // RFC 2920: MAIL and RCPT may be sent as a group; replies come back in order.
        conn.pipeline([
          { verb: 'MAIL', from: plan.mailFrom },
          ...batch.map((r) => ({ verb: 'RCPT' as const, to: r.to })),
        ]);
        mailReply = await read('mail', envelopeMs);
      } else {
        mailReply = await command({ verb: 'MAIL', from: plan.mailFrom }, 'mail', envelopeMs);
      }
      record.mail = { from: plan.mailFrom, reply: replyData(mailReply) };
      const refusal = classifyRefusalOfProbe(mailReply);
      if (refusal) {
        for (const r of batch) {
          results.push({
            to: r.to,
            role: r.role,
            reply: replyData(mailReply),
            verdict: refusal.verdict,
            reason: refusal.reason === 'greylisted' ? 'greylisted' : `mail_refused:${refusal.reason}`,
            at: 'mail',
          });
        }
        // Pipelined RCPTs still get (503) replies; read them so the stream stays in step.
        if (pipelining) for (const _ of batch) await read('rcpt', envelopeMs);
        if (mailReply.code === 421)
          throw new Stop(
            new ProbeError('ECONNECTION', `the server closed the session with ${mailReply.lines[0]}`, {
              phase: 'mail',
            }),
          );
        return;
      }
      for (const r of batch) {
        const reply = pipelining
          ? await read('rcpt', envelopeMs)
          : await command({ verb: 'RCPT', to: r.to }, 'rcpt', envelopeMs);
        if (isTooManyRecipients(reply) && results.length > 0) {
          retry.push(r);
          continue;
        }
        results.push(answered(r, reply));
        if (reply.code === 421)
          throw new Stop(
            new ProbeError('ECONNECTION', `the server closed the session with ${reply.lines[0]}`, {
              phase: 'rcpt',
            }),
          );
      }
      // Catch-all confidence: more random addresses, only when the first one was accepted.
      const random = results.find((x) => x.role === 'random');
      if (random?.verdict === 'deliverable' && plan.extraRandom?.length) {
        for (const to of plan.extraRandom) {
          if (results.some((x) => x.to === to)) continue;
          const reply = await command({ verb: 'RCPT', to }, 'rcpt', envelopeMs);
          results.push(answered({ to, role: 'random' }, reply));
        }
      }
      pending.push(...retry);
      if (retry.length > 0)
        conn.note(
          `server limits recipients per transaction; asking ${retry.length} more in a new transaction`,
        );
    }
  } catch (err) {
    // Whatever was not answered is unknown; the session itself ends here.
    const stop = err instanceof Stop ? err.probe : asProbeError(err, 'rcpt');
    for (const r of plan.recipients) {
      if (results.some((x) => x.to === r.to)) continue;
      results.push({
        to: r.to,
        role: r.role,
        verdict: 'unknown',
        reason: stop.code === 'ETIMEDOUT' ? 'timeout' : 'connection_lost',
        at: 'none',
      });
    }
    throw err instanceof Stop ? err : new Stop(stop);
  }
  await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
}

/** One MAIL FROM + RCPT TO transaction followed by RSET (null sender, open relay). */
async function transaction(plan: SessionPlan, test: TransactionTest, command: Command): Promise<void> {
  const { from, to } = test;
  try {
    const mail = await command({ verb: 'MAIL', from }, 'mail', plan.timeouts.envelopeMs);
    test.mailReply = replyData(mail);
    if (mail.code === 250) {
      const rcpt = await command({ verb: 'RCPT', to }, 'rcpt', plan.timeouts.envelopeMs);
      test.rcptReply = replyData(rcpt);
    }
    if (mail.code !== 421 && test.rcptReply?.code !== 421)
      await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
  } catch (err) {
    test.error = err instanceof Stop ? err.probe.message : describeError(err);
    throw err;
  }
}

async function quit(conn: SmtpConnection, plan: SessionPlan, record: SessionRecord): Promise<void> {
  try {
    conn.send({ verb: 'QUIT' });
    const reply = await conn.readReply('quit', Math.min(plan.timeouts.commandMs, 5000));
    record.quit = reply.code === 221;
  } catch (err) {
    if (plan.signal.aborted) throw err;
    // A server that hangs up on QUIT without 221 is harmless.
  }
}
