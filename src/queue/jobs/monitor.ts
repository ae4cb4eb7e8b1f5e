import { createHash } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import type { Check, CheckServices } from '../../checks/types.js';
import type { Report } from '../../report/model.js';
import type { AlertBatch } from '../../monitor/message.js';
import { displayUrl } from '../../monitor/model.js';
import type { Destination, Monitor } from '../../monitor/model.js';
import type { MonitorStore, AlertRecord, RunRecord } from '../../store/monitors.js';
import type { MonitorScheduler } from '../monitor-scheduler.js';
import { JOB } from '../names.js';

/**
 * The jobs of monitoring, in the `checks` queue beside domain checks (src/queue/names.ts says
 * why): what each carries, its ids and options, and how it is queued. What a worker does with
 * each is in src/queue/processors/<job name>.ts.
 *
 * - `monitor-tick` (made by a monitor's job scheduler, src/queue/monitor-scheduler.ts):
 *   checks the monitor still exists and is active, repairs a stale scheduler, and queues the
 *   run (after the jitter delay of a cron schedule).
 * - `monitor-run`: runs the check, commits the run (report, summary, changes, alert state)
 *   in one atomic step, and queues one delivery per destination for the alerts it raised.
 * - `alert-delivery`: sends one alert message to one destination, with retries and
 *   exponential backoff; every attempt's outcome is recorded on the monitor.
 * - `monitor-reconcile`: brings the job schedulers in line with the stored monitors.
 */

/** Monitor runs queue behind interactive checks (BullMQ takes unprioritised jobs first). */
export const RUN_PRIORITY = 10;

/** What the monitor jobs' processors need in a worker. */
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

export const RunJobDataSchema = z.object({
  monitorId: z.string(),
  trigger: z.enum(['schedule', 'manual', 'initial']),
  scheduledAt: z.string().optional(),
});
export type RunJobData = z.infer<typeof RunJobDataSchema>;

export const TickJobDataSchema = z.object({ monitorId: z.string(), rev: z.number() });

export const DeliveryJobDataSchema = z.object({
  monitorId: z.string(),
  destinationId: z.string(),
  runId: z.string().optional(),
  test: z.boolean(),
  batch: z.custom<AlertBatch>((v) => typeof v === 'object' && v !== null),
});
export type DeliveryJobData = z.infer<typeof DeliveryJobDataSchema>;

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

function runJobOptions(config: Config, jobId: string, delay = 0): JobsOptions {
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

/**
 * Queues a run. `jobId` fixes the run id (runIdOf), so queueing the same run twice adds one
 * job; scheduled runs wait behind interactive checks, runs asked for by a person do not.
 */
export async function queueRun(
  queue: Queue,
  config: Config,
  data: RunJobData,
  jobId: string,
  how: { delayMs?: number; priority?: number } = {},
): Promise<void> {
  const options = runJobOptions(config, jobId, how.delayMs ?? 0);
  await queue.add(
    JOB.monitorRun,
    data,
    how.priority !== undefined ? { ...options, priority: how.priority } : options,
  );
}

/** Queues the deliveries of a committed run's alerts (idempotent: ids are the dedupe keys). */
export async function queueDeliveries(
  queue: Queue,
  config: Config,
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
      links: { monitor: monitorLink(config, m.id), report: reportLink(config, m.id, record.runId) },
      test: false,
    };
    const data: DeliveryJobData = { monitorId: m.id, destinationId, runId: record.runId, test: false, batch };
    await queue.add(JOB.alertDelivery, data, deliveryJobOptions(config, deliveryId));
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
  await queue.add(JOB.alertDelivery, data, { ...deliveryJobOptions(config, deliveryId), attempts: 1 });
}
