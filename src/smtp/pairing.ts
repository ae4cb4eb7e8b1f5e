import type { StrayLines } from './connection.js';
import type { OutOfStep, RcptResult, SessionRecord } from './model.js';
import type { SmtpReply } from './reply.js';

/**
 * Whether replies still answer the commands they are read for. SMTP pairs them by order
 * alone (RFC 5321 §4.2: exactly one reply per command, in sequence), so a server that sends
 * one reply too many — an extra line after its EHLO reply, a duplicated RCPT answer, a line
 * of another reply inside a multi-line one — shifts every later reply onto the wrong command:
 * STARTTLS looks refused, a refused relay recipient looks accepted. The session discards
 * what arrived out of turn, notes it in the record, and from then on no verdict is drawn from
 * a reply: every result drawn since the last proof that the replies were in step (the start
 * of the session, or a TLS handshake that followed "220" to STARTTLS) is marked, and so is
 * every later one.
 */

/** Why a verdict was not drawn from a reply whose pairing with its command is in doubt. */
export const OUT_OF_STEP = "the server's replies were out of step";

/** Success codes each command can get (RFC 5321 §4.3.2; RFC 3207 §4 for STARTTLS). */
const SUCCESS: Record<string, readonly number[]> = {
  ehlo: [250],
  helo: [250],
  mail: [250],
  rcpt: [250, 251],
  rset: [250],
  starttls: [220],
  quit: [221],
};

/** Replies RSET and QUIT can get besides success (RFC 5321 §4.3.2): anything else answers another command. */
const PLAIN_ERRORS = [421, 500, 501, 502, 504];

const COMMAND_OF: Record<string, string> = {
  banner: 'the greeting',
  ehlo: 'EHLO',
  helo: 'HELO',
  mail: 'MAIL FROM',
  rcpt: 'RCPT TO',
  rset: 'RSET',
  starttls: 'STARTTLS',
  quit: 'QUIT',
};

function commandOf(phase: string): string {
  return COMMAND_OF[phase] ?? phase.toUpperCase();
}

/** Whether a reply can answer the command of `phase`; replies to other phases are not judged. */
export function fitsCommand(phase: string, reply: SmtpReply): boolean {
  const success = SUCCESS[phase];
  if (!success) return true;
  if (success.includes(reply.code)) return true;
  // A positive reply of the wrong kind (a greeting, "250" to STARTTLS) belongs to another command.
  if (reply.code < 400) return false;
  // RSET and QUIT have only a few ways to fail; a refusal like "550 user unknown" answers something else.
  if (phase === 'rset' || phase === 'quit') return PLAIN_ERRORS.includes(reply.code);
  return true;
}

/** Marks a recipient answer whose pairing is in doubt: no verdict is drawn from it. */
export function markRcptOutOfStep(r: RcptResult): void {
  r.verdict = 'unknown';
  r.reason = 'out_of_step';
  r.outOfStep = true;
}

export class Pairing {
  private lost = false;
  /** Marks for the results drawn since the last proof that the replies were in step. */
  private marks: (() => void)[] = [];

  constructor(private readonly record: SessionRecord) {}

  /** Whether the server has spoken out of turn in this session. */
  get inDoubt(): boolean {
    return this.lost;
  }

  /**
   * Notes what the connection found out of turn, in `phase`: lines inside a multi-line reply,
   * or lines waiting when no reply was due (`where`, e.g. "before STARTTLS").
   */
  strays(found: readonly StrayLines[], phase: string, where: string): void {
    for (const s of found) {
      this.note({
        atMs: s.atMs,
        phase: s.inside ?? phase,
        where: s.inside ? `inside the ${commandOf(s.inside)} reply` : where,
        kind: 'stray',
        lines: s.lines,
      });
    }
  }

  /** Notes a reply that cannot answer the command of `phase` (the replies have shifted). */
  check(phase: string, reply: SmtpReply, atMs: number): void {
    if (fitsCommand(phase, reply)) return;
    this.note({
      atMs,
      phase,
      where: `as the answer to ${commandOf(phase)}`,
      kind: 'unexpected',
      lines: reply.lines,
    });
  }

  /**
   * A result drawn from a reply. `mark` runs at once when the pairing is already in doubt, or
   * later if the server turns out to have spoken out of turn before the next proof.
   */
  drawn(mark: () => void): void {
    if (this.lost) mark();
    else this.marks.push(mark);
  }

  /** The TLS handshake after "220" to STARTTLS succeeded: the replies so far answered their commands. */
  proven(): void {
    this.marks = [];
  }

  private note(entry: OutOfStep): void {
    (this.record.outOfStep ??= []).push(entry);
    this.lost = true;
    for (const mark of this.marks) mark();
    this.marks = [];
  }
}
