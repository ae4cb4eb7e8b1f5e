import fc from 'fast-check';
import { ProbeError } from '../../src/net/errors.js';
import { ConnectError, SmtpConnection } from '../../src/smtp/connection.js';
import type { ConnectionLimits } from '../../src/smtp/connection.js';
import type { SmtpCommand } from '../../src/smtp/command.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { ScriptedSmtpServer, isMessageCommand, scriptArb } from './smtp-fake.js';

/**
 * The SMTP connection's framing (src/smtp/connection.ts) against a loopback server playing
 * a random script: random bytes and replies in random chunks, garbage, NULs, endless lines,
 * slow trickles, early closes and resets. The client reads replies and sends commands in a
 * random order. Properties:
 * - readReply resolves with a reply of at most maxReplyLines lines, each at most
 *   maxLineBytes long, or rejects with a ProbeError of a documented code — nothing else;
 * - what the connection holds unread never exceeds maxSessionBytes in all, nor maxLineBytes
 *   for the unfinished line; the transcript never holds more than the session's bytes;
 * - every read ends by its own timeout (the case's budget);
 * - the server never receives DATA or BDAT.
 */

export const CONNECTION_LIMITS: ConnectionLimits = {
  maxLineBytes: 512,
  maxReplyLines: 16,
  maxSessionBytes: 16_384,
};
const READ_MS = 15;
const READS = 8;
/** Connect, up to READS reads of READ_MS each, and slack for a busy machine. */
const BUDGET_MS = 200 + READS * READ_MS + 1000;
const DOCUMENTED = new Set(['ETIMEDOUT', 'ECONNECTION', 'EPROTOCOL', 'ELIMIT', 'ETLS']);
/** The marker the connection appends to the start of a line it cut (connection.ts). */
const CUT = /… \(line longer than \d+ bytes, cut\)$/;

const commandArb: fc.Arbitrary<SmtpCommand | undefined> = fc.constantFrom<SmtpCommand | undefined>(
  undefined,
  { verb: 'EHLO', domain: 'probe.fuzz.test' },
  { verb: 'MAIL', from: 'probe@fuzz.test' },
  { verb: 'RCPT', to: 'someone@fuzz.test' },
  { verb: 'RSET' },
  { verb: 'NOOP' },
  { verb: 'QUIT' },
);

function checkHeld(conn: SmtpConnection, limits: ConnectionLimits): void {
  const unread = conn.unread();
  const held = unread.reduce((n, l) => n + Buffer.byteLength(l), 0);
  // Undecodable bytes come back as U+FFFD (3 bytes in UTF-8, 1 on the wire): count characters.
  const heldChars = unread.reduce((n, l) => n + l.length, 0);
  violation(
    heldChars <= limits.maxSessionBytes,
    `holds ${heldChars} characters (${held} bytes UTF-8) unread, more than the session's ${limits.maxSessionBytes}`,
  );
  const last = unread.at(-1);
  violation(
    last === undefined || last.length <= limits.maxLineBytes,
    `holds an unfinished line of ${last?.length} characters (limit ${limits.maxLineBytes})`,
  );
  let received = 0;
  for (const t of conn.transcript) {
    if (t.dir !== 'S') continue;
    if (CUT.test(t.line)) continue;
    violation(t.line.length <= limits.maxLineBytes, `transcript line of ${t.line.length} characters`);
    received += t.line.length;
  }
  violation(received <= limits.maxSessionBytes, `transcript holds ${received} characters received`);
}

/** The property, against a running scripted server. */
export function connectionProperty(server: ScriptedSmtpServer) {
  return fc.asyncProperty(
    scriptArb,
    fc.array(commandArb, { minLength: READS, maxLength: READS }),
    async (script, commands) => {
      const played = server.play(script);
      await withinBudget(BUDGET_MS, 'SMTP connection', async () => {
        let conn: SmtpConnection;
        try {
          ({ conn } = await SmtpConnection.open({
            address: '127.0.0.1',
            port: server.port,
            timeoutMs: 1000,
            signal: new AbortController().signal,
            limits: CONNECTION_LIMITS,
          }));
        } catch (err) {
          // A server that resets at once fails the connect: documented as ConnectError.
          if (err instanceof ConnectError) return;
          throw err;
        }
        try {
          for (const cmd of commands) {
            checkHeld(conn, CONNECTION_LIMITS);
            if (cmd) {
              try {
                conn.send(cmd);
              } catch (err) {
                // Writing on a connection that failed throws its failure.
                if (!(err instanceof ProbeError && DOCUMENTED.has(err.code))) throw err;
              }
            }
            try {
              const reply = await conn.readReply('fuzz', READ_MS);
              violation(
                reply.lines.length <= CONNECTION_LIMITS.maxReplyLines,
                `a reply of ${reply.lines.length} lines`,
              );
              for (const line of reply.lines)
                violation(line.length <= CONNECTION_LIMITS.maxLineBytes, `a reply line of ${line.length}`);
            } catch (err) {
              if (!(err instanceof ProbeError && DOCUMENTED.has(err.code))) throw err;
            }
          }
          // Let the rest of the script arrive unread, then look at what is held.
          await new Promise((r) => setTimeout(r, 5));
          checkHeld(conn, CONNECTION_LIMITS);
        } finally {
          conn.close();
        }
      });
      const connection = await played.connection();
      for (const line of connection?.clientLines ?? [])
        violation(!isMessageCommand(line), `the client sent ${JSON.stringify(line)}`);
    },
  );
}

export const smtpConnectionTarget: FuzzTarget = {
  name: 'smtp-connection',
  about:
    'SMTP framing against a random loopback server: documented ProbeErrors only, bounded lines and buffers, reads end by their timeout, never DATA/BDAT',
  shortRuns: 100,
  budgetMs: BUDGET_MS,
  async create() {
    const server = await new ScriptedSmtpServer().start();
    return { property: erase(connectionProperty(server)), stop: () => server.stop() };
  },
};
