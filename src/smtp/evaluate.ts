import type { FindingSpec } from '../checks/types.js';
import type { Finding } from '../report/model.js';
import { CONSISTENCY_FINDINGS, consistencyFinding, identityFinding } from './evaluate-consistency.js';
import type { SmtpFacts } from './evaluate-facts.js';
import { RECIPIENT_FINDINGS, greylistFindings, recipientFindings } from './evaluate-recipients.js';
import { SESSION_FINDINGS, protocolSyncFinding, sessionFindings } from './evaluate-session.js';
import { TLS_FINDINGS, tlsFindings } from './evaluate-tls.js';
import { TRANSACTION_FINDINGS, transactionFindings } from './evaluate-transactions.js';
import type { RcptVerdictRecord, SmtpData } from './model.js';
import type { AddressProbe } from './probe.js';

/**
 * Turns what the SMTP sessions saw into findings. Pure: sessions, TLS observations and the
 * probe's identity in, findings out. The rule throughout: what could not be tested (a 421, a
 * silent server, a refusal of the probe itself, greylisting) is `error` with its cause, never
 * `fail`; STARTTLS is only "absent" when EHLO was answered without it.
 *
 * Each area declares its findings beside the code that produces them (evaluate-session.ts,
 * evaluate-tls.ts, evaluate-transactions.ts, evaluate-recipients.ts, evaluate-consistency.ts);
 * this file puts them together in report order.
 */

/** Every finding the SMTP check can emit, in the order of the check-ID table. */
export const SMTP_FINDINGS: readonly FindingSpec[] = [
  ...SESSION_FINDINGS.specs,
  ...TLS_FINDINGS.specs,
  ...TRANSACTION_FINDINGS.specs,
  ...RECIPIENT_FINDINGS.specs,
  ...CONSISTENCY_FINDINGS.specs,
];

export interface SmtpEvaluation {
  findings: Finding[];
  recipients: RcptVerdictRecord[];
  catchAll: SmtpData['catchAll'];
}

export function evaluateSmtp(facts: SmtpFacts): SmtpEvaluation {
  const perAddress: Finding[] = [];
  for (const p of facts.probes) perAddress.push(...addressFindings(p, facts));
  const findings = collapsePerHost(perAddress, facts.probes);
  const rcpt = recipientFindings(facts);
  findings.push(...rcpt.findings);
  findings.push(...greylistFindings(facts));
  findings.push(consistencyFinding(facts, rcpt.perProbeCatchAll));
  findings.push(identityFinding(facts));
  return { findings, recipients: rcpt.recipients, catchAll: rcpt.catchAll };
}

/** Everything about one MX address: the session, then (when it got that far) TLS and the envelope tests. */
function addressFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const session = sessionFindings(p, facts);
  const sync = protocolSyncFinding(p);
  if (sync) session.findings.push(sync);
  if (!session.complete) return session.findings;
  return [...session.findings, ...tlsFindings(p, facts), ...transactionFindings(p, facts)];
}

/**
 * Findings that say the same about every address of one MX host become one finding for the
 * host ("on both addresses …"); findings that differ stay per address.
 */
function collapsePerHost(findings: Finding[], probes: AddressProbe[]): Finding[] {
  const addressesOf = new Map<string, string[]>();
  for (const p of probes) addressesOf.set(p.host, [...(addressesOf.get(p.host) ?? []), p.address]);
  // Groups in the order their first finding came (a Map keeps insertion order).
  const groups = new Map<string, [Finding, ...Finding[]]>();
  for (const f of findings) {
    const key = `${f.id}|${f.status}|${f.subject?.host ?? ''}|${f.summary}`;
    const group = groups.get(key);
    if (group) group.push(f);
    else groups.set(key, [f]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0];
    const host = first.subject?.host;
    const all = host ? (addressesOf.get(host) ?? []) : [];
    if (group.length < 2 || !host || group.length !== all.length) return first;
    return {
      ...first,
      subject: { host },
      summary: `${first.summary} (all ${all.length} addresses: ${all.join(', ')})`,
      details: {
        ...first.details,
        addresses: all,
        perAddress: Object.fromEntries(group.map((f) => [f.subject?.address ?? '', f.details])),
      },
    };
  });
}
