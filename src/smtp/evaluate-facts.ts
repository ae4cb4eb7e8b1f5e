import type { FindingBody, FindingFactory } from '../checks/findings.js';
import type { Finding, Status } from '../report/model.js';
import type { RcptVerdict } from './classify.js';
import type { RcptResult, SessionRecord } from './model.js';
import { OUT_OF_STEP } from './pairing.js';
import { recipientSession } from './probe.js';
import type { AddressProbe } from './probe.js';
import type { Skipped } from './targets.js';
import { quoteReply } from './reply.js';
import type { SmtpReply } from './reply.js';

/**
 * What the SMTP evaluation judges, and the small text helpers its modules share. The
 * evaluation is split by area — the session up to STARTTLS (evaluate-session.ts), TLS and the
 * certificate (evaluate-tls.ts), the postmaster, null-sender and relay transactions
 * (evaluate-transactions.ts), recipients, catch-all and greylisting (evaluate-recipients.ts),
 * and what differs between addresses (evaluate-consistency.ts); evaluate.ts puts them together.
 */

export interface SmtpFacts {
  domain: string;
  port: number;
  ehloName: string;
  mailFrom: string;
  probes: AddressProbe[];
  skipped: Skipped[];
  verify: string[];
  /** Random local parts (full addresses): the first, then the extra ones. */
  randoms: string[];
  relayTo?: string;
  greylistRetryMs: number;
  legacyTlsProbe: boolean;
  now: Date;
  /** The SOCKS5 egress proxy the sessions went through, and the addresses it connected from. */
  proxy?: string;
  proxyBound?: string[];
}

/** The subject of a per-address finding. */
export const where = (p: AddressProbe): { host: string; address: string } => ({
  host: p.host,
  address: p.address,
});

/** Adds findings about one MX address to `out`: `emit(id, status, summary, {remedy, details})`. */
export type Emit<Id extends string> = (
  id: Id,
  status: Status,
  summary: string,
  extra?: Pick<FindingBody, 'remedy' | 'details'>,
) => void;

export function addressEmitter<Id extends string>(
  factory: FindingFactory<Id>,
  p: AddressProbe,
  out: Finding[],
): Emit<Id> {
  return (id, status, summary, extra = {}) => {
    out.push(factory.make(id, status, { summary, subject: where(p), ...extra }));
  };
}

export function secs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${ms} ms`;
}

export function cachedNote(p: AddressProbe): string {
  return p.cachedAt ? ` (observed at ${p.cachedAt}, shared cache)` : '';
}

/** A reply quoted for a summary: `"550 5.1.1 User unknown"`, or "no reply". */
export function q(reply: SmtpReply | undefined): string {
  return reply ? `"${quoteReply(reply)}"` : 'no reply';
}

/** The session that failed a phase, to quote in "could not test" summaries. */
export function stopReason(s: SessionRecord): string {
  return s.error ? `${s.error.message} (during ${s.error.phase})` : 'the session ended early';
}

/** The answer for one recipient at one address: the retry's answer when there was one. */
export function answerFor(p: AddressProbe, to: string): RcptResult | undefined {
  const retry = p.retry?.rcpts.find((r) => r.to === to);
  if (retry && retry.verdict !== 'unknown') return retry;
  return recipientSession(p)?.rcpts.find((r) => r.to === to);
}

export function verdictWhy(r: RcptResult, s?: SessionRecord): string {
  if (r.outOfStep) return OUT_OF_STEP;
  if (r.reply) return `${r.at === 'mail' ? 'MAIL FROM was answered' : 'answered'} ${q(r.reply)}`;
  return s?.error ? s.error.message : r.reason;
}

export function verdictText(v: RcptVerdict | 'risky'): string {
  switch (v) {
    case 'greylisted':
      return 'greylisted (asked to try again later)';
    case 'blocked_probe':
      return 'the server refused the probe itself, not the address';
    case 'temporary':
      return 'a temporary error';
    case 'unknown':
      return 'no usable answer';
    default:
      return v;
  }
}
