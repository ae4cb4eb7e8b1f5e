import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { runCheck } from '../../checks/run.js';
import { earliestCertificateDays } from '../../smtp/contract.js';
import type { Report } from '../../report/model.js';
import { evaluateAlerts, observe } from '../../monitor/alerts.js';
import type { Alert, AlertRules, AlertState } from '../../monitor/alerts.js';
import { diffRuns } from '../../monitor/diff.js';
import { alertsFor, changeTexts } from '../../monitor/message.js';
import { alertRulesOf } from '../../monitor/model.js';
import type { Monitor } from '../../monitor/model.js';
import { summarizeReport } from '../../monitor/summary.js';
import type { RunSummary } from '../../monitor/summary.js';
import type { AlertRecord, LastRun, MonitorState, RunRecord } from '../../store/monitors.js';
import { RunJobDataSchema, deliveryIdOf, queueDeliveries, runIdOf } from '../jobs/monitor.js';
import type { MonitorRuntime, RunJobData } from '../jobs/monitor.js';
import { parseJobData, returnToQueueOnShutdown } from './shared.js';

/**
 * The `monitor-run` job: runs the check with the same services as interactive checks
 * (politeness limiter, connection cache), commits the run (report, summary, changes, alert
 * state) in one atomic step, and queues one delivery per destination for the alerts it
 * raised. The run id is fixed by the job id, so a job that runs twice commits one run.
 */
export async function processRun(
  job: Job,
  token: string | undefined,
  signal: AbortSignal,
  rt: MonitorRuntime,
): Promise<unknown> {
  const data = parseJobData(RunJobDataSchema, job.data);
  const log = rt.log.child({ jobId: job.id, monitorId: data.monitorId });
  const m = await rt.store.get(data.monitorId);
  if (!m) return { skipped: 'deleted' };
  if (m.paused && data.trigger === 'schedule') return { skipped: 'paused' };
  const runId = runIdOf(job.id!);
  if (await rt.store.hasRun(m.id, runId)) {
    // Committed by an earlier attempt of this job that died before it queued deliveries.
    const record = await rt.store.run(m.id, runId);
    if (record)
      await queueDeliveries(rt.queue, rt.config, m, record, await rt.store.alertsOfRun(m.id, runId));
    return { runId, stored: false };
  }

  log.info({ domain: m.domain.ascii, trigger: data.trigger }, 'monitor run started');
  let report: Report;
  try {
    report = await runCheck(m.domain, m.options, {
      config: rt.config,
      ...(rt.checks ? { checks: rt.checks } : {}),
      services: rt.services,
      signal,
      now: rt.now,
    });
  } catch (err) {
    await returnToQueueOnShutdown(job, token, signal, () =>
      log.warn('monitor run interrupted by shutdown; returned to the queue'),
    );
    throw err;
  }
  return commitRun(rt, log, m, { jobId: job.id!, runId, data, report });
}

interface FinishedRun {
  jobId: string;
  runId: string;
  data: RunJobData;
  report: Report;
}

/**
 * Evaluates the alert rules against the monitor's state and commits the run, again while
 * the state changed meanwhile (another run of the same monitor committed first).
 */
async function commitRun(rt: MonitorRuntime, log: Logger, m: Monitor, run: FinishedRun): Promise<unknown> {
  const { runId, report } = run;
  const facts: RunFacts = {
    summary: summarizeReport(report, runId),
    rules: alertRulesOf(m.alerts),
    certDays: earliestCertificateDays(report, rt.now()),
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    const state = await rt.store.state(m.id);
    const step = evaluateRun(rt.now(), m, run, facts, state);
    const result = await rt.store.commit({
      monitorId: m.id,
      expectedRev: state.rev,
      record: step.record,
      report,
      ...(step.evaluation ? { evaluation: step.evaluation } : {}),
      alertRecords: [...step.alertRecords].reverse(),
      retentionMs: m.retention.days * 86_400_000,
      maxRuns: m.retention.runs,
    });
    if (result === 'conflict') continue;
    if (result === 'gone') {
      log.info('monitor deleted while it ran; run discarded');
      return { skipped: 'deleted' };
    }
    if (result === 'duplicate') return { runId, stored: false };
    log.info(
      {
        domain: m.domain.ascii,
        runId,
        verdict: report.verdict,
        durationMs: report.durationMs,
        alerts: step.alerts.length,
        changes: step.record.changes?.count ?? 0,
      },
      step.alerts.length
        ? `monitor run raised ${step.alerts.length} alert(s) (${severity(step.alerts)})`
        : 'monitor run finished',
    );
    rt.onRun?.(m, step.record, report);
    await queueDeliveries(rt.queue, rt.config, m, step.record, step.alertRecords);
    return { runId, verdict: report.verdict, alerts: step.alerts.length, stored: true };
  }
  throw new Error('could not commit the run: the monitor state kept changing');
}

interface RunEvaluation {
  record: RunRecord;
  alerts: Alert[];
  alertRecords: AlertRecord[];
  /** The new alert state, absent for a run older than the last evaluated one. */
  evaluation?: { alerts: AlertState; summary: RunSummary; trend: string; last: LastRun };
}

/** What a run is, whatever the monitor's state: computed once per run. */
interface RunFacts {
  summary: RunSummary;
  rules: AlertRules;
  certDays: number | undefined;
}

/** What committing this run writes, given the monitor's current state. */
function evaluateRun(
  now: Date,
  m: Monitor,
  run: FinishedRun,
  { summary, rules, certDays }: RunFacts,
  state: MonitorState,
): RunEvaluation {
  const { runId, report, data } = run;
  // A run that started before the last evaluated one (two runs overlapping) is kept in the
  // history but does not move the alert state backwards.
  const evaluated = !state.lastAt || Date.parse(report.startedAt) >= Date.parse(state.lastAt);
  const outcome = evaluated
    ? evaluateAlerts(m.id, runId, state.alerts, observe(summary, now, rules), now, rules)
    : { state: state.alerts, alerts: [] as Alert[] };
  const diff = evaluated && state.last ? diffRuns(state.last, summary) : undefined;
  const record: RunRecord = {
    runId,
    monitorId: m.id,
    jobId: run.jobId,
    trigger: data.trigger,
    ...(data.scheduledAt ? { scheduledAt: data.scheduledAt } : {}),
    at: report.startedAt,
    finishedAt: report.finishedAt,
    durationMs: report.durationMs,
    verdict: report.verdict,
    complete: report.complete,
    counts: report.counts,
    ...(certDays !== undefined ? { certDays } : {}),
    evaluated,
    ...(diff && state.lastRunId
      ? {
          changes: {
            previousRunId: state.lastRunId,
            count: diff.appeared.length + diff.disappeared.length + diff.changed.length + diff.facts.length,
            texts: changeTexts(diff),
          },
        }
      : {}),
    alerts: outcome.alerts.map((a) => a.key),
  };
  const alertRecords = routeAlerts(m, runId, outcome.alerts);
  const trend = trendOf(state.trend, report.verdict);
  const last: LastRun = {
    runId,
    at: report.startedAt,
    verdict: report.verdict,
    counts: report.counts,
    complete: report.complete,
    ...(certDays !== undefined ? { certDays } : {}),
    trend,
  };
  return {
    record,
    alerts: outcome.alerts,
    alertRecords,
    ...(evaluated ? { evaluation: { alerts: outcome.state, summary, trend, last } } : {}),
  };
}

/** Each alert with the destinations that take it, and one delivery id per destination. */
function routeAlerts(m: Monitor, runId: string, alerts: Alert[]): AlertRecord[] {
  const records: AlertRecord[] = alerts.map((a) => {
    const destinations = m.destinations.filter((d) => alertsFor([a], d.minLevel).length > 0).map((d) => d.id);
    return { ...a, runId, destinations, deliveryIds: {} };
  });
  // Delivery ids: one per destination over the alerts it receives from this run.
  for (const d of m.destinations) {
    const mine = records.filter((a) => a.destinations.includes(d.id));
    if (mine.length === 0) continue;
    const id = deliveryIdOf(
      mine.map((a) => a.key),
      d.id,
    );
    for (const a of mine) a.deliveryIds[d.id] = id;
  }
  return records;
}

function trendOf(previous: string, verdict: Report['verdict']): string {
  return (previous + verdict[0]).slice(-30);
}

function severity(alerts: Alert[]): 'problem' | 'news' {
  return alerts.some((a) => a.kind === 'problem' || a.kind === 'unknown') ? 'problem' : 'news';
}
