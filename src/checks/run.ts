import type { Config } from '../config/index.js';
import { CheckCache } from '../dns/cache.js';
import type { DnsCache } from '../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import type { NormalizedDomain } from '../input/domain.js';
import { deadline, raceSignal } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { SCHEMA_VERSION } from '../report/model.js';
import type { CheckOptions, Finding, MxSet, Report } from '../report/model.js';
import { scoreFindings } from '../report/grade.js';
import { countStatuses, verdictOf } from '../report/score.js';
import { version } from '../version.js';
import { CORE, inputFinding, resolverFinding } from './core.js';
import { ALL_CHECKS } from './registry.js';
import type { Check, CheckContext, CheckServices, ProgressUpdate } from './types.js';

/**
 * The check pipeline: runs every enabled check as soon as the checks it depends on have
 * finished, under one overall deadline, and assembles the report. A check that throws or
 * overruns becomes an "error" finding; the others are unaffected. Only the caller's own
 * signal aborting makes runCheck reject.
 */
export interface RunDeps {
  config: Config;
  /** Defaults to ALL_CHECKS. */
  checks?: readonly Check[];
  services?: CheckServices;
  /** Cancels the whole run (e.g. a BullMQ job's signal). */
  signal?: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
  now?: () => Date;
  /** Share answers across checks (a TtlCache); defaults to a cache for this run only. */
  dnsCache?: DnsCache;
}

type Outcome = { ok: true; data: unknown; findings: Finding[] } | { ok: false; findings: Finding[] };

export async function runCheck(
  domain: NormalizedDomain,
  options: CheckOptions,
  deps: RunDeps,
): Promise<Report> {
  const { config } = deps;
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const t0 = performance.now();
  const overall = deadline(deps.signal, config.check.deadlineMs, 'domain check');
  const resolvers = config.dns.resolvers.map((r) =>
    r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`,
  );
  const dns = new DnsClient({
    ...dnsClientSettings(config.dns),
    cache: deps.dnsCache ?? new CheckCache(),
    signal: overall.signal,
  });

  const checks = (deps.checks ?? ALL_CHECKS).filter((c) => c.enabled?.(options, config) ?? true);
  const names = new Set(checks.map((c) => c.name));
  const totalWeight = checks.reduce((n, c) => n + (c.weight ?? 1), 0) || 1;
  const fractions = new Map<string, number>();
  let lastPercent = 0;
  const emit = (step: string, message: string, position?: { index: number; total: number }): void => {
    const done = checks.reduce((n, c) => n + (c.weight ?? 1) * (fractions.get(c.name) ?? 0), 0);
    // Progress never goes backwards, whatever order checks report in.
    lastPercent = Math.max(lastPercent, Math.min(99, Math.floor((done / totalWeight) * 100)));
    deps.onProgress?.({ step, message, percent: lastPercent, ...(position ?? {}) });
  };

  const outcomes = new Map<string, Promise<Outcome>>();
  const runOne = async (check: Check): Promise<Outcome> => {
    const hard = (check.dependsOn ?? []).filter((d) => names.has(d));
    const upstreamNames = [...hard, ...(check.uses ?? []).filter((d) => names.has(d) && !hard.includes(d))];
    const upstream = new Map<string, Outcome>();
    for (const dep of upstreamNames) upstream.set(dep, await outcomes.get(dep)!);
    const failedDeps = hard.filter((d) => !upstream.get(d)!.ok);
    if (failedDeps.length > 0) {
      fractions.set(check.name, 1);
      return {
        ok: false,
        findings: [
          CORE.make('pipeline.dependency_failed', 'error', {
            title: `${check.title}: not run`,
            summary: `${check.title} was not run because ${failedDeps.join(', ')} failed.`,
            details: { check: check.name, dependencies: failedDeps },
          }),
        ],
      };
    }
    const ctx: CheckContext = {
      domain,
      config,
      options,
      dns,
      signal: overall.signal,
      now,
      upstream: <T>(name: string) => {
        const o = upstream.get(name);
        return (o && o.ok ? o.data : undefined) as T | undefined;
      },
      progress: (message, fraction, position) => {
        if (fraction !== undefined) fractions.set(check.name, Math.max(0, Math.min(0.99, fraction)));
        emit(check.name, message, position);
      },
      services: deps.services ?? {},
    };
    emit(check.name, `${check.title}…`);
    try {
      const result = await raceSignal(check.run(ctx), overall.signal);
      fractions.set(check.name, 1);
      emit(check.name, `${check.title} done`);
      return { ok: true, data: result.data, findings: result.findings };
    } catch (err) {
      fractions.set(check.name, 1);
      if (deps.signal?.aborted) throw err;
      if (overall.signal.aborted) {
        return {
          ok: false,
          findings: [
            CORE.make('pipeline.deadline', 'error', {
              title: `${check.title}: timed out`,
              summary: `${check.title} did not finish within the overall deadline of ${Math.round(config.check.deadlineMs / 1000)} s; its results are missing.`,
              remedy: `Run the check again with a longer deadline (--timeout or MXDOCTOR_CHECK_DEADLINE).`,
              details: { check: check.name, deadlineMs: config.check.deadlineMs },
            }),
          ],
        };
      }
      return {
        ok: false,
        findings: [
          CORE.make('pipeline.check_error', 'error', {
            title: `${check.title}: could not complete`,
            summary: `${check.title} stopped with an error: ${describeError(err)}. Other checks are unaffected.`,
            details: { check: check.name, error: describeError(err) },
          }),
        ],
      };
    }
  };
  // Register every promise before awaiting any, so dependencies resolve in any order.
  for (const check of checks) {
    let resolveOutcome!: (o: Outcome) => void;
    let rejectOutcome!: (e: unknown) => void;
    outcomes.set(
      check.name,
      new Promise<Outcome>((res, rej) => {
        resolveOutcome = res;
        rejectOutcome = rej;
      }),
    );
    queueMicrotask(() => runOne(check).then(resolveOutcome, rejectOutcome));
  }

  let settled: Outcome[];
  try {
    settled = await Promise.all(checks.map((c) => outcomes.get(c.name)!));
  } finally {
    overall.dispose();
  }

  const findings: Finding[] = [
    inputFinding(domain),
    resolverFinding(dns.log, resolvers, config.dns.resolversSource),
  ];
  const data: Record<string, unknown> = {};
  checks.forEach((check, i) => {
    const outcome = settled[i]!;
    findings.push(...outcome.findings);
    if (outcome.ok && outcome.data !== undefined && check.name !== 'mx') data[check.name] = outcome.data;
  });
  const mxOutcome = settled[checks.findIndex((c) => c.name === 'mx')];
  const mx: MxSet = mxOutcome?.ok ? (mxOutcome.data as MxSet) : { kind: 'error', hosts: [] };
  const finishedAt = now();
  deps.onProgress?.({ step: 'done', message: 'Report ready', percent: 100 });

  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'mxdoctor', version: version() },
    domain: { input: domain.input, ascii: domain.ascii, unicode: domain.unicode },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    verdict: verdictOf(findings),
    complete: !findings.some((f) => f.status === 'error'),
    counts: countStatuses(findings),
    score: scoreFindings(findings),
    options,
    resolvers,
    mx,
    checks: findings,
    data,
    dnsLog: dns.log,
  };
  // Guarantee plain, serialisable data (BullMQ and Redis will stringify it anyway).
  return JSON.parse(JSON.stringify(report)) as Report;
}
