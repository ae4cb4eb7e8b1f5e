import { UnrecoverableError, Worker } from 'bullmq';
import type { Job, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { CheckJob } from './jobs/check.js';
import type { MonitorRuntime } from './jobs/monitor.js';
import { QUEUE_BOUNCES, QUEUE_CHECKS, QUEUE_INBOUND } from './names.js';
import type { BouncesQueueJob, ChecksQueueJob, InboundQueueJob } from './names.js';
import type { InboundJob } from './jobs/inbound.js';
import type { InboundProcessorDeps } from './processors/inbound.js';
import { processDelivery } from './processors/alert-delivery.js';
import type { BounceProcessorDeps } from './processors/bounce.js';
import { checkFailedForGood, processCheck } from './processors/check.js';
import type { CheckProcessorDeps } from './processors/check.js';
import { processReconcile } from './processors/monitor-reconcile.js';
import { processRun } from './processors/monitor-run.js';
import { processTick } from './processors/monitor-tick.js';
import { processReprobe } from './processors/reprobe.js';
import { SHUTDOWN_REASON } from './processors/shared.js';
import type { BounceJob } from './jobs/bounce.js';
import { processBatchWebhook } from './processors/batch-webhook.js';
import type { BatchWebhookDeps } from './processors/batch-webhook.js';
import type { VerifyProcessorDeps } from './processors/verify.js';

/**
 * The one place that builds BullMQ workers: one worker per queue (src/queue/names.ts), each
 * dispatching on the job name to the processor of that job kind
 * (src/queue/processors/<job name>.ts), with what every worker shares: the job lock (renewed
 * while a job runs; a job whose worker died is run again when it expires — twice in a row
 * means something about the job kills workers), the logging of failures, stalls and errors,
 * and the graceful close (running jobs may finish within the grace period, then go back to
 * the queue through BullMQ's AbortSignal).
 */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  /** Opens a connection that waits for Redis (maxRetriesPerRequest null), as BullMQ workers need. */
  connection: (name: string) => Redis;
  /** Domain checks and their greylisting re-probes. */
  check: CheckProcessorDeps;
  /** Monitoring (scheduled runs, alerts); absent where monitoring is not wired. */
  monitors?: MonitorRuntime;
  bounce: BounceProcessorDeps;
  /** Address verification; absent where it is not wired. */
  verify?: VerifyProcessorDeps;
  /** Batch completion webhooks; absent where batches are not wired. */
  batchWebhook?: BatchWebhookDeps;
  /** Analyses of inbound test messages; absent where the inbound test is not wired. */
  inbound?: InboundProcessorDeps;
}

export interface Workers {
  checks: Worker;
  bounces: Worker;
  inbound?: Worker;
  /** Stops taking jobs; running ones may finish within `graceMs`, then go back to the queue. */
  close(graceMs: number): Promise<void>;
}

/** What a worker does with one kind of job, and what it does when a run of it failed. */
interface JobKind {
  process(job: Job, token: string | undefined, signal: AbortSignal): Promise<unknown>;
  failed?(job: Job, err: Error): void;
}

/**
 * The processors of the rarer job kinds — bounce diagnoses (mail parsing), inbound analyses,
 * address verification — are loaded with their first job: a worker that never gets one does
 * not carry their code (issue 14 P4: memory per worker process).
 */
function onFirstUse<M>(load: () => Promise<M>): () => Promise<M> {
  let loaded: Promise<M> | undefined;
  return () => (loaded ??= load());
}
const bounceProcessor = onFirstUse(() => import('./processors/bounce.js'));
const inboundProcessor = onFirstUse(() => import('./processors/inbound.js'));
const verifyProcessor = onFirstUse(() => import('./processors/verify.js'));

export function startWorkers(deps: WorkerDeps): Workers {
  const { config, log } = deps;
  const checks = startWorker(deps, QUEUE_CHECKS, checksQueueJobs(deps), {
    connection: deps.connection('worker'),
    concurrency: config.queue.concurrency,
    what: 'check',
  });
  log.info({ concurrency: config.queue.concurrency }, `worker started on queue "${QUEUE_CHECKS}"`);
  const bounces = startWorker(deps, QUEUE_BOUNCES, bouncesQueueJobs(deps), {
    connection: deps.connection('bounce-worker'),
    concurrency: config.bounce.concurrency,
    what: 'bounce diagnosis',
  });
  log.info({ concurrency: config.bounce.concurrency }, `worker started on queue "${QUEUE_BOUNCES}"`);
  const inbound = deps.inbound
    ? startWorker(deps, QUEUE_INBOUND, inboundQueueJobs(deps.inbound), {
        connection: deps.connection('inbound-worker'),
        concurrency: config.inbound.concurrency,
        what: 'inbound analysis',
      })
    : undefined;
  if (inbound)
    log.info({ concurrency: config.inbound.concurrency }, `worker started on queue "${QUEUE_INBOUND}"`);
  return {
    checks,
    bounces,
    ...(inbound ? { inbound } : {}),
    async close(graceMs) {
      await Promise.all([
        closeWithin(checks, graceMs, log, 'checks'),
        closeWithin(bounces, graceMs, log, 'bounce diagnoses'),
        ...(inbound ? [closeWithin(inbound, graceMs, log, 'inbound analyses')] : []),
      ]);
    },
  };
}

function checksQueueJobs(deps: WorkerDeps): Record<ChecksQueueJob, JobKind> {
  const monitors = (): MonitorRuntime => {
    if (!deps.monitors) throw new UnrecoverableError('monitoring is not set up in this worker');
    return deps.monitors;
  };
  return {
    check: {
      process: (job, token, signal) => processCheck(job as CheckJob, token, signal, deps.check),
      failed: (job, err) => checkFailed(job as CheckJob, err, deps),
    },
    reprobe: { process: (job, _token, signal) => processReprobe(job, signal, deps.check) },
    'monitor-tick': { process: (job) => processTick(job, monitors()) },
    'monitor-run': { process: (job, token, signal) => processRun(job, token, signal, monitors()) },
    // Deliveries log their own outcomes (src/queue/processors/alert-delivery.ts).
    'alert-delivery': {
      process: (job, _token, signal) => processDelivery(job, signal, monitors()),
      failed() {},
    },
    'monitor-reconcile': { process: () => processReconcile(monitors()) },
    'batch-webhook': {
      process: (job, _token, signal) => processBatchWebhook(job, signal, need(deps.batchWebhook, 'batches')),
    },
    verify: {
      process: async (job, _token, signal) =>
        (await verifyProcessor()).processVerify(job, signal, need(deps.verify, 'verification')),
    },
    'verify-retry': {
      process: async (job, _token, signal) =>
        (await verifyProcessor()).processVerifyRetry(job, signal, need(deps.verify, 'verification')),
    },
  };
}

function need<T>(value: T | undefined, what: string): T {
  if (!value) throw new UnrecoverableError(`${what} is not set up in this worker`);
  return value;
}

function bouncesQueueJobs(deps: WorkerDeps): Record<BouncesQueueJob, JobKind> {
  return {
    bounce: {
      process: async (job, token, signal) =>
        (await bounceProcessor()).processBounce(job as BounceJob, token, signal, deps.bounce),
      failed(job, err) {
        const final = job.attemptsMade >= (job.opts.attempts ?? 1);
        deps.log[final ? 'error' : 'warn'](
          { jobId: job.id, attempt: job.attemptsMade, err: { message: err.message } },
          final ? 'bounce diagnosis failed for good' : 'bounce diagnosis attempt failed; it will be retried',
        );
        // Nobody will read the bounce text again: do not keep it until its TTL.
        if (final && job.id) deps.bounce.store.deleteInput(job.id).catch(() => {});
      },
    },
  };
}

function inboundQueueJobs(deps: InboundProcessorDeps): Record<InboundQueueJob, JobKind> {
  return {
    'inbound-analysis': {
      process: async (job, token, signal) =>
        (await inboundProcessor()).processInbound(job as InboundJob, token, signal, deps),
    },
  };
}

function checkFailed(job: CheckJob, err: Error, deps: WorkerDeps): void {
  void job.getState().then(
    (state) => {
      if (state === 'failed') void checkFailedForGood(job, err, deps.check);
      else
        deps.log.warn(
          { jobId: job.id, attempt: job.attemptsMade, err: { message: err.message } },
          'check attempt failed; it will be retried',
        );
    },
    () => {},
  );
}

function startWorker(
  deps: WorkerDeps,
  queue: string,
  kinds: Record<string, JobKind>,
  how: { connection: Redis; concurrency: number; what: string },
): Worker {
  const { log } = deps;
  const kindOf = (name: string): JobKind | undefined =>
    Object.hasOwn(kinds, name) ? kinds[name] : undefined;
  const worker = new Worker(
    queue,
    // Three declared parameters: BullMQ passes the AbortSignal only to processors that take it.
    async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
      const kind = kindOf(job.name);
      if (!kind) throw new UnrecoverableError(`unknown job name ${JSON.stringify(job.name)}`);
      return kind.process(job, token, signal ?? new AbortController().signal);
    },
    workerOptions(how.connection, deps.config, how.concurrency),
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const failed = kindOf(job.name)?.failed;
    if (failed) failed(job, err);
    else
      log.warn(
        { jobId: job.id, job: job.name, attempt: job.attemptsMade, err: { message: err.message } },
        'job failed',
      );
  });
  worker.on('stalled', (jobId) => {
    log.warn({ jobId }, `${how.what} stalled (its worker stopped renewing the lock); running it again`);
  });
  worker.on('error', (err) => {
    log.error({ err: { message: err.message } }, `${how.what} worker error`);
  });
  return worker;
}

function workerOptions(connection: Redis, config: Config, concurrency: number): WorkerOptions {
  return {
    connection,
    prefix: config.redis.prefix,
    concurrency,
    lockDuration: config.queue.lockMs,
    stalledInterval: config.queue.lockMs,
    maxStalledCount: 2,
    autorun: true,
  };
}

/** Closes a worker; when the grace period is over, cancels its running jobs back to the queue. */
async function closeWithin(worker: Worker, graceMs: number, log: Logger, what: string): Promise<void> {
  const closing = worker.close();
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    closing.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (inTime) return;
  log.warn(`shutdown grace period over: returning running ${what} to the queue`);
  worker.cancelAllJobs(SHUTDOWN_REASON);
  await Promise.race([closing, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
}
