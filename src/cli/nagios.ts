import type { Report } from '../report/model.js';
import { earliestCertificateDays } from '../smtp/contract.js';
import { sortWorstFirst } from '../report/score.js';

/**
 * One status line and exit code per the monitoring-plugins convention
 * (https://www.monitoring-plugins.org/doc/guidelines.html): 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN, with performance data after "|". A failing finding is CRITICAL, a warning is
 * WARNING; the check is UNKNOWN when its foundation could not be determined (no resolver
 * answered, the MX lookup failed). Other "could not test" findings are named in the text
 * but do not change the state. Pure.
 */
export const NAGIOS = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;
const NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

function clip(text: string, max = 160): string {
  // "|" starts the performance data and a line break ends the status line: neither may appear.
  // The lookbehind starts a match only where blank space starts (the same matches, in linear time).
  const flat = text.replace(/(?:(?<!\s)\s+)?[\r\n|]+\s*/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface NagiosOutput {
  /** The status line with performance data. */
  line: string;
  /** Further lines ("long output"): every failing and warning finding, worst first. */
  details: string[];
  code: number;
}

export function formatNagios(report: Report, now: Date): NagiosOutput {
  const c = report.counts;
  const foundationFailed =
    report.mx.kind === 'error' || report.checks.some((f) => f.id === 'dns.resolver' && f.status === 'error');
  const code = foundationFailed
    ? NAGIOS.unknown
    : c.fail > 0
      ? NAGIOS.critical
      : c.warn > 0
        ? NAGIOS.warning
        : NAGIOS.ok;
  const worst = sortWorstFirst(report.checks).filter(
    (f) => f.status === 'fail' || f.status === 'warn' || (foundationFailed && f.status === 'error'),
  );
  const where = (f: Report['checks'][number]) =>
    f.subject?.host ? ` (${f.subject.host}${f.subject.address ? ` ${f.subject.address}` : ''})` : '';
  const what = worst.length
    ? worst
        .slice(0, 3)
        .map((f) => `${f.title}${f.subject?.host ? ` (${f.subject.host})` : ''}: ${clip(f.summary, 120)}`)
        .join('; ')
    : `${c.pass} checks passed`;
  const untested = !foundationFailed && c.error > 0 ? ` (${c.error} could not be tested)` : '';
  const days = earliestCertificateDays(report, now);
  // Thresholds in the plugin range syntax: "0" alerts above 0, "21:" alerts below 21.
  const perf = [
    `duration=${(report.durationMs / 1000).toFixed(3)}s;;;0`,
    ...(days !== undefined ? [`cert_days=${days};21:;7:`] : []),
    `fail=${c.fail};;0;0`,
    `warn=${c.warn};0;;0`,
    `error=${c.error};;;0`,
  ].join(' ');
  const line = `MXDOCTOR ${NAMES[code]} - ${report.domain.ascii}: ${clip(what, 400)}${untested} | ${perf}`;
  const details = worst
    .slice(0, 50)
    .map(
      (f) =>
        `${f.status === 'fail' ? 'FAIL' : f.status === 'warn' ? 'WARN' : 'UNKNOWN'} ${f.title}${where(f)}: ${clip(f.summary, 300)}`,
    );
  return { line, details, code };
}
