import { createHash } from 'node:crypto';
import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import { runCheck } from '../checks/run.js';
import type { Check, CheckServices } from '../checks/types.js';
import { earliestCertificateDays } from '../smtp/contract.js';
import type { Report } from '../report/model.js';
import { evaluateAlerts, observe } from '../monitor/alerts.js';
import type { Alert } from '../monitor/alerts.js';
import { diffRuns } from '../monitor/diff.js';
import { sendEmail } from '../monitor/email.js';
import {
  alertsFor,
  changeTexts,
  htmlBody,
  signWebhook,
  slackPayload,
  subjectOf,
  textBody,
  webhookPayload,
} from '../monitor/message.js';
import type { AlertBatch } from '../monitor/message.js';
import { alertRulesOf, displayUrl } from '../monitor/model.js';
import type { Destination, Monitor } from '../monitor/model.js';
import { MonitorScheduler, RECONCILE_JOB, TICK_JOB } from './monitor-scheduler.js';
import type { MonitorStore, AlertRecord, LastRun, RunRecord, RunTrigger } from '../store/monitors.js';
import { summarizeReport } from '../monitor/summary.js';
import { postWebhook } from '../monitor/webhook.js';

/**
 * The queue jobs of monitoring, run by the same workers as domain checks:
 *
 * - `monitor-tick` (made by a monitor's job scheduler): checks the monitor still exists
 *   and is active, repairs a stale scheduler, and queues the run (after the jitter delay of
 *   a cron schedule). Its run job id is derived from the scheduled time, so a tick that runs
 *   twice still queues one run.
 * - `monitor-run`: runs the check with the same services as interactive checks (politeness
 *   limiter, connection cache), commits the run (report, summary, changes, alert state) in
 *   one atomic step, and queues one delivery per destination for the alerts it raised.
 * - `alert-delivery`: sends one alert message to one destination, with retries and
 *   exponential backoff; every attempt's outcome is recorded on the monitor.
 * - `monitor-reconcile`: brings the job schedulers in line with the stored monitors.
 */
export const RUN_JOB = 'monitor-run';
export const DELIVERY_JOB = 'alert-delivery';
export { RECONCILE_JOB, TICK_JOB };

/** Monitor runs queue behind interactive checks (BullMQ takes unprioritised jobs first). */
export const RUN_PRIORITY = 10;

export interface MonitorRuntime {
  config: Config;
  store: MonitorStore;
  scheduler: MonitorScheduler;
  /** The checks queue (runs and deliveries are added to it). */
  queue: Queue;
  /** The clock of alert rules and reports (tests move it). */
  now: () => Date;
  log: Logger;
  checks?: readonly Check[];
  services: CheckServices;
  /** Called after each committed run (metrics). */
  onRun?: (monitor: Monitor, record: RunRecord, report: Report) => void;
}

const RunJobDataSchema = z.object({
  monitorId: z.string(),
  trigger: z.enum(['schedule', 'manual', 'initial']),
  scheduledAt: z.string().optional(),
});
export type RunJobData = z.infer<typeof RunJobDataSchema>;

const TickJobDataSchema = z.object({ monitorId: z.string(), rev: z.number() });

const DeliveryJobDataSchema = z.object({
  monitorId: z.string(),
  destinationId: z.string(),
  runId: z.string().optional(),
  test: z.boolean(),
  batch: z.custom<AlertBatch>((v) => typeof v === 'object' && v !== null),
});
export type DeliveryJobData = z.infer<typeof DeliveryJobDataSchema>;

function parse<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (!r.success)
    throw new UnrecoverableError(`invalid job data: ${r.error.issues[0]?.message ?? 'unknown'}`);
  return r.data;
}

function hash(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, chars);
}

/** A run's id, fixed by its job: a job that runs twice commits one run. */
export function runIdOf(jobId: string): string {
  return hash(`run:${jobId}`, 22);
}

/** The delivery id (and job id) of these alerts to this destination: the dedupe key. */
export function deliveryIdOf(alertKeys: readonly string[], destinationId: string): string {
  return `alert-${hash([...alertKeys].sort().join('\n') + `\n${destinationId}`, 27)}`;
}

export function runJobOptions(config: Config, jobId: string, delay = 0): JobsOptions {
  return {
    jobId,
    ...(delay > 0 ? { delay } : {}),
    priority: RUN_PRIORITY,
    attempts: config.queue.attempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

function deliveryJobOptions(config: Config, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: config.alert.attempts,
    backoff: { type: 'exponential', delay: config.alert.backoffMs },
    // Kept long enough that a run re-committed after a crash finds them and adds nothing.
    removeOnComplete: { age: 7 * 24 * 3600, count: 50_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 50_000 },
  };
}

export function monitorLink(config: Config, monitorId: string): string {
  return `${config.alert.publicUrl}/monitors/${monitorId}`;
}

export function reportLink(config: Config, monitorId: string, runId: string): string {
  return `${config.alert.publicUrl}/monitors/${monitorId}/runs/${runId}`;
}

export function targetOf(d: Destination): string {
  return d.type === 'email' ? d.to.join(', ') : displayUrl(d.url);
}

// ---------------------------------------------------------------------------------------
// monitor-tick

export async function processTick(job: Job, rt: MonitorRuntime): Promise<unknown> {
  const data = parse(TickJobDataSchema, job.data);
  const m = await rt.store.get(data.monitorId);
  if (!m || m.paused) {
    // A scheduler left behind by a process that died between the two writes of a delete
    // or pause: remove it now.
    await rt.scheduler.remove(data.monitorId);
    rt.log.warn(
      { monitorId: data.monitorId },
      `removed the scheduler of a ${m ? 'paused' : 'deleted'} monitor`,
    );
    return { skipped: m ? 'paused' : 'deleted' };
  }
  if (data.rev !== m.rev) {
    // The monitor changed and its scheduler was not updated (a crash between the writes).
    await rt.scheduler.syncLatest(rt.store, m.id);
    rt.log.warn({ monitorId: m.id, schedulerRev: data.rev, rev: m.rev }, 'updated a stale monitor scheduler');
  }
  const plan = rt.scheduler.plan(m);
  const millis = Number(/:(\d+)$/.exec(job.id ?? '')?.[1] ?? job.timestamp);
  const runJobId = `mrun-${m.id}-${millis}`;
  const runData: RunJobData = {
    monitorId: m.id,
    trigger: 'schedule',
    scheduledAt: new Date(millis).toISOString(),
  };
  await rt.queue.add(RUN_JOB, runData, runJobOptions(rt.config, runJobId, plan?.runDelayMs ?? 0));
  return { runJobId };
}

// ---------------------------------------------------------------------------------------
// monitor-run

function trendOf(previous: string, verdict: Report['verdict']): string {
  return (previous + verdict[0]).slice(-30);
}

function severity(alerts: Alert[]): 'problem' | 'news' {
  return alerts.some((a) => a.kind === 'problem' || a.kind === 'unknown') ? 'problem' : 'news';
}

export async function processRun(
  job: Job,
  token: string | undefined,
  signal: AbortSignal,
  rt: MonitorRuntime,
  shutdownReason: string,
): Promise<unknown> {
  const data = parse(RunJobDataSchema, job.data);
  const log = rt.log.child({ jobId: job.id, monitorId: data.monitorId });
  const m = await rt.store.get(data.monitorId);
  if (!m) return { skipped: 'deleted' };
  if (m.paused && data.trigger === 'schedule') return { skipped: 'paused' };
  const runId = runIdOf(job.id!);
  if (await rt.store.hasRun(m.id, runId)) {
    // Committed by an earlier attempt of this job that died before it queued deliveries.
    const record = await rt.store.run(m.id, runId);
    if (record) await queueDeliveries(rt, m, record, await rt.store.alertsOfRun(m.id, runId));
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
    if (signal.aborted && signal.reason === shutdownReason && token) {
      log.warn('monitor run interrupted by shutdown; returned to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw err;
  }
  const summary = summarizeReport(report, runId);
  const rules = alertRulesOf(m.alerts);
  const certDays = earliestCertificateDays(report, rt.now());

  for (let attempt = 0; attempt < 20; attempt++) {
    const state = await rt.store.state(m.id);
    // A run that started before the last evaluated one (two runs overlapping) is kept in the
    // history but does not move the alert state backwards.
    const evaluated = !state.lastAt || Date.parse(report.startedAt) >= Date.parse(state.lastAt);
    const now = rt.now();
    const outcome = evaluated
      ? evaluateAlerts(m.id, runId, state.alerts, observe(summary, now, rules), now, rules)
      : { state: state.alerts, alerts: [] as Alert[] };
    const diff = evaluated && state.last ? diffRuns(state.last, summary) : undefined;
    const record: RunRecord = {
      runId,
      monitorId: m.id,
      jobId: job.id!,
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
    const alertRecords: AlertRecord[] = outcome.alerts.map((a) => {
      const destinations = m.destinations
        .filter((d) => alertsFor([a], d.minLevel).length > 0)
        .map((d) => d.id);
      return { ...a, runId, destinations, deliveryIds: {} };
    });
    // Delivery ids: one per destination over the alerts it receives from this run.
    for (const d of m.destinations) {
      const mine = alertRecords.filter((a) => a.destinations.includes(d.id));
      if (mine.length === 0) continue;
      const id = deliveryIdOf(
        mine.map((a) => a.key),
        d.id,
      );
      for (const a of mine) a.deliveryIds[d.id] = id;
    }
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
    const result = await rt.store.commit({
      monitorId: m.id,
      expectedRev: state.rev,
      record,
      report,
      ...(evaluated ? { evaluation: { alerts: outcome.state, summary, trend, last } } : {}),
      alertRecords: [...alertRecords].reverse(),
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
        alerts: outcome.alerts.length,
        changes: record.changes?.count ?? 0,
      },
      outcome.alerts.length
        ? `monitor run raised ${outcome.alerts.length} alert(s) (${severity(outcome.alerts)})`
        : 'monitor run finished',
    );
    rt.onRun?.(m, record, report);
    await queueDeliveries(rt, m, record, alertRecords);
    return { runId, verdict: report.verdict, alerts: outcome.alerts.length, stored: true };
  }
  throw new Error('could not commit the run: the monitor state kept changing');
}

/** Queues the deliveries of a committed run's alerts (idempotent: ids are the dedupe keys). */
export async function queueDeliveries(
  rt: MonitorRuntime,
  m: Monitor,
  record: RunRecord,
  alerts: AlertRecord[],
): Promise<void> {
  const byDelivery = new Map<string, { destinationId: string; alerts: AlertRecord[] }>();
  for (const a of alerts) {
    for (const [destinationId, deliveryId] of Object.entries(a.deliveryIds)) {
      const entry = byDelivery.get(deliveryId) ?? { destinationId, alerts: [] };
      entry.alerts.push(a);
      byDelivery.set(deliveryId, entry);
    }
  }
  for (const [deliveryId, { destinationId, alerts: list }] of byDelivery) {
    const batch: AlertBatch = {
      monitor: { id: m.id, ...(m.name ? { name: m.name } : {}), domain: m.domain.unicode },
      run: { id: record.runId, at: record.at, verdict: record.verdict, counts: record.counts },
      alerts: list.map(({ runId: _r, destinations: _d, deliveryIds: _i, ...alert }) => alert),
      changes: record.changes?.texts ?? [],
      links: { monitor: monitorLink(rt.config, m.id), report: reportLink(rt.config, m.id, record.runId) },
      test: false,
    };
    const data: DeliveryJobData = { monitorId: m.id, destinationId, runId: record.runId, test: false, batch };
    await rt.queue.add(DELIVERY_JOB, data, deliveryJobOptions(rt.config, deliveryId));
  }
}

/** Queues a test message to one destination ("send a test alert"). */
export async function queueTestDelivery(
  config: Config,
  queue: Queue,
  m: Monitor,
  destinationId: string,
  deliveryId: string,
): Promise<void> {
  const batch: AlertBatch = {
    monitor: { id: m.id, ...(m.name ? { name: m.name } : {}), domain: m.domain.unicode },
    alerts: [],
    changes: [],
    links: { monitor: monitorLink(config, m.id) },
    test: true,
  };
  const data: DeliveryJobData = { monitorId: m.id, destinationId, test: true, batch };
  // A test goes out once: a failed test is reported, not retried for half an hour.
  await queue.add(DELIVERY_JOB, data, { ...deliveryJobOptions(config, deliveryId), attempts: 1 });
}

// ---------------------------------------------------------------------------------------
// alert-delivery

export async function processDelivery(job: Job, signal: AbortSignal, rt: MonitorRuntime): Promise<unknown> {
  const data = parse(DeliveryJobDataSchema, job.data);
  const deliveryId = job.id!;
  const m = await rt.store.get(data.monitorId);
  if (!m) return { skipped: 'monitor deleted' };
  const d = m.destinations.find((x) => x.id === data.destinationId);
  const attempts = job.opts.attempts ?? 1;
  const attempt = job.attemptsMade + 1;
  const base = {
    deliveryId,
    destinationId: data.destinationId,
    ...(data.runId ? { runId: data.runId } : {}),
    test: data.test,
    alerts: data.batch.alerts.length,
    title: subjectOf(data.batch),
    attempt,
    attempts,
  };
  if (!d) {
    await rt.store.recordDelivery(m.id, {
      ...base,
      type: 'webhook',
      target: '(removed)',
      status: 'skipped',
      detail: 'the destination was removed from the monitor',
      at: rt.now().toISOString(),
    });
    return { skipped: 'destination removed' };
  }
  if (await rt.store.wasSent(deliveryId)) return { skipped: 'already sent' };

  const batch = data.batch;
  let outcome: { ok: boolean; retryable: boolean; detail: string };
  if (d.type === 'email') {
    outcome = await sendEmail(
      { to: d.to, subject: subjectOf(batch), text: textBody(batch), html: htmlBody(batch), id: deliveryId },
      rt.config,
    );
  } else {
    const payload = d.format === 'slack' ? slackPayload(batch) : webhookPayload(batch, deliveryId);
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    const r = await postWebhook(
      {
        url: d.url,
        body,
        headers: {
          'X-Mxdoctor-Signature': signWebhook(d.secret, ts, body),
          'X-Mxdoctor-Event': batch.test ? 'test' : 'alert',
          'X-Mxdoctor-Delivery': deliveryId,
        },
        signal,
      },
      rt.config,
    );
    outcome = {
      ok: r.ok,
      retryable: r.retryable,
      detail: `${r.detail}${r.body && !r.ok ? `: ${r.body.slice(0, 200)}` : ''}`,
    };
  }
  const record = { ...base, type: d.type, target: targetOf(d), at: rt.now().toISOString() } as const;
  if (outcome.ok) {
    await rt.store.markSent(deliveryId);
    await rt.store.recordDelivery(m.id, { ...record, status: 'sent', detail: outcome.detail });
    rt.log.info({ monitorId: m.id, deliveryId, destination: d.id, type: d.type }, 'alert delivered');
    return { sent: true };
  }
  const final = !outcome.retryable || attempt >= attempts;
  await rt.store.recordDelivery(m.id, {
    ...record,
    status: final ? 'failed' : 'retrying',
    detail: outcome.detail,
  });
  rt.log.warn(
    { monitorId: m.id, deliveryId, destination: d.id, attempt, attempts, detail: outcome.detail },
    final ? 'alert delivery failed for good' : 'alert delivery failed; it will be retried',
  );
  if (final) throw new UnrecoverableError(outcome.detail);
  throw new Error(outcome.detail);
}

// ---------------------------------------------------------------------------------------
// monitor-reconcile

export async function processReconcile(rt: MonitorRuntime): Promise<unknown> {
  const r = await rt.scheduler.reconcile(rt.store);
  if (r.created.length + r.updated.length + r.removed.length > 0)
    rt.log.warn(r, 'monitor schedulers repaired');
  return r;
}

export { MonitorScheduler };
export type { RunTrigger };
