import { scoreFindings } from '../report/grade.js';
import type { ScoreScheme } from '../report/grade.js';
import type { Finding, Score } from '../report/model.js';

/**
 * The inbound test's 0–100 score, by the domain report's rules (report/grade.ts,
 * docs/score.md: pass earns a finding's points, warn half, fail none, info and error never
 * count; the mean per finding ID; a weighted mean of the areas that have a score), over the
 * areas of a received message.
 */
export const INBOUND_SCORE_METHOD = 'mxdoctor-inbound-score-1';

export const INBOUND_AREAS = [
  { title: 'Connection & TLS', weight: 20, prefixes: ['inbound.connection.', 'inbound.receiver.'] },
  { title: 'Authentication', weight: 35, prefixes: ['auth.'] },
  { title: 'Reputation', weight: 20, prefixes: ['inbound.reputation.'] },
  { title: 'Message', weight: 15, prefixes: ['inbound.message.'] },
  { title: 'Spam filter', weight: 10, prefixes: ['inbound.spam.'] },
] as const;

export const INBOUND_KEY_FINDINGS: readonly string[] = [
  'inbound.connection.ptr',
  'inbound.connection.tls',
  'auth.spf',
  'auth.dkim',
  'auth.dmarc',
  'inbound.reputation.ip',
  'inbound.message.from',
  'inbound.message.message_id',
  'inbound.spam.score',
];
export const INBOUND_ADVISORY_FINDINGS: readonly string[] = [
  'inbound.connection.cipher',
  'inbound.connection.client_certificate',
  'auth.spf_helo',
  'auth.arc',
  'auth.bimi',
  'inbound.message.subject',
  'inbound.message.mime',
];

export function inboundAreaOf(id: string): string {
  return INBOUND_AREAS.find((a) => a.prefixes.some((p) => id.startsWith(p)))?.title ?? 'Other';
}

export const INBOUND_SCHEME: ScoreScheme = {
  method: INBOUND_SCORE_METHOD,
  areas: INBOUND_AREAS.map((a) => ({ title: a.title, weight: a.weight })),
  areaOf: inboundAreaOf,
  weightOf: (id) => (INBOUND_KEY_FINDINGS.includes(id) ? 10 : INBOUND_ADVISORY_FINDINGS.includes(id) ? 2 : 5),
};

export function scoreInbound(findings: readonly Pick<Finding, 'id' | 'status'>[]): Score {
  return scoreFindings(findings, INBOUND_SCHEME);
}
