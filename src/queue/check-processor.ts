import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { runCheck } from '../checks/run.js';
import type { Check, CheckServices, ProgressUpdate } from '../checks/types.js';
import type { ReportStore } from '../store/reports.js';
import type { Metrics } from '../metrics/metrics.js';
import { CheckJobDataSchema } from './jobs.js';
import { enqueueReprobe, planReprobe, processReprobe } from './reprobe.js';
import type { CheckJob, CheckJobResult, Dedupe } from './jobs.js';
import type { JobName } from './names.js';
import { processDelivery, processReconcile, processRun, processTick } from './monitor-jobs.js';
import type { MonitorRuntime } from './monitor-jobs.js';

/**
 * What the worker does with each job, by job name. Handlers are plain functions over
 * (job, token, signal) so that BullMQ's AbortSignal reaches runCheck; a new job kind (the
 * greylisting re-probe) is one more entry in HANDLERS with its own data schema.
 *
 * Retries: runCheck turns every problem of the domain into findings and never throws for
 * them, so a thrown error here is infrastructure (Redis, a bug, a crash) and BullMQ's
 * attempts/backoff apply. Invalid job data is UnrecoverableError (never retried).
 */
export interface ProcessorDeps {
  config: Config;
  /** The checks to run; defaults to ALL_CHECKS (tests inject their own). */
  checks?: readonly Check[];
  services: CheckServices;
  store: ReportStore;
  dedupe: Dedupe;
  log: Logger;
  metrics?: Metrics;
  /** The queue, for follow-up jobs (the greylisting re-probe); without it none are scheduled. */
  queue?: Queue;
  /** Options of follow-up jobs (attempts, backoff). */
  jobOptions?: JobsOptions;
  /** Monitoring (scheduled runs, alerts); absent where monitoring is not wired (tests). */
  monitors?: MonitorRuntime;
}

/** The reason with which the worker cancels running jobs when its shutdown grace is over. */
export const SHUTDOWN_REASON = 'mxdoctor: worker shutting down';

type Handler = (
  job: Job,
  token: string | undefined,
  signal: AbortSignal,
  deps: ProcessorDeps,
) => Promise<unknown>;

function monitorsOf(deps: ProcessorDeps): MonitorRuntime {
  if (!deps.monitors) throw new UnrecoverableError('monitoring is not set up in this worker');
  return deps.monitors;
}

const HANDLERS: Record<JobName, Handler> = {
  check: (job, token, signal, deps) => processCheck(job as CheckJob, token, signal, deps),
  reprobe: (job, _token, signal, deps) => processReprobe(job, signal, deps),
  'monitor-tick': (job, _token, _signal, deps) => processTick(job, monitorsOf(deps)),
  'monitor-run': (job, token, signal, deps) =>
    processRun(job, token, signal, monitorsOf(deps), SHUTDOWN_REASON),
  'alert-delivery': (job, _token, signal, deps) => processDelivery(job, signal, monitorsOf(deps)),
  'monitor-reconcile': (_job, _token, _signal, deps) => processReconcile(monitorsOf(deps)),
};

export function createProcessor(deps: ProcessorDeps) {
  // Three declared parameters: BullMQ passes the AbortSignal only to processors that take it.
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const handler = HANDLERS[job.name as JobName];
    if (!handler) throw new UnrecoverableError(`unknown job name ${JSON.stringify(job.name)}`);
    return handler(job, token, signal ?? new AbortController().signal, deps);
  };
}

/** Sends progress to BullMQ at most every `intervalMs`, always including the latest update. */
function progressSender(job: Job, log: Logger, intervalMs = 200) {
  let pending: ProgressUpdate | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let chain: Promise<void> = Promise.resolve();
  const flush = (): void => {
    timer = undefined;
    if (!pending) return;
    const update = pending;
    pending = undefined;
    last = Date.now();
    chain = chain
      .then(() => job.updateProgress(update))
      .catch((err: unknown) => log.warn({ err }, 'could not publish progress'));
  };
  return {
    push(update: ProgressUpdate): void {
      pending = update;
      if (timer) return;
      const wait = Math.max(0, intervalMs - (Date.now() - last));
      timer = setTimeout(flush, wait);
    },
    async done(): Promise<void> {
      if (timer) clearTimeout(timer);
      flush();
      await chain;
    },
  };
}

async function processCheck(
  job: CheckJob,
  token: string | undefined,
  signal: AbortSignal,
  deps: ProcessorDeps,
): Promise<CheckJobResult> {
  const parsed = CheckJobDataSchema.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(`invalid job data: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  }
  const data = parsed.data;
  const id = job.id!;
  const log = deps.log.child({ jobId: id, ...(data.requestId ? { reqId: data.requestId } : {}) });

  // Run again after a stall although the first run stored its report: nothing to redo.
  const existing = await deps.store.getMeta(id);
  if (existing) {
    // The earlier run may have died between storing the report and scheduling its re-probe.
    const pending = deps.queue ? (await deps.store.get(id))?.data.smtp : undefined;
    const reprobe = (
      pending as { reprobe?: { addresses: string[]; attempt: number; scheduledAt: string } } | undefined
    )?.reprobe;
    if (reprobe && deps.queue) {
      await enqueueReprobe(
        deps.queue,
        {
          data: { reportId: id, addresses: reprobe.addresses, attempt: reprobe.attempt },
          delayMs: Math.max(0, Date.parse(reprobe.scheduledAt) - Date.now()),
          jobId: `${id}-reprobe-${reprobe.attempt}`,
        },
        deps.jobOptions ?? {},
      );
    }
    log.info({ domain: data.domain.ascii }, 'report already stored by an earlier run of this job');
    await deps.dedupe.finished(data.identity, id);
    return { reportId: id, verdict: existing.verdict, durationMs: existing.durationMs, stored: false };
  }

  log.info({ domain: data.domain.ascii, attempt: job.attemptsMade + 1, via: data.via }, 'check started');
  const progress = progressSender(job, log);
  let report;
  try {
    report = await runCheck(data.domain, data.options, {
      config: deps.config,
      ...(deps.checks ? { checks: deps.checks } : {}),
      services: deps.services,
      signal,
      onProgress: (u) => progress.push(u),
    });
  } catch (err) {
    await progress.done();
    if (signal.aborted && signal.reason === SHUTDOWN_REASON && token) {
      // Shutdown grace is over: hand the job back to the queue for another worker, without
      // counting an attempt against it.
      log.warn({ domain: data.domain.ascii }, 'check interrupted by shutdown; returned to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw err;
  }
  await progress.done();
  // A greylisted address is asked again later by a delayed job; the report says when.
  const planned = deps.queue ? planReprobe(id, report, deps.config, new Date()) : { report };
  report = planned.report;
  const stored = await deps.store.saveOnce(id, report);
  if (stored && planned.job && deps.queue)
    await enqueueReprobe(deps.queue, planned.job, deps.jobOptions ?? {});
  await deps.dedupe.finished(data.identity, id);
  if (stored) deps.metrics?.recordReport(report);
  log.info(
    { domain: data.domain.ascii, verdict: report.verdict, durationMs: report.durationMs, stored },
    'check finished',
  );
  return { reportId: id, verdict: report.verdict, durationMs: report.durationMs, stored };
}

/** After the last attempt failed: free the dedupe key and count it. */
export async function onJobFailedForGood(job: Job, err: Error, deps: ProcessorDeps): Promise<void> {
  const identity = (job.data as { identity?: unknown }).identity;
  deps.metrics?.recordFailedJob();
  deps.log.error({ jobId: job.id, err: { message: err.message } }, 'check failed for good');
  if (typeof identity === 'string' && job.id) await deps.dedupe.release(identity, job.id).catch(() => {});
}
