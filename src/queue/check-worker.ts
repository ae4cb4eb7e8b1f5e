import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createProcessor, onJobFailedForGood } from './check-processor.js';
import type { ProcessorDeps } from './check-processor.js';
import { QUEUE_CHECKS } from './names.js';
import { logWorkerTrouble, workerOptions } from './worker-options.js';

/**
 * The BullMQ worker of the `checks` queue: wiring only. The processor (src/queue/check-processor.ts)
 * runs each job with BullMQ's AbortSignal; stalled-job recovery re-runs the job of a worker
 * that died (lock expired), and the report store keeps exactly one report per job.
 */
export interface CheckWorkerDeps extends ProcessorDeps {
  /** A connection that waits for Redis (maxRetriesPerRequest null), as BullMQ workers need. */
  connection: Redis;
}

export function createCheckWorker(deps: CheckWorkerDeps): Worker {
  const { config, log } = deps;
  const worker = new Worker(
    QUEUE_CHECKS,
    createProcessor(deps),
    workerOptions(deps.connection, config, config.queue.concurrency),
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    // Monitoring jobs log their own outcomes (src/queue/monitor-jobs.ts).
    if (job.name !== 'check') {
      if (job.name !== 'alert-delivery')
        log.warn(
          { jobId: job.id, job: job.name, attempt: job.attemptsMade, err: { message: err.message } },
          'job failed',
        );
      return;
    }
    void job.getState().then(
      (state) => {
        if (state === 'failed') void onJobFailedForGood(job, err, deps);
        else
          log.warn(
            { jobId: job.id, attempt: job.attemptsMade, err: { message: err.message } },
            'check attempt failed; it will be retried',
          );
      },
      () => {},
    );
  });
  logWorkerTrouble(worker, log, 'check');
  return worker;
}
