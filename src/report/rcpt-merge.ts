import type { Finding, Report } from './model.js';
import { countStatuses, verdictOf } from './score.js';

/**
 * Merges a later recipient re-probe (e.g. the service's delayed greylisting retry, run with
 * `verifyRecipients`) into a stored report: the rcpt.verify findings of the addresses asked
 * again, and rcpt.catch_all when the re-probe could tell, are replaced by the new ones; the
 * per-address verdicts and catch-all state in `data.smtp` are updated, the re-probe's
 * sessions are appended, and counts, verdict and completeness are recomputed. Pure: returns a
 * new report and leaves the input untouched.
 */
export interface RecipientReprobe {
  findings: Finding[];
  verdicts: { address: string; [key: string]: unknown }[];
  catchAll?: { state: string; [key: string]: unknown };
  sessions?: unknown[];
  checkedAt: string;
}

export function mergeRecipientReprobe(report: Report, reprobe: RecipientReprobe): Report {
  const next = structuredClone(report);
  const asked = new Set(reprobe.verdicts.map((v) => v.address));
  const catchAllKnown = reprobe.catchAll !== undefined && reprobe.catchAll.state !== 'unknown';
  // Only what the re-probe answered is replaced: the rcpt.verify findings of the addresses it
  // asked about, and the catch-all verdict when it could tell. Other addresses keep theirs.
  const replaced = (f: Finding): boolean =>
    (f.id === 'rcpt.verify' && f.subject?.name !== undefined && asked.has(f.subject.name)) ||
    (f.id === 'rcpt.catch_all' && catchAllKnown);
  const fresh = reprobe.findings.filter(
    (f) =>
      (f.id === 'rcpt.verify' && asked.has(f.subject?.name ?? '')) ||
      (f.id === 'rcpt.catch_all' && catchAllKnown),
  );
  const firstOld = next.checks.findIndex(replaced);
  const kept = next.checks.filter((f) => !replaced(f));
  // Keep the new findings where the old ones were (or after the other rcpt.*/SMTP findings).
  let at = firstOld >= 0 ? next.checks.slice(0, firstOld).filter((f) => !replaced(f)).length : -1;
  if (at < 0) {
    const lastSmtp = kept.map((f) => f.check).lastIndexOf('smtp');
    at = lastSmtp >= 0 ? lastSmtp + 1 : kept.length;
  }
  next.checks = [...kept.slice(0, at), ...fresh, ...kept.slice(at)];

  const smtp = next.data.smtp as
    | { recipients?: { address: string }[]; catchAll?: unknown; sessions?: unknown[]; reprobedAt?: string }
    | undefined;
  if (smtp) {
    const byAddress = new Map((smtp.recipients ?? []).map((r) => [r.address, r]));
    for (const v of reprobe.verdicts) byAddress.set(v.address, v);
    smtp.recipients = [...byAddress.values()];
    if (catchAllKnown) smtp.catchAll = reprobe.catchAll;
    if (reprobe.sessions?.length) smtp.sessions = [...(smtp.sessions ?? []), ...reprobe.sessions];
    smtp.reprobedAt = reprobe.checkedAt;
  }
  next.counts = countStatuses(next.checks);
  next.verdict = verdictOf(next.checks);
  next.complete = !next.checks.some((f) => f.status === 'error');
  return next;
}
