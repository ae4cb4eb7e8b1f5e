import { connectAllowed } from '../net/address-guard.js';
import { deadline } from '../net/deadline.js';
import { describeError, isProbeError } from '../net/errors.js';
import { ProbeError } from '../net/errors.js';
import { ipFamily } from '../net/ip-family.js';
import { classifyRcpt, classifyRefusalOfProbe } from './classify.js';
import type { SmtpCommand } from './command.js';
import { ConnectError, LEGACY_TLS, SmtpConnection } from './connection.js';
import type { TlsHandshake } from './connection.js';
import { diffExtensions, parseEhlo } from './ehlo.js';
import type { EhloCapabilities } from './ehlo.js';
import type { RcptResult, SessionRecord, TransactionTest } from './model.js';
import { markRcptOutOfStep } from './pairing.js';
import { announcedHostname, reportedClientAddress } from './reply.js';
import type { SmtpReply } from './reply.js';
import {
  Stop,
  asProbeError,
  closeAfterQuit,
  endTransaction,
  groupCommands,
  openTransaction,
  replyData,
  sessionClosed,
  stepsOf,
} from './steps.js';
import type { RcptPlan, SessionPlan, Steps } from './steps.js';

export { sessionClosed } from './steps.js';
export type { RcptPlan, SessionPlan, SmtpTimeouts } from './steps.js';

/**
 * One SMTP session as a sending MTA would hold it, driven step by step: connect → banner →
 * EHLO (HELO when EHLO is refused) → STARTTLS → EHLO → MAIL FROM / RCPT TO → RSET → the
 * null-sender and open-relay transactions → QUIT. It never sends DATA or BDAT (the command
 * type cannot express them). Every outcome, including a timeout or a dropped connection,
 * ends up in the returned SessionRecord; only the caller's own abort makes it reject.
 *
 * The session is over once QUIT is written: nothing the check reports depends on the 221, so
 * no round trip is spent waiting for it. The connection stays open for a short grace while it
 * closes, and the reply goes into the transcript (and `quit`) when it comes within it;
 * `sessionClosed` tells when that is done.
 */

/** How long a connection waits for the reply to QUIT while it closes, at most. */
const QUIT_GRACE_MS = 1000;

/**
 * Runs a session in a slot of the per-address limiter and gives the slot back when its
 * connection has closed: a session that said QUIT is done at once, but its connection stays
 * open for the QUIT grace, and it still counts against the server's connection limit.
 */
export async function runSessionHeld(plan: SessionPlan, release: () => void): Promise<SessionRecord> {
  let record: SessionRecord;
  try {
    record = await runSession(plan);
  } catch (err) {
    release();
    throw err;
  }
  void sessionClosed(record).then(release);
  return record;
}

export async function runSession(plan: SessionPlan): Promise<SessionRecord> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const record: SessionRecord = {
    kind: plan.kind,
    host: plan.host,
    address: plan.address,
    port: plan.port,
    family: ipFamily(plan.address) === 6 ? 6 : 4,
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
  const ending = { quitSent: false };
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
    await drive(conn, plan, record, ending);
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
      if (ending.quitSent && !record.error)
        closeAfterQuit(conn, record, Math.min(plan.timeouts.commandMs, QUIT_GRACE_MS));
      else {
        conn.note('connection closed');
        conn.close();
      }
    }
    record.durationMs = Math.round(performance.now() - t0);
  }
  return record;
}

/** Runs the plan on an open connection; each step returns false when the session is over. */
async function drive(
  conn: SmtpConnection,
  plan: SessionPlan,
  record: SessionRecord,
  ending: { quitSent: boolean },
): Promise<void> {
  const steps = stepsOf(conn, plan, record, ending);
  if (!(await greeting(steps))) return;
  plan.onGreeted?.();
  const hello = await ehlo(steps);
  if (!hello) return;
  const upgraded = await starttls(steps, hello.caps);
  if (!upgraded) return;
  const caps = upgraded.caps;

  // Recipient verification: MAIL FROM + RCPT TO, never DATA.
  const pipelining = caps?.pipelining ?? false;
  const tests: { test: TransactionTest; set: (t: TransactionTest) => void }[] = [];
  if (plan.nullSenderTo) {
    const test = { from: '', to: plan.nullSenderTo };
    tests.push({ test, set: (t) => (record.nullSender = t) });
  }
  if (plan.relay) {
    const test = { from: plan.relay.from, to: plan.relay.to };
    tests.push({ test, set: (t) => (record.relay = t) });
  }
  // With PIPELINING (RFC 2920: RSET, MAIL and RCPT may appear anywhere in a group) the
  // recipient test, its RSET and the null-sender and relay transactions go out as one group,
  // and their replies are read in order: one round trip for all of them. Only what depends on
  // an answer — more random addresses when the first was accepted, recipients a server put
  // off to another transaction — follows in a group of its own, which QUIT ends (§3.1).
  if (pipelining && tests.length > 0 && plan.recipients.length > 0) {
    const { followUp } = await recipients(steps, true, { trailing: groupCommands(true, tests) });
    await transactionGroup(steps, true, tests, { sent: true });
    if (followUp.length > 0) await recipients(steps, true, { batch: followUp });
  } else if (pipelining && tests.length > 0) {
    await transactionGroup(steps, false, tests, { sent: false });
  } else {
    if (plan.recipients.length > 0) await recipients(steps, pipelining, {});
    for (const { test, set } of tests) {
      set(test);
      await transaction(steps, test);
    }
  }
  if (!ending.quitSent) quit(steps);
}

/** The 220 greeting; anything else (554 refused, 421 busy) ends the session politely. */
async function greeting(steps: Steps): Promise<boolean> {
  const { conn, plan, record, read, pairing } = steps;
  const bannerStart = conn.elapsedMs;
  const banner = await read('banner', plan.timeouts.bannerMs);
  record.banner = { reply: replyData(banner), ms: conn.elapsedMs - bannerStart };
  const bannerHost = announcedHostname(banner);
  if (bannerHost) record.bannerHostname = bannerHost;
  // Lines after the greeting, before mxdoctor spoke: no reply was due.
  const unsolicited = conn.takeStrays();
  if (unsolicited.length > 0) {
    record.banner.unsolicited = unsolicited.flatMap((s) => s.lines);
    pairing.strays(unsolicited, 'banner', 'after the greeting');
  }
  if (banner.code !== 220) {
    // 554 (refused) or 421 (busy) at connect: say QUIT politely (RFC 5321 §3.1) and stop.
    quit(steps);
    return false;
  }
  return true;
}

/** EHLO, or HELO when EHLO is refused (RFC 5321 §4.1.4); false when neither was accepted. */
async function ehlo(steps: Steps): Promise<{ caps?: EhloCapabilities } | false> {
  const { plan, record, command, closing, pairing } = steps;
  const { commandMs } = plan.timeouts;
  let reply = await command({ verb: 'EHLO', domain: plan.heloName }, 'ehlo', commandMs);
  closing(reply, 'ehlo');
  let hello: NonNullable<SessionRecord['ehlo']>;
  if (reply.code === 250) {
    hello = { verb: 'EHLO', reply: replyData(reply), capabilities: parseEhlo(reply) };
    record.ehlo = hello;
  } else {
    const refused = reply;
    reply = await command({ verb: 'HELO', domain: plan.heloName }, 'helo', commandMs);
    hello = { verb: 'HELO', reply: replyData(reply), ehloRefused: replyData(refused) };
    record.ehlo = hello;
    closing(reply, 'helo');
    if (reply.code !== 250) {
      quit(steps);
      return false;
    }
  }
  pairing.drawn(() => {
    hello.outOfStep = true;
  });
  const ehloHost = announcedHostname(reply);
  if (ehloHost) record.ehloHostname = ehloHost;
  const client = reportedClientAddress(reply);
  if (client) hello.clientAddress = client;
  return hello.capabilities ? { caps: hello.capabilities } : {};
}

/**
 * STARTTLS (RFC 3207) when offered and planned, then EHLO again over TLS. Returns the
 * capabilities to go on with, or false when the session is over (a legacy-TLS probe stops
 * after its handshake; a failed handshake leaves the connection unusable).
 */
async function starttls(
  steps: Steps,
  caps: EhloCapabilities | undefined,
): Promise<{ caps?: EhloCapabilities } | false> {
  const { conn, plan, record, command, closing, pairing } = steps;
  if (!plan.starttls || !caps?.starttls) {
    if (!plan.legacyTls) return { caps };
    record.legacy = { accepted: false, error: caps ? 'STARTTLS not offered' : 'no EHLO capabilities' };
    quit(steps);
    return false;
  }
  const reply = await command({ verb: 'STARTTLS' }, 'starttls', plan.timeouts.commandMs);
  const tls: NonNullable<SessionRecord['starttls']> = { reply: replyData(reply) };
  record.starttls = tls;
  pairing.drawn(() => {
    tls.outOfStep = true;
  });
  closing(reply, 'starttls');
  if (reply.code !== 220) {
    tls.error = `STARTTLS refused: ${reply.lines[0]}`;
    if (!plan.legacyTls) return { caps };
    quit(steps);
    return false;
  }
  const injected = conn.discardUnread();
  if (injected.length > 0) tls.injected = injected;
  const hs = await handshake(steps);
  // The server was ready for TLS: the replies so far answered their commands.
  pairing.proven();
  const handshakeData: NonNullable<(typeof tls)['handshake']> = {
    protocol: hs.protocol,
    cipher: hs.cipher,
    ...(hs.cipherStandardName ? { cipherStandardName: hs.cipherStandardName } : {}),
    ...(hs.group ? { group: hs.group } : {}),
    ...(hs.alpn ? { alpn: hs.alpn } : {}),
    sessionTicket: false,
    ms: hs.ms,
  };
  tls.handshake = handshakeData;
  chains.set(record, hs.chain);
  plan.onHandshake?.(hs.chain);
  if (plan.legacyTls) {
    record.legacy = { accepted: true, protocol: hs.protocol, cipher: hs.cipher };
    quit(steps);
    handshakeData.sessionTicket = conn.sessionTicket;
    return false;
  }
  // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
  const again = await command({ verb: 'EHLO', domain: plan.heloName }, 'ehlo', plan.timeouts.commandMs);
  handshakeData.sessionTicket = conn.sessionTicket;
  closing(again, 'ehlo');
  const capsTls = again.code === 250 ? parseEhlo(again) : undefined;
  const diff = caps && capsTls ? diffExtensions(caps, capsTls) : { added: [], removed: [], changed: [] };
  const ehloTls: NonNullable<SessionRecord['ehloTls']> = {
    reply: replyData(again),
    ...diff,
    ...(capsTls ? { capabilities: capsTls } : {}),
  };
  record.ehloTls = ehloTls;
  pairing.drawn(() => {
    ehloTls.outOfStep = true;
  });
  if (again.code !== 250) {
    quit(steps);
    return false;
  }
  return { caps: capsTls };
}

/** The TLS handshake after "220" to STARTTLS; a failure stops the session (the connection is unusable). */
async function handshake({ conn, plan, record }: Steps): Promise<TlsHandshake> {
  let hs: TlsHandshake;
  try {
    hs = await conn.startTls({
      servername: plan.host,
      timeoutMs: plan.timeouts.tlsMs,
      ...(plan.legacyTls ? LEGACY_TLS : {}),
    });
  } catch (err) {
    if (plan.signal.aborted) throw err;
    const probe = asProbeError(err, 'tls');
    if (record.starttls) record.starttls.error = probe.message;
    if (plan.legacyTls) record.legacy = { accepted: false, error: probe.message, errorCode: probe.code };
    conn.note(`TLS handshake failed: ${probe.message}`);
    throw new Stop(probe);
  }
  conn.note(
    `TLS handshake: ${hs.protocol}, ${hs.cipher}${hs.group ? `, ${hs.group}` : ''}, ${hs.chain.length} certificate${hs.chain.length === 1 ? '' : 's'}, ${hs.ms} ms`,
  );
  return hs;
}

/** DER chains of sessions, kept out of the record (they go into TLS observations). */
export const chains = new WeakMap<SessionRecord, Buffer[]>();

function isTooManyRecipients(reply: SmtpReply): boolean {
  return reply.code === 452 && (reply.enhanced === '4.5.3' || /too many recipients/i.test(reply.text));
}

/** A recipient answer drawn from `reply`. */
function answered(to: RcptPlan, reply: SmtpReply): RcptResult {
  const c = classifyRcpt(reply);
  return {
    to: to.to,
    role: to.role,
    reply: replyData(reply),
    verdict: c.verdict,
    reason: c.reason,
    at: 'rcpt',
  };
}

interface RecipientsOptions {
  /**
   * Commands that go out in the same group as the first MAIL and RCPTs (pipelining only): the
   * RSET that ends this transaction and the transactions after it. Their replies are the
   * caller's to read; what would need another transaction is returned as `followUp`.
   */
  trailing?: SmtpCommand[];
  /** The recipients to ask (default: the plan's). */
  batch?: RcptPlan[];
}

/**
 * MAIL FROM and RCPT TO for every planned recipient (pipelined when offered; a new
 * transaction when the server limits recipients per transaction), then more random
 * addresses when the first was accepted, then RSET (with QUIT when pipelined and nothing
 * follows). Never DATA.
 */
async function recipients(
  steps: Steps,
  pipelining: boolean,
  options: RecipientsOptions,
): Promise<{ followUp: RcptPlan[] }> {
  const { plan, record, pairing, command, read } = steps;
  const { envelopeMs } = plan.timeouts;
  const results: RcptResult[] = record.rcpts;
  const pending = [...(options.batch ?? plan.recipients)];
  const followUp: RcptPlan[] = [];
  const trailing = pipelining ? options.trailing : undefined;
  const add = (result: RcptResult): void => {
    results.push(result);
    pairing.drawn(() => markRcptOutOfStep(result));
  };
  let first = true;
  try {
    while (pending.length > 0) {
      if (!first) await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
      first = false;
      const batch = pending.splice(0, pending.length);
      const retry: RcptPlan[] = [];
      const mailReply = await openTransaction(steps, pipelining, batch, trailing);
      const refusal = classifyRefusalOfProbe(mailReply);
      if (refusal) {
        for (const r of batch) {
          add({
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
        // No transaction is open: nothing to RSET (what `trailing` sent is the caller's to read).
        return { followUp };
      }
      for (const r of batch) {
        const reply = pipelining
          ? await read('rcpt', envelopeMs)
          : await command({ verb: 'RCPT', to: r.to }, 'rcpt', envelopeMs);
        if (isTooManyRecipients(reply) && results.length > 0) {
          retry.push(r);
          continue;
        }
        add(answered(r, reply));
        if (reply.code === 421)
          throw new Stop(
            new ProbeError('ECONNECTION', `the server closed the session with ${reply.lines[0]}`, {
              phase: 'rcpt',
            }),
          );
      }
      // Catch-all confidence: more random addresses, only when the first one was accepted.
      const random = results.find((x) => x.role === 'random');
      const extra =
        random?.verdict === 'deliverable'
          ? (plan.extraRandom ?? []).filter(
              (to) => !results.some((x) => x.to === to) && !batch.some((b) => b.to === to),
            )
          : [];
      if (trailing) {
        // This transaction's RSET and what followed it are already on their way: whatever
        // still needs asking goes in a transaction of its own, after them.
        followUp.push(...retry, ...extra.map((to) => ({ to, role: 'random' as const })));
        if (retry.length > 0) noteRetry(steps, retry.length);
        return { followUp };
      }
      for (const to of extra) {
        const reply = await command({ verb: 'RCPT', to }, 'rcpt', envelopeMs);
        add(answered({ to, role: 'random' }, reply));
      }
      pending.push(...retry);
      if (retry.length > 0) noteRetry(steps, retry.length);
    }
  } catch (err) {
    // Whatever was not answered is unknown; the session itself ends here.
    const stop = err instanceof Stop ? err.probe : asProbeError(err, 'rcpt');
    for (const r of options.batch ?? plan.recipients) {
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
  await endTransaction(steps, pipelining);
  return { followUp };
}

function noteRetry(steps: Steps, n: number): void {
  steps.conn.note(`server limits recipients per transaction; asking ${n} more in a new transaction`);
}

/**
 * The null-sender and relay transactions as one pipelined group (RFC 2920: RSET, MAIL and
 * RCPT may be grouped; QUIT may end it), after the recipient test's RSET when it is owed: every command is
 * sent at once and the replies are read in order, each paired with its command as in lock
 * step. RCPT goes out even when MAIL will be refused; its (503) reply is read, kept in the
 * transcript, and not taken as an answer. A test is recorded once its first reply is read.
 */
async function transactionGroup(
  steps: Steps,
  rsetOwed: boolean,
  tests: readonly { test: TransactionTest; set: (t: TransactionTest) => void }[],
  { sent }: { sent: boolean },
): Promise<void> {
  const { plan, pairing, send, read, closing } = steps;
  const { envelopeMs, commandMs } = plan.timeouts;
  if (!sent) {
    // QUIT ends the group (RFC 2920 §3.1); its reply is read while the connection closes.
    send([...groupCommands(rsetOwed, tests), { verb: 'QUIT' }], rsetOwed ? 'rset' : 'mail');
    steps.ending.quitSent = true;
  }
  if (rsetOwed) await read('rset', commandMs);
  for (const { test, set } of tests) {
    const mark = (): void => {
      test.outOfStep = true;
    };
    set(test);
    try {
      const mail = await read('mail', envelopeMs);
      test.mailReply = replyData(mail);
      pairing.drawn(mark);
      closing(mail, 'mail');
      const rcpt = await read('rcpt', envelopeMs);
      if (mail.code === 250) {
        test.rcptReply = replyData(rcpt);
        pairing.drawn(mark);
      }
      closing(rcpt, 'rcpt');
      await read('rset', commandMs);
    } catch (err) {
      test.error = err instanceof Stop ? err.probe.message : describeError(err);
      throw err;
    }
  }
}

/** One MAIL FROM + RCPT TO transaction followed by RSET (null sender, open relay). */
async function transaction({ plan, pairing, command }: Steps, test: TransactionTest): Promise<void> {
  const { from, to } = test;
  const mark = (): void => {
    test.outOfStep = true;
  };
  try {
    const mail = await command({ verb: 'MAIL', from }, 'mail', plan.timeouts.envelopeMs);
    test.mailReply = replyData(mail);
    pairing.drawn(mark);
    if (mail.code === 250) {
      const rcpt = await command({ verb: 'RCPT', to }, 'rcpt', plan.timeouts.envelopeMs);
      test.rcptReply = replyData(rcpt);
      pairing.drawn(mark);
    }
    if (mail.code !== 421 && test.rcptReply?.code !== 421)
      await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
  } catch (err) {
    test.error = err instanceof Stop ? err.probe.message : describeError(err);
    throw err;
  }
}

/**
 * QUIT (RFC 5321 §4.1.1.10), alone: the session is over once it is written. Its reply is
 * read while the connection closes (closeAfterQuit), never waited for.
 */
function quit({ send, ending }: Steps): void {
  try {
    send([{ verb: 'QUIT' }], 'quit');
    ending.quitSent = true;
  } catch {
    // The connection is already gone: there is nothing to say goodbye to.
  }
}
