import { defineFindings } from '../checks/findings.js';
import type { Finding, Status } from '../report/model.js';
import { isDefiniteVerdict } from './classify.js';
import type { RcptVerdict } from './classify.js';
import { answerFor, q, secs, verdictText, verdictWhy, where } from './evaluate-facts.js';
import type { SmtpFacts } from './evaluate-facts.js';
import type { RcptResult, RcptVerdictRecord, SmtpData } from './model.js';
import { allDeferred, deferredSession, recipientSession } from './probe.js';
import type { AddressProbe } from './probe.js';
import { quoteReply } from './reply.js';

/**
 * Findings about the domain's recipients, across its MX addresses: each address given with
 * --verify (the answer of the most preferred MX that gave a definite one), whether the domain
 * accepts any address (catch-all), and greylisting.
 */

export const RECIPIENT_FINDINGS = defineFindings('smtp', {
  'rcpt.verify': {
    title: 'Recipient',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'One finding per address given with --verify: deliverable (pass); accepted but the domain accepts any address, or mailbox full (warn: risky); undeliverable — user unknown, the server refuses mail for the domain (fail); greylisted, the probe refused by policy, a temporary error, a timeout, replies out of step (error: unknown, never "undeliverable"). Verified with RCPT TO only: nothing is sent.',
  },
  'rcpt.catch_all': {
    title: 'Catch-all',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'A random address that cannot exist was refused (pass), or accepted — the domain accepts every address, so recipient verification says nothing and mistyped mail is not bounced (warn; confidence high when a second random address was accepted too). error when it could not be tested (no usable answer, replies out of step).',
  },
  'smtp.greylisting': {
    title: 'Greylisting',
    statuses: ['info'],
    meaning:
      'The server greylists: it answered 450/451 "try again later" to a first attempt (info). With --greylist-retry the recipients are asked again after the delay and the answer says whether it was greylisting. Also info when the first session deferred every recipient and the server answered when mxdoctor reconnected at once (connection-level greylisting such as Postfix postscreen\'s after-greeting tests).',
  },
});

const F = RECIPIENT_FINDINGS;

interface RankedAnswer {
  probe: AddressProbe;
  result: RcptResult;
}

const VERDICT_PREFERENCE: RcptVerdict[] = ['greylisted', 'blocked_probe', 'temporary', 'unknown'];

/** The answer that counts: the most preferred MX address with a definite one, else the most telling failure. */
function bestAnswer(facts: SmtpFacts, to: string): RankedAnswer | undefined {
  const answers: RankedAnswer[] = [];
  for (const probe of facts.probes) {
    const result = answerFor(probe, to);
    if (result) answers.push({ probe, result });
  }
  const definite = answers.find((a) => isDefiniteVerdict(a.result.verdict));
  if (definite) return definite;
  for (const v of VERDICT_PREFERENCE) {
    const a = answers.find((x) => x.result.verdict === v);
    if (a) return a;
  }
  return undefined;
}

export interface CatchAllState {
  state: 'yes' | 'no' | 'unknown';
  confidence?: 'high' | 'medium' | 'low';
}

function catchAllAt(p: AddressProbe, randoms: string[]): CatchAllState {
  const answers = randoms.map((r) => answerFor(p, r)).filter((a): a is RcptResult => a !== undefined);
  const first = answers[0];
  if (!first || !isDefiniteVerdict(first.verdict)) return { state: 'unknown' };
  if (first.verdict !== 'deliverable')
    return { state: 'no', confidence: first.reason === 'user_unknown' ? 'high' : 'medium' };
  const more = answers.slice(1);
  if (more.length === 0) return { state: 'yes', confidence: 'medium' };
  return more.every((a) => a.verdict === 'deliverable')
    ? { state: 'yes', confidence: 'high' }
    : { state: 'yes', confidence: 'low' };
}

export interface RecipientEvaluation {
  findings: Finding[];
  recipients: RcptVerdictRecord[];
  catchAll: SmtpData['catchAll'];
  /** The catch-all state at each address whose session reached the envelope. */
  perProbeCatchAll: Map<AddressProbe, CatchAllState>;
}

export function recipientFindings(facts: SmtpFacts): RecipientEvaluation {
  const findings: Finding[] = [];
  const perProbeCatchAll = new Map<AddressProbe, CatchAllState>();
  // Only sessions that got as far as the envelope count (a 554 greeting says nothing here).
  for (const p of facts.probes) {
    const s = recipientSession(p);
    if (s && (s.mail || s.rcpts.length > 0)) perProbeCatchAll.set(p, catchAllAt(p, facts.randoms));
  }
  // The domain's catch-all state: the most preferred address with a definite answer.
  const decided = [...perProbeCatchAll].find(([, s]) => s.state !== 'unknown');
  const catchAll: SmtpData['catchAll'] = { state: decided?.[1].state ?? 'unknown', probes: facts.randoms };
  if (decided?.[1].confidence) catchAll.confidence = decided[1].confidence;
  if (perProbeCatchAll.size > 0) {
    const finding = catchAllFinding(facts, decided);
    if (finding) findings.push(finding);
  }

  const recipients: RcptVerdictRecord[] = [];
  for (const address of [`postmaster@${facts.domain}`, ...facts.verify]) {
    const verdict = recipientVerdict(facts, address, catchAll);
    recipients.push(verdict.record);
    if (verdict.finding) findings.push(verdict.finding);
  }
  return { findings, recipients, catchAll, perProbeCatchAll };
}

/** rcpt.catch_all, from the address that decided it (or why none could). */
function catchAllFinding(
  facts: SmtpFacts,
  decided: [AddressProbe, CatchAllState] | undefined,
): Finding | undefined {
  const first = facts.randoms[0];
  if (!first) return undefined;
  if (decided) {
    const [p, s] = decided;
    const answer = answerFor(p, first);
    if (s.state === 'yes')
      return F.make('rcpt.catch_all', 'warn', {
        summary: `${facts.domain} accepts mail for any address: the random address ${first} was accepted (${q(answer?.reply)}; confidence ${s.confidence}${s.confidence === 'high' ? ': a second random address was accepted too' : s.confidence === 'low' ? ': a second random address was refused, so the server may be counting or rate-limiting' : ''}). Accepted recipients can only be called risky, and mistyped mail is never bounced (or bounced later, as backscatter).`,
        remedy:
          'Reject unknown recipients at RCPT time (Postfix: reject_unlisted_recipient, local_recipient_maps; Exchange: recipient filtering). If the catch-all is deliberate, keep it but expect more spam.',
        subject: where(p),
        details: { probes: facts.randoms, reply: answer?.reply, confidence: s.confidence },
      });
    return F.make('rcpt.catch_all', 'pass', {
      summary: `Unknown recipients are refused: the random address ${first} got ${q(answer?.reply)}.`,
      subject: where(p),
      details: { probes: facts.randoms, reply: answer?.reply },
    });
  }
  const any = facts.probes.map((p) => ({ p, a: answerFor(p, first) })).find((x) => x.a);
  return F.make('rcpt.catch_all', 'error', {
    summary: `Could not tell whether ${facts.domain} accepts any address: ${any?.a ? `${verdictText(any.a.verdict)} — ${verdictWhy(any.a, recipientSession(any.p))}` : 'no MX answered RCPT TO'}.`,
    ...(any ? { subject: where(any.p) } : {}),
    details: { probes: facts.randoms },
  });
}

/**
 * The verdict on one address (postmaster, or one given with --verify) and, for the addresses
 * given with --verify, its rcpt.verify finding.
 */
function recipientVerdict(
  facts: SmtpFacts,
  address: string,
  catchAll: SmtpData['catchAll'],
): { record: RcptVerdictRecord; finding?: Finding } {
  const best = bestAnswer(facts, address);
  const isVerify = address !== `postmaster@${facts.domain}` || facts.verify.includes(address);
  if (!best) {
    const record: RcptVerdictRecord = { address, verdict: 'unknown', reason: 'not_asked' };
    if (!isVerify) return { record };
    return {
      record,
      finding: F.make('rcpt.verify', 'error', {
        title: `Recipient ${address}`,
        summary: `Could not verify ${address}: no MX server answered (see the SMTP connection findings).`,
        subject: { name: address },
        details: { address, verdict: 'unknown' },
      }),
    };
  }
  const { probe, result } = best;
  const risky = result.verdict === 'deliverable' && catchAll.state === 'yes';
  const record: RcptVerdictRecord = {
    address,
    verdict: risky ? 'risky' : result.verdict,
    reason: result.reason,
    host: probe.host,
    ipAddress: probe.address,
    ...(result.reply ? { reply: result.reply } : {}),
    ...(probe.retry?.rcpts.some((r) => r.to === address) ? { retried: true } : {}),
  };

  if (!isVerify) return { record };
  const subject = { host: probe.host, address: probe.address, name: address };
  const title = `Recipient ${address}`;
  const why = verdictWhy(result, recipientSession(probe));
  const details = { ...record };
  const verify = (
    status: Status,
    summary: string,
    remedy?: string,
  ): { record: RcptVerdictRecord; finding: Finding } => ({
    record,
    finding: F.make('rcpt.verify', status, {
      title,
      summary,
      subject,
      details,
      ...(remedy ? { remedy } : {}),
    }),
  });
  if (risky)
    return verify(
      'warn',
      `${address}: risky — accepted (${why}), but ${facts.domain} accepts every address, so this does not show that the mailbox exists.`,
    );
  if (result.verdict === 'deliverable') return verify('pass', `${address} is deliverable: ${why}.`);
  if (result.verdict === 'undeliverable' && result.reason === 'relay_denied')
    return verify(
      'fail',
      `${address} is undeliverable through ${probe.host}: the server refuses mail for ${facts.domain} (${why}).`,
      `Configure ${probe.host} to accept mail for ${facts.domain}.`,
    );
  if (result.verdict === 'undeliverable')
    return verify(
      'fail',
      `${address} is undeliverable: ${why}.`,
      'Check the spelling of the address; if it should exist, create the mailbox or alias.',
    );
  if (result.verdict === 'mailbox_full')
    return verify(
      result.reply && result.reply.code >= 500 ? 'fail' : 'warn',
      `${address} exists but its mailbox is full: ${why}.`,
      'The mailbox owner must make room (or the quota be raised).',
    );
  return verify(
    'error',
    `Could not verify ${address}: ${verdictText(result.verdict)} — ${why}.${result.verdict === 'greylisted' && facts.greylistRetryMs === 0 ? ' Run again with --greylist-retry 5m to ask again after the greylisting delay.' : ''}`,
  );
}

function reconnectFinding(p: AddressProbe): Finding | undefined {
  const first = deferredSession(p);
  const again = p.reconnect;
  if (!first || !again) return undefined;
  const reply = first.rcpts[0]?.reply;
  const n = first.rcpts.length;
  const answered = !allDeferred(again);
  const deferred = `The server deferred all ${n} recipient${n > 1 ? 's' : ''} of mxdoctor's first session with ${q(reply)}`;
  return F.make('smtp.greylisting', 'info', {
    summary: answered
      ? `${deferred}, and answered normally when mxdoctor reconnected at once — connection-level greylisting, such as Postfix postscreen's after-greeting tests. Senders that retry get through (their first message from a new IP waits for their retry interval, often several minutes); senders that never retry lose that message. The answers shown are from the second session.`
      : `${deferred}, and again when mxdoctor reconnected at once: it defers this client for now (greylisting or a temporary policy), so the recipient answers could not be tested.`,
    subject: where(p),
    details: { deferred: first.rcpts.map((r) => r.to), reply: reply ?? null, reconnected: true, answered },
  });
}

/** smtp.greylisting, per address: recipients deferred with 450/451, or a whole first session deferred. */
export function greylistFindings(facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  for (const p of facts.probes) {
    const reconnect = reconnectFinding(p);
    if (reconnect) out.push(reconnect);
    const s = recipientSession(p);
    const grey = (s?.rcpts ?? []).filter((r) => r.verdict === 'greylisted');
    const first = grey[0];
    if (!first) continue;
    let outcome: string;
    if (p.retry) {
      const after = p.retry.rcpts.map(
        (r) => `${r.to}: ${r.reply ? `"${quoteReply(r.reply, 80)}"` : r.reason}`,
      );
      const still = p.retry.rcpts.filter((r) => r.verdict === 'greylisted').length;
      outcome = still
        ? ` Asked again after ${secs(facts.greylistRetryMs)}: still greylisted (${after.join('; ')}); its greylisting delay is longer.`
        : ` Asked again after ${secs(facts.greylistRetryMs)}: ${after.join('; ')}.`;
    } else
      outcome =
        facts.greylistRetryMs > 0
          ? ' It was not asked again (the session could not be repeated).'
          : ' Not asked again (use --greylist-retry to do so).';
    out.push(
      F.make('smtp.greylisting', 'info', {
        summary: `The server greylists: ${grey.length} recipient${grey.length > 1 ? 's were' : ' was'} answered ${q(first.reply)}. Legitimate mail is delayed until the sender retries (usually minutes).${outcome}`,
        subject: where(p),
        details: {
          greylisted: grey.map((r) => r.to),
          reply: first.reply ?? null,
          retried: Boolean(p.retry),
          retryMs: facts.greylistRetryMs,
        },
      }),
    );
  }
  return out;
}
