import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { ConnectionLimits } from '../../src/smtp/connection.js';
import { runSession } from '../../src/smtp/session.js';
import type { RcptPlan, SessionPlan, SmtpTimeouts } from '../../src/smtp/session.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { ScriptedSmtpServer, isMessageCommand, scriptArb } from './smtp-fake.js';

/**
 * The SMTP session driver (src/smtp/session.ts) against a loopback server playing a random
 * script (smtp-fake.ts): replies in random orders landing on random commands, garbage, NULs,
 * endless lines, trickles, TLS upgrades, closes, resets and silence; random session plans
 * (STARTTLS or not, recipients, null sender, relay test, hostile addresses that try to smuggle
 * a command line); and sometimes the caller aborting. Properties:
 * - runSession resolves with a record of plain data, and rejects only when the caller aborted;
 * - it ends by the session deadline (plus scheduling slack);
 * - the record holds no reply line longer than maxLineBytes, no reply of more than
 *   maxReplyLines lines, and no more received text than maxSessionBytes;
 * - its error, if any, has a documented code;
 * - the server never receives DATA or BDAT, nor any line that is not one of the probe's
 *   commands.
 */

export const SESSION_TIMEOUTS: SmtpTimeouts = {
  connectMs: 300,
  bannerMs: 40,
  commandMs: 40,
  envelopeMs: 40,
  tlsMs: 150,
  sessionMs: 300,
};
export const SESSION_LIMITS: ConnectionLimits = {
  maxLineBytes: 512,
  maxReplyLines: 16,
  maxSessionBytes: 16_384,
};
/** How late past its deadline a session may end on a busy 2-core machine. */
const SLACK_MS = 1000;
const BUDGET_MS = SESSION_TIMEOUTS.sessionMs + SLACK_MS;
const ERROR_CODES = new Set([
  'ETIMEDOUT',
  'EABORTED',
  'ECONNECTION',
  'ETLS',
  'EPROTOCOL',
  'ELIMIT',
  'EFORBIDDEN',
  'EINPUT',
]);
const PROBE_COMMAND =
  /^(EHLO |HELO |STARTTLS$|MAIL FROM:<[^\r\n<>]*>$|RCPT TO:<[^\r\n<>]+>$|RSET$|NOOP$|QUIT$)/;
const CUT = /… \(line longer than \d+ bytes, cut\)$/;

/** Addresses as a user might type them, including ones that try to smuggle a second command. */
const addressArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('someone@fuzz.test', 'postmaster@fuzz.test', 'x7q2@fuzz.test') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a@fuzz.test>\r\nDATA',
      'a@fuzz.test\nBDAT 10 LAST',
      'a@fuzz.test\r\n.\r\nDATA',
      'a\u0000@fuzz.test',
      '<a@fuzz.test>',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

const rcptArb: fc.Arbitrary<RcptPlan> = fc.record({
  to: addressArb,
  role: fc.constantFrom('postmaster', 'verify', 'random'),
});

export interface PlanShape {
  starttls: boolean;
  legacyTls: boolean;
  recipients: RcptPlan[];
  extraRandom: string[];
  nullSenderTo: string | null;
  relay: boolean;
  /** The caller aborts after this many milliseconds. */
  abortAfterMs: number | null;
}

export const planArb: fc.Arbitrary<PlanShape> = fc.record({
  starttls: fc.boolean(),
  legacyTls: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
  recipients: fc.array(rcptArb, { maxLength: 4 }),
  extraRandom: fc.array(addressArb, { maxLength: 2 }),
  nullSenderTo: fc.option(addressArb, { freq: 2 }),
  relay: fc.boolean(),
  abortAfterMs: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, fc.integer({ min: 0, max: 200 })),
});

/** Every object in the record that looks like an SMTP reply ({ code, lines }). */
function replies(value: unknown, out: { code: number; lines: string[] }[] = []): typeof out {
  if (Array.isArray(value)) for (const v of value) replies(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.code === 'number' && Array.isArray(o.lines))
      out.push(o as { code: number; lines: string[] });
    for (const v of Object.values(o)) replies(v, out);
  }
  return out;
}

export function sessionProperty(server: ScriptedSmtpServer) {
  return fc.asyncProperty(scriptArb, planArb, async (script, shape) => {
    const played = server.play(script);
    const caller = new AbortController();
    const plan: SessionPlan = {
      kind: 'probe',
      host: 'mx.fuzz.test',
      address: '127.0.0.1',
      port: server.port,
      heloName: 'probe.fuzz.test',
      mailFrom: 'probe@fuzz.test',
      starttls: shape.starttls,
      legacyTls: shape.legacyTls,
      recipients: shape.recipients,
      extraRandom: shape.extraRandom,
      ...(shape.nullSenderTo !== null ? { nullSenderTo: shape.nullSenderTo } : {}),
      ...(shape.relay
        ? { relay: { from: 'someone@fuzz-sender.test', to: 'relay@fuzz-elsewhere.test' } }
        : {}),
      timeouts: SESSION_TIMEOUTS,
      limits: SESSION_LIMITS,
      allowPrivate: true,
      signal: caller.signal,
    };
    const abortTimer =
      shape.abortAfterMs === null ? undefined : setTimeout(() => caller.abort(), shape.abortAfterMs);
    const t0 = performance.now();
    try {
      await withinBudget(BUDGET_MS, 'SMTP session', async () => {
        let record;
        try {
          record = await runSession(plan);
        } catch (err) {
          violation(caller.signal.aborted, `runSession rejected without an abort: ${String(err)}`);
          violation(err instanceof Error, 'runSession rejected with a non-Error');
          return;
        }
        const ms = performance.now() - t0;
        violation(
          ms <= SESSION_TIMEOUTS.sessionMs + SLACK_MS,
          `the session took ${Math.round(ms)} ms (deadline ${SESSION_TIMEOUTS.sessionMs})`,
        );
        violation(
          isDeepStrictEqual(JSON.parse(JSON.stringify(record)), record),
          'the record is not plain data',
        );
        if (record.error) violation(ERROR_CODES.has(record.error.code), `error code ${record.error.code}`);
        for (const r of replies(record)) {
          violation(r.lines.length <= SESSION_LIMITS.maxReplyLines, `a reply of ${r.lines.length} lines`);
          for (const l of r.lines)
            violation(l.length <= SESSION_LIMITS.maxLineBytes, `a reply line of ${l.length} characters`);
        }
        let received = 0;
        for (const t of record.transcript) {
          if (t.dir === 'C')
            violation(PROBE_COMMAND.test(t.line), `transcript: sent ${JSON.stringify(t.line)}`);
          if (t.dir !== 'S' || CUT.test(t.line)) continue;
          violation(t.line.length <= SESSION_LIMITS.maxLineBytes, `transcript line of ${t.line.length}`);
          received += t.line.length;
        }
        violation(received <= SESSION_LIMITS.maxSessionBytes, `transcript holds ${received} characters`);
      });
    } finally {
      clearTimeout(abortTimer);
    }
    const connection = await played.connection();
    for (const line of connection?.clientLines ?? []) {
      violation(!isMessageCommand(line), `the server received ${JSON.stringify(line)}`);
      violation(PROBE_COMMAND.test(line), `the server received ${JSON.stringify(line)}`);
    }
  });
}

export const smtpSessionTarget: FuzzTarget = {
  name: 'smtp-session',
  about:
    'SMTP session driver against a random loopback server: rejects only on abort, ends by its deadline, bounded record, never DATA/BDAT',
  shortRuns: 100,
  budgetMs: BUDGET_MS,
  async create() {
    const server = await new ScriptedSmtpServer().start();
    return { property: erase(sessionProperty(server)), stop: () => server.stop() };
  },
};
