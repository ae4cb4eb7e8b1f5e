import fc from 'fast-check';
import {
  ReplyAssembler,
  ReplySyntaxError,
  announcedHostname,
  parseReply,
  quoteReply,
  reportedClientAddress,
} from '../../src/smtp/reply.js';
import type { SmtpReply } from '../../src/smtp/reply.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { lineArb, lineEndArb, replyLinesArb } from './smtp-arbitraries.js';

/**
 * The SMTP reply reader (src/smtp/reply.ts) on its own, without sockets: lines a server
 * might send, right or wrong, fed to ReplyAssembler one by one, and as text to parseReply.
 * Properties: the only error is ReplySyntaxError; a finished reply holds exactly the lines
 * pushed for it, with a code of 200–599; the helpers that read host names and addresses out
 * of a reply never throw, return text taken from it, and run in linear time (the budget).
 */

const BUDGET_MS = 250;

function checkReply(reply: SmtpReply, pushed: readonly string[]): void {
  violation(reply.code >= 200 && reply.code <= 599, `reply code ${reply.code} out of range`);
  violation(
    reply.lines.length === pushed.length && reply.lines.every((l, i) => l === pushed[i]),
    'the reply does not hold exactly the lines pushed for it',
  );
  const total = pushed.reduce((n, l) => n + l.length, 0);
  violation(reply.text.length <= total, 'reply text longer than its lines');
  const host = announcedHostname(reply);
  violation(host === undefined || host.length <= total, 'announced host name longer than the reply');
  const client = reportedClientAddress(reply);
  violation(
    client === undefined || (reply.lines[0] ?? '').includes(client),
    'client address not in the reply',
  );
  violation(quoteReply(reply).length <= 201, 'quoteReply longer than its limit');
}

function syntaxErrorOnly(err: unknown): void {
  if (!(err instanceof ReplySyntaxError)) throw err;
}

export const replyProperty = fc.asyncProperty(
  fc.array(
    fc.oneof(
      lineArb,
      replyLinesArb.map((ls) => ls.join('\n')),
    ),
    { maxLength: 24 },
  ),
  fc.array(lineEndArb, { minLength: 1, maxLength: 4 }),
  async (items, ends) => {
    const lines = items.flatMap((l) => l.split('\n'));
    await withinBudget(
      BUDGET_MS,
      'reply reader',
      async () => {
        let assembler = new ReplyAssembler();
        let pushed: string[] = [];
        for (const line of lines) {
          pushed.push(line);
          try {
            const reply = assembler.push(line);
            if (reply) {
              checkReply(reply, pushed);
              pushed = [];
            }
          } catch (err) {
            syntaxErrorOnly(err);
            // The connection gives up on a broken reply; start afresh like a new one would.
            assembler = new ReplyAssembler();
            pushed = [];
          }
          violation(assembler.pending === pushed.length, 'pending line count is off');
        }
        const text = lines.map((l, i) => l + ends[i % ends.length]).join('');
        try {
          const reply = parseReply(text);
          violation(reply.code >= 200 && reply.code <= 599, `parseReply: code ${reply.code}`);
        } catch (err) {
          syntaxErrorOnly(err);
        }
      },
      { repeatable: true },
    );
  },
);

export const smtpReplyTarget: FuzzTarget = {
  name: 'smtp-reply',
  about:
    'SMTP reply reader: only ReplySyntaxError, replies hold exactly their lines, host/address helpers linear and safe',
  shortRuns: 400,
  budgetMs: BUDGET_MS,
  create: async () => ({ property: erase(replyProperty), stop: async () => {} }),
};
