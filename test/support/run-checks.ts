import { runCheck } from '../../src/checks/run.js';
import type { Check } from '../../src/checks/types.js';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigOverrides } from '../../src/config/index.js';
import { normalizeDomain } from '../../src/input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../../src/report/model.js';
import type { CheckOptions, Finding, Report } from '../../src/report/model.js';
import type { FixtureDns } from './dns-server.js';

/** Runs the given checks through the real pipeline against a fixture resolver. */
export async function runChecksAgainst(
  dns: FixtureDns,
  domain: string,
  checks: readonly Check[],
  options: Partial<CheckOptions> = {},
  env: Record<string, string> = {},
  overrides: ConfigOverrides = {},
): Promise<Report> {
  const parsed = normalizeDomain(domain);
  if (!parsed.ok) throw new Error(parsed.error);
  const config = loadConfig(
    { MXDOCTOR_RESOLVERS: dns.address, MXDOCTOR_DNS_TIMEOUT: '1000', MXDOCTOR_DNS_RETRIES: '1', ...env },
    overrides,
  );
  return runCheck(parsed.domain, { ...DEFAULT_CHECK_OPTIONS, smtp: false, ...options }, { config, checks });
}

/** "id:status" of the findings whose ID starts with `prefix`, sorted (with @subject name/host when set). */
export function statuses(report: Report, prefix: string): string[] {
  return report.checks
    .filter((f) => f.id.startsWith(prefix))
    .map((f) => `${f.id}:${f.status}${subjectOf(f)}`)
    .sort();
}

function subjectOf(f: Finding): string {
  const s = f.subject;
  if (!s) return '';
  return `@${s.address ?? s.host ?? s.name ?? ''}`;
}

export function finding(report: Report, id: string, status?: string): Finding {
  const f = report.checks.find((x) => x.id === id && (status === undefined || x.status === status));
  if (!f)
    throw new Error(
      `no finding ${id}${status ? `:${status}` : ''} in ${report.checks.map((x) => `${x.id}:${x.status}`).join(', ')}`,
    );
  return f;
}
