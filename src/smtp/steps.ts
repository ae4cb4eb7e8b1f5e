import { ProbeError, describeError } from '../net/errors.js';
import type { SocketFactory } from '../net/connect.js';
import type { SmtpCommand } from './command.js';
import type { ConnectionLimits, SmtpConnection } from './connection.js';
import type { RcptRole, SessionRecord, TransactionTest } from './model.js';
import { Pairing } from './pairing.js';
import type { SmtpReply } from './reply.js';

/**
 * What the steps of an SMTP session (session.ts) work from and with: the plan, the I/O
 * helpers that send commands and read replies (pairing them, turning failures into a Stop),
 * and the end of a connection after QUIT.
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
  /**
   * Called once when the server's 220 greeting has arrived, before EHLO: the probe opens its
   * legacy-TLS session beside this one then (this session is connected and greeted first, so
   * a server that takes one connection per client refuses the second, not this one; a tarpit
   * that never finishes its greeting gets no second connection).
   */
  onGreeted?: () => void;
  /**
   * Called once when the STARTTLS handshake is done, with the certificates the server
   * presented, before the session goes on (EHLO again): the probe judges them meanwhile.
   */
  onHandshake?: (chain: readonly Buffer[]) => void;
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

/** Connections still closing after QUIT, by the record of their session. */
const closings = new WeakMap<SessionRecord, Promise<void>>();

/**
 * Resolves once the session's connection is closed: at once for most sessions, after the
 * QUIT grace for one that ended with QUIT (its transcript is final then). Never rejects.
 * Callers that count connections per address (politeness) release their slot here.
 */
export function sessionClosed(record: SessionRecord): Promise<void> {
  return closings.get(record) ?? Promise.resolve();
}

/** Thrown inside the runner to stop the plan; its details go into record.error. */
export class Stop extends Error {
  constructor(readonly probe: ProbeError) {
    super(probe.message);
  }
}

export function replyData(reply: SmtpReply): SmtpReply {
  const out: SmtpReply = { code: reply.code, lines: reply.lines, text: reply.text };
  if (reply.enhanced) out.enhanced = reply.enhanced;
  return out;
}

export function asProbeError(err: unknown, phase: string): ProbeError {
  if (err instanceof ProbeError)
    return err.phase ? err : new ProbeError(err.code, err.message, { phase, cause: err.cause });
  return new ProbeError('EPROTOCOL', describeError(err), { phase, cause: err });
}

/**
 * The end of a session that said QUIT: the reply, when it comes within the grace, goes into
 * the transcript (the connection records it as it reads) and sets `quit`; then the connection
 * closes. It is not a verdict: a reply that cannot answer QUIT is only kept in the transcript.
 */
export function closeAfterQuit(conn: SmtpConnection, record: SessionRecord, graceMs: number): void {
  closings.set(record, readQuitReply(conn, record, graceMs));
}

async function readQuitReply(conn: SmtpConnection, record: SessionRecord, graceMs: number): Promise<void> {
  const reply = await conn.closeAfterReply('quit', graceMs);
  record.quit = reply?.code === 221;
  record.bareLineFeeds = conn.bareLineFeeds;
  record.bytesIn = conn.bytesIn;
}

/** What the steps of one session share: the connection, the plan, the record being filled, and the I/O helpers. */
export interface Steps {
  conn: SmtpConnection;
  plan: SessionPlan;
  record: SessionRecord;
  /** Whether replies still answer their commands (see pairing.ts). */
  pairing: Pairing;
  /** Sends commands (several when pipelined), after setting aside what the server said out of turn. */
  send: (cmds: readonly SmtpCommand[], phase: string) => void;
  read: Read;
  command: Command;
  /** Stops the session when the server answers 421 (closing the channel, RFC 5321 §3.8). */
  closing: (reply: SmtpReply, phase: string) => void;
  /** Set once QUIT has been written (alone, or as the last command of a pipelined group). */
  ending: { quitSent: boolean };
}

export type Command = (cmd: SmtpCommand, phase: string, ms: number) => Promise<SmtpReply>;
export type Read = (phase: string, ms: number) => Promise<SmtpReply>;

export function stepsOf(
  conn: SmtpConnection,
  plan: SessionPlan,
  record: SessionRecord,
  ending: { quitSent: boolean },
): Steps {
  const pairing = new Pairing(record);
  const read = async (phase: string, ms: number): Promise<SmtpReply> => {
    let reply: SmtpReply;
    try {
      reply = await conn.readReply(phase, ms);
    } catch (err) {
      if (plan.signal.aborted) throw err;
      throw new Stop(asProbeError(err, phase));
    }
    pairing.check(phase, reply, conn.elapsedMs);
    return reply;
  };
  const send = (cmds: readonly SmtpCommand[], phase: string): void => {
    // No reply is due now: whatever is waiting came unasked.
    const first = cmds[0];
    pairing.strays(conn.takeStrays(), phase, `before ${first ? commandText(first) : phase}`);
    try {
      conn.pipeline(cmds);
    } catch (err) {
      throw new Stop(asProbeError(err, phase));
    }
  };
  const command = async (cmd: SmtpCommand, phase: string, ms: number): Promise<SmtpReply> => {
    send([cmd], phase);
    return read(phase, ms);
  };
  const closing = (reply: SmtpReply, phase: string): void => {
    if (reply.code === 421)
      throw new Stop(
        new ProbeError('ECONNECTION', `the server closed the session with ${reply.lines[0]}`, { phase }),
      );
  };
  return { conn, plan, record, pairing, send, read, command, closing, ending };
}

export function commandText(cmd: SmtpCommand): string {
  return cmd.verb === 'MAIL' ? 'MAIL FROM' : cmd.verb === 'RCPT' ? 'RCPT TO' : cmd.verb;
}

/** RSET after the recipient test; pipelined, QUIT ends the group and its reply is not waited for. */
export async function endTransaction(steps: Steps, pipelining: boolean): Promise<void> {
  const { plan, read, command } = steps;
  if (pipelining) {
    // Nothing follows but QUIT: it ends the group (RFC 2920 §3.1), its reply is not waited for.
    steps.send([{ verb: 'RSET' }, { verb: 'QUIT' }], 'rset');
    steps.ending.quitSent = true;
    await read('rset', plan.timeouts.commandMs);
  } else await command({ verb: 'RSET' }, 'rset', plan.timeouts.commandMs);
}

/** The commands of the null-sender and relay transactions, after the RSET that is owed. */
export function groupCommands(
  rsetOwed: boolean,
  tests: readonly { test: TransactionTest; set: (t: TransactionTest) => void }[],
): SmtpCommand[] {
  const cmds: SmtpCommand[] = rsetOwed ? [{ verb: 'RSET' }] : [];
  for (const { test } of tests)
    cmds.push({ verb: 'MAIL', from: test.from }, { verb: 'RCPT', to: test.to }, { verb: 'RSET' });
  return cmds;
}

/**
 * MAIL FROM for a batch of recipients: pipelined, with the batch's RCPTs and whatever trails
 * them in one group; in lock step, alone. Returns MAIL's reply, recorded.
 */
export async function openTransaction(
  steps: Steps,
  pipelining: boolean,
  batch: readonly RcptPlan[],
  trailing: readonly SmtpCommand[] | undefined,
): Promise<SmtpReply> {
  const { plan, record, pairing, command, read } = steps;
  const { envelopeMs } = plan.timeouts;
  let mailReply: SmtpReply;
  if (pipelining) {
    // RFC 2920: MAIL and RCPT may be sent as a group; replies come back in order.
    steps.send(
      [
        { verb: 'MAIL', from: plan.mailFrom },
        ...batch.map((r) => ({ verb: 'RCPT' as const, to: r.to })),
        ...(trailing ?? []),
      ],
      'mail',
    );
    mailReply = await read('mail', envelopeMs);
  } else {
    mailReply = await command({ verb: 'MAIL', from: plan.mailFrom }, 'mail', envelopeMs);
  }
  const mail: NonNullable<SessionRecord['mail']> = { from: plan.mailFrom, reply: replyData(mailReply) };
  record.mail = mail;
  pairing.drawn(() => {
    mail.outOfStep = true;
  });
  return mailReply;
}
