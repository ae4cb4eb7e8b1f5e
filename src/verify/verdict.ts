import type { MxSet } from '../report/model.js';
import type { RcptResult } from '../smtp/model.js';
import type { Target } from '../smtp/targets.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { ParsedAddress } from './address.js';
import type { VerifyResult } from './model.js';

/**
 * From what was learnt about an address to its verdict, with the reason and a sentence. Pure.
 * The rule throughout: only an answer about the recipient itself makes an address
 * undeliverable; anything about the probe (a refusal of our IP or sender, greylisting, a
 * server that stopped answering) leaves it unknown.
 */

/** What the run learnt about one domain. */
export interface DomainFacts {
  domain: string;
  mx: MxSet;
  /** MX addresses to ask, in preference order (one per host). */
  candidates: Target[];
  catchAll: 'yes' | 'no' | 'unknown';
  /** The random address asked (or being asked) for catch-all. */
  catchAllProbe?: string;
}

/** What the SMTP sessions said about one address. */
export type Asked =
  | { kind: 'answered'; rcpt: RcptResult; mx: Pick<Target, 'host' | 'address'> }
  | { kind: 'stopped'; why: string; mx?: Pick<Target, 'host' | 'address'>; reply?: SmtpReply }
  | { kind: 'unreachable'; why: string; mx?: Pick<Target, 'host' | 'address'> }
  | { kind: 'not_asked' };

function flags(a: ParsedAddress, facts: DomainFacts | undefined): VerifyResult['flags'] {
  return {
    catchAll: facts?.catchAll === 'yes' ? true : facts?.catchAll === 'no' ? false : null,
    role: a.role,
    disposable: a.disposable,
    smtpUtf8: a.utf8,
  };
}

function base(a: ParsedAddress, facts: DomainFacts | undefined) {
  return { input: a.input, address: a.address, domain: a.domain.ascii, flags: flags(a, facts) };
}

export function explain(reply: SmtpReply | undefined): string {
  if (!reply) return '';
  const line = reply.lines[0] ?? String(reply.code);
  return ` (“${line.length > 200 ? `${line.slice(0, 197)}…` : line}”)`;
}

/** A verdict settled by DNS alone (no such domain, null MX, no MX, dangling MX, lookup failure), or undefined. */
function beforeSmtp(a: ParsedAddress, facts: DomainFacts): VerifyResult | undefined {
  const d = a.domain.unicode;
  const out = (verdict: VerifyResult['verdict'], reason: string, explanation: string): VerifyResult => ({
    ...base(a, facts),
    verdict,
    reason,
    explanation,
  });
  switch (facts.mx.kind) {
    case 'nxdomain':
      return out(
        'undeliverable',
        'no_such_domain',
        `${d} does not exist in DNS, so no address there receives mail.`,
      );
    case 'null':
      return out(
        'undeliverable',
        'null_mx',
        `${d} publishes a null MX (RFC 7505): it accepts no mail at all.`,
      );
    case 'none':
      return out(
        'undeliverable',
        'no_mx',
        `${d} has no MX record and no address, so mail to it cannot be delivered.`,
      );
    case 'error':
      return out('unknown', 'dns_error', `The MX lookup of ${d} failed, so there was no server to ask.`);
  }
  if (facts.candidates.length > 0) return undefined;
  const definite = facts.mx.hosts.every(
    (h) =>
      !h.ipLiteral &&
      ['NOERROR', 'NXDOMAIN'].includes(h.lookup.a) &&
      ['NOERROR', 'NXDOMAIN'].includes(h.lookup.aaaa),
  );
  if (definite)
    return out(
      'undeliverable',
      'dangling_mx',
      `No MX host of ${d} has an address (${facts.mx.hosts.map((h) => h.name).join(', ')}): the MX records are dangling, so mail cannot be delivered.`,
    );
  return out(
    'unknown',
    'dns_error',
    `The addresses of the MX hosts of ${d} could not be looked up, so there was no server to ask.`,
  );
}

/** An address the probe does not put on the command line. */
function cannotAsk(a: ParsedAddress, facts: DomainFacts): VerifyResult {
  return a.utf8
    ? {
        ...base(a, facts),
        verdict: 'unknown',
        reason: 'smtputf8',
        explanation: `The local part has non-ASCII characters, which needs SMTPUTF8 (RFC 6531); the probe does not ask such addresses.`,
      }
    : {
        ...base(a, facts),
        verdict: 'unknown',
        reason: 'quoted_local_part',
        explanation: `The quoted local part has characters (spaces, "@", angle brackets) the probe does not put on a command line.`,
      };
}

function afterSmtp(a: ParsedAddress, facts: DomainFacts, asked: Asked): VerifyResult {
  const b = base(a, facts);
  const where = (mx: Pick<Target, 'host' | 'address'> | undefined) =>
    mx ? { mx: { host: mx.host, address: mx.address } } : {};
  if (asked.kind === 'not_asked')
    return { ...b, verdict: 'unknown', reason: 'not_asked', explanation: 'The address was not asked.' };
  if (asked.kind === 'unreachable')
    return {
      ...b,
      ...where(asked.mx),
      verdict: 'unknown',
      reason: 'unreachable',
      explanation: `No MX host could be reached: ${asked.why}.`,
    };
  if (asked.kind === 'stopped')
    return {
      ...b,
      ...where(asked.mx),
      ...(asked.reply ? { reply: asked.reply } : {}),
      verdict: 'unknown',
      reason: 'probe_stopped',
      explanation: `Unknown: the server stopped answering the probe (${asked.why}). This says nothing about the address.`,
    };
  const r = asked.rcpt;
  const with_ = { ...b, ...where(asked.mx), ...(r.reply ? { reply: r.reply } : {}) };
  const said = explain(r.reply);
  switch (r.verdict) {
    case 'deliverable':
      if (facts.catchAll === 'yes')
        return {
          ...with_,
          verdict: 'risky',
          reason: 'catch_all',
          explanation: `Accepted${said}, but ${facts.domain} accepts every address (a random one was accepted too), so this says nothing about the mailbox.`,
        };
      if (a.disposable)
        return {
          ...with_,
          verdict: 'risky',
          reason: 'disposable',
          explanation: `Accepted${said}, but ${facts.domain} is a disposable-address provider: the mailbox is likely to vanish.`,
        };
      if (a.role)
        return {
          ...with_,
          verdict: 'risky',
          reason: 'role_account',
          explanation: `Accepted${said}, but ${a.local} is a role account, usually read by several people or by none.`,
        };
      return {
        ...with_,
        verdict: 'deliverable',
        reason: 'accepted',
        explanation: `The MX accepted the address${said}.`,
      };
    case 'undeliverable':
      return {
        ...with_,
        verdict: 'undeliverable',
        reason: r.reason,
        explanation: `The MX refused the recipient${said}.`,
      };
    case 'mailbox_full':
      return {
        ...with_,
        verdict: 'risky',
        reason: 'mailbox_full',
        explanation: `The mailbox exists but is full${said}.`,
      };
    case 'greylisted':
      return {
        ...with_,
        verdict: 'unknown',
        reason: 'greylisted',
        explanation: `The server greylisted the probe${said}: ask again later (--greylist-retry).`,
      };
    case 'blocked_probe':
      return {
        ...with_,
        verdict: 'unknown',
        reason: 'probe_refused',
        explanation: `The server refused the probe itself, not the address${said}.`,
      };
    case 'temporary':
      return {
        ...with_,
        verdict: 'unknown',
        reason: 'temporary',
        explanation: `A temporary failure${said}.`,
      };
    default:
      return {
        ...with_,
        verdict: 'unknown',
        reason: r.reason === 'cannot_verify' ? 'cannot_verify' : 'unknown',
        explanation: `The server would not say${said}.`,
      };
  }
}

export const finalVerdict = { beforeSmtp, cannotAsk, afterSmtp };
