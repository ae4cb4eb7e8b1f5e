import type { Config } from '../config/index.js';
import { serverText } from '../dns/transport.js';
import type { DnsLogEntry } from '../dns/types.js';
import type { NormalizedDomain } from '../input/domain.js';
import { describeError } from '../net/errors.js';
import { scoreFindings } from '../report/grade.js';
import { SCHEMA_VERSION } from '../report/model.js';
import type { CheckOptions, Finding, Report } from '../report/model.js';
import { countStatuses, verdictOf } from '../report/score.js';
import { version } from '../version.js';
import { CORE, inputFinding, resolverFinding } from './core.js';
import { dataOf } from './outcome.js';
import type { Outcome } from './outcome.js';
import { timelineOf } from './timeline.js';
import type { CheckDescriptor } from './types.js';

/**
 * What the pipeline (src/checks/run.ts) makes of its checks' outcomes: the findings of its
 * own (the input, the resolver, a check that failed or was not run) and the report. Apart
 * from the pipeline, which loads it after the checks' code, or when a check fails: the
 * report model's zod schemas and the public suffix list behind the input finding are not
 * needed on the way to the first SMTP connection.
 */

/** A run whose checks have all settled, in check order. */
export interface SettledRun {
  domain: NormalizedDomain;
  options: CheckOptions;
  config: Config;
  dnsLog: DnsLogEntry[];
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** The wall clock at the start, which places sessions and fetches on the timeline. */
  wallStartMs: number;
  checks: readonly CheckDescriptor[];
  outcomes: readonly Outcome[];
  /** Return plain data, a JSON round trip of what was assembled (RunDeps.plain). */
  plain: boolean;
}

export function assembleReport(run: SettledRun): Report {
  const { config, domain } = run;
  const findings: Finding[] = [
    inputFinding(domain),
    resolverFinding(run.dnsLog, resolverNames(config), config.dns.resolversSource),
  ];
  const data: Record<string, unknown> = {};
  const byName = new Map<string, Outcome>();
  run.checks.forEach((check, i) => {
    const outcome = run.outcomes[i];
    if (!outcome) return;
    byName.set(check.name, outcome);
    findings.push(...outcome.findings);
    // The MX set is the report's own field, not a check's data.
    if (outcome.ok && outcome.data !== undefined && check.name !== 'mx') data[check.name] = outcome.data;
  });
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'mxdoctor', version: version() },
    domain: { input: domain.input, ascii: domain.ascii, unicode: domain.unicode },
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    durationMs: run.durationMs,
    verdict: verdictOf(findings),
    complete: !findings.some((f) => f.status === 'error'),
    counts: countStatuses(findings),
    score: scoreFindings(findings),
    options: run.options,
    resolvers: resolverNames(config),
    mx: dataOf(byName, 'mx') ?? { kind: 'error', hosts: [] },
    checks: findings,
    data,
    dnsLog: run.dnsLog,
    timeline: timelineOf(
      { smtp: dataOf(byName, 'smtp'), mta_sts: dataOf(byName, 'mta_sts'), bimi: dataOf(byName, 'bimi') },
      { wallStartMs: run.wallStartMs, totalMs: run.durationMs, dnsLog: run.dnsLog },
    ),
  };
  // Guarantee plain, serialisable data (BullMQ and Redis will stringify it anyway).
  return run.plain ? (JSON.parse(JSON.stringify(report)) as Report) : report;
}

function resolverNames(config: Config): string[] {
  return config.dns.resolvers.map(serverText);
}

/** Why a check was not run: checks it depends on failed. */
export function dependencyFailedFinding(check: CheckDescriptor, failedDeps: string[]): Finding {
  return CORE.make('pipeline.dependency_failed', 'error', {
    title: `${check.title}: not run`,
    summary: `${check.title} was not run because ${failedDeps.join(', ')} failed.`,
    details: { check: check.name, dependencies: failedDeps },
  });
}

/** Why a check has no findings: it overran the overall deadline, or it threw. */
export function failureFinding(
  check: CheckDescriptor,
  err: unknown,
  timedOut: boolean,
  config: Config,
): Finding {
  if (timedOut)
    return CORE.make('pipeline.deadline', 'error', {
      title: `${check.title}: timed out`,
      summary: `${check.title} did not finish within the overall deadline of ${Math.round(config.check.deadlineMs / 1000)} s; its results are missing.`,
      remedy: `Run the check again with a longer deadline (--timeout or MXDOCTOR_CHECK_DEADLINE).`,
      details: { check: check.name, deadlineMs: config.check.deadlineMs },
    });
  return CORE.make('pipeline.check_error', 'error', {
    title: `${check.title}: could not complete`,
    summary: `${check.title} stopped with an error: ${describeError(err)}. Other checks are unaffected.`,
    details: { check: check.name, error: describeError(err) },
  });
}
