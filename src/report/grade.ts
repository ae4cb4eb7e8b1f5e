import { GROUPS, groupOf } from './groups.js';
import { SCORE_METHOD } from './model.js';
import type { AreaScore, Finding, Score, Status } from './model.js';

/**
 * The 0–100 score of a report, in the spirit of internet.nl's: each area of the report
 * (src/report/groups.ts) has a weight, each finding ID within an area an importance, and a
 * finding earns all of its points when it passes, half when it warns and none when it fails.
 * "Could not test" (error) and neutral facts (info) are left out of both the points earned
 * and the points possible, so they never count against the domain; an area with nothing
 * countable is left out and the other areas' weights are scaled up. docs/score.md is the
 * method for people; SCORE_METHOD names this version of it, and changes whenever a weight or
 * rule here changes.
 *
 * Pure: computed from the findings alone, so a stored report without a score gets the same
 * one when it is read later.
 */

/** Weight of each area in the total (the areas of groups.ts; "Input & DNS" is about the run, not the domain). */
export const AREA_WEIGHTS: Readonly<Record<string, number>> = {
  'Input & DNS': 0,
  MX: 20,
  'SMTP & TLS': 25,
  Authentication: 30,
  'DANE & DNSSEC': 10,
  Reputation: 15,
  Other: 0,
};

/** Importance of a finding ID within its area: key (10), standard (5, the default) or advisory (2). */
export const KEY_FINDINGS: readonly string[] = [
  'mx.records',
  'mx.dangling',
  'mx.private_address',
  'smtp.connect',
  'smtp.starttls',
  'smtp.postmaster',
  'smtp.open_relay',
  'tls.certificate.expiry',
  'spf.record',
  'spf.syntax',
  'spf.lookups',
  'spf.all',
  'dmarc.record',
  'dmarc.policy',
  'dnssec.domain',
  'dane.match',
  'dnsbl.listed',
  'dnsbl.domain',
];
export const ADVISORY_FINDINGS: readonly string[] = [
  'mx.ipv6',
  'mx.duplicate',
  'mx.cname',
  'smtp.banner_hostname',
  'smtp.extensions',
  'smtp.consistency',
  'smtp.greylisting',
  'probe.identity',
  'tls.legacy_protocols',
  'spf.size',
  'spf.ptr',
  'spf.ranges',
  'dmarc.reporting',
  'dmarc.external_reporting',
  'bimi.record',
  'tls_rpt.record',
  'ptr.banner',
  'rcpt.verify',
  'rcpt.catch_all',
];

export function findingWeight(id: string): number {
  if (KEY_FINDINGS.includes(id)) return 10;
  if (ADVISORY_FINDINGS.includes(id)) return 2;
  return 5;
}

/**
 * What a score is computed with: the areas and their weights, which area a finding ID
 * belongs to, and its importance. The rules (status credits, the mean per ID, the weighted
 * mean of areas) are the same for every scheme; the domain report's is DOMAIN_SCHEME, the
 * inbound test has its own areas (src/inbound/score.ts).
 */
export interface ScoreScheme {
  method: string;
  /** Areas in report order; findings of no listed area fall in "Other", weight 0. */
  areas: readonly { title: string; weight: number }[];
  areaOf(id: string): string;
  weightOf(id: string): number;
}

export const DOMAIN_SCHEME: ScoreScheme = {
  method: SCORE_METHOD,
  areas: GROUPS.map((g) => ({ title: g.title, weight: AREA_WEIGHTS[g.title] ?? 0 })),
  areaOf: groupOf,
  weightOf: findingWeight,
};

/** Share of a finding's points it earns, or undefined when it does not count. */
export const STATUS_CREDIT: Readonly<Record<Status, number | undefined>> = {
  pass: 1,
  warn: 0.5,
  fail: 0,
  info: undefined,
  error: undefined,
};

/**
 * Scores findings. Within an area, a finding ID that appears several times (once per MX
 * address) earns the mean of its counted instances, so a domain with four MX addresses is not
 * weighed four times as heavily as one with one.
 */
export function scoreFindings(
  findings: readonly Pick<Finding, 'id' | 'status'>[],
  scheme: ScoreScheme = DOMAIN_SCHEME,
): Score {
  const byArea = new Map<string, Map<string, number[]>>();
  const notCounted = new Map<string, number>();
  for (const f of findings) {
    const area = scheme.areaOf(f.id);
    const credit = STATUS_CREDIT[f.status];
    if (credit === undefined) {
      notCounted.set(area, (notCounted.get(area) ?? 0) + 1);
      continue;
    }
    let ids = byArea.get(area);
    if (!ids) byArea.set(area, (ids = new Map()));
    ids.set(f.id, [...(ids.get(f.id) ?? []), credit]);
  }
  const areas: AreaScore[] = [];
  let earned = 0;
  let possible = 0;
  for (const area of [...scheme.areas.map((a) => a.title), 'Other']) {
    const ids = byArea.get(area);
    const weight = scheme.areas.find((a) => a.title === area)?.weight ?? 0;
    const skipped = notCounted.get(area) ?? 0;
    if (!ids && skipped === 0) continue;
    let got = 0;
    let max = 0;
    let counted = 0;
    for (const [id, credits] of ids ?? []) {
      const w = scheme.weightOf(id);
      got += (w * credits.reduce((a, b) => a + b, 0)) / credits.length;
      max += w;
      counted += credits.length;
    }
    const score = max > 0 ? Math.round((100 * got) / max) : null;
    areas.push({ area, weight, score, counted, notCounted: skipped });
    if (max > 0 && weight > 0) {
      earned += (weight * got) / max;
      possible += weight;
    }
  }
  return {
    value: possible > 0 ? Math.round((100 * earned) / possible) : null,
    method: scheme.method,
    areas,
  };
}

/** The score of a report: the one it carries, or computed from its findings (reports stored before scores). */
export function scoreOf(report: {
  score?: Score | undefined;
  checks: readonly Pick<Finding, 'id' | 'status'>[];
}): Score {
  return report.score ?? scoreFindings(report.checks);
}

/** A word for a score, for badges and summaries. */
export function scoreBand(value: number | null): 'good' | 'fair' | 'poor' | 'unknown' {
  if (value === null) return 'unknown';
  return value >= 90 ? 'good' : value >= 70 ? 'fair' : 'poor';
}
