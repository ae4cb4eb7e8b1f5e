import type { Finding, Status } from './model.js';

/** The one status order: worst first. */
export const STATUS_ORDER: readonly Status[] = ['fail', 'error', 'warn', 'info', 'pass'];

export function statusRank(status: Status): number {
  return STATUS_ORDER.indexOf(status);
}

export function countStatuses(findings: readonly Finding[]): Record<Status, number> {
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, info: 0, error: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}

/** fail if any finding failed, else warn if any warned, else pass. Errors do not count against the domain. */
export function verdictOf(findings: readonly Finding[]): 'pass' | 'warn' | 'fail' {
  if (findings.some((f) => f.status === 'fail')) return 'fail';
  if (findings.some((f) => f.status === 'warn')) return 'warn';
  return 'pass';
}

/** Worst first, keeping the original order among equals. */
export function sortWorstFirst<T extends { status: Status }>(findings: readonly T[]): T[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => statusRank(a.f.status) - statusRank(b.f.status) || a.i - b.i)
    .map(({ f }) => f);
}
