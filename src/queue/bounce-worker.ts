import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_BOUNCES } from './bounce-jobs.js';
import { createBounceProcessor } from './bounce-processor.js';
import type { BounceProcessorDeps } from './bounce-processor.js';
import { logWorkerTrouble, workerOptions } from './worker-options.js';

/**
 * The BullMQ worker of the `bounces` queue: wiring only. The processor
 * (src/queue/bounce-processor.ts) parses, classifies and runs the follow-up checks with
 * BullMQ's AbortSignal; stalled-job recovery re-runs the job of a worker that died, and the
 * diagnosis store keeps exactly one result per job.
 */
export interface BounceWorkerDeps extends BounceProcessorDeps {
  /** A connection that waits for Redis (maxRetriesPerRequest null), as BullMQ workers need. */
  connection: Redis;
}

export function createBounceWorker(deps: BounceWorkerDeps): Worker {
  const { config, log } = deps;
  const worker = new Worker(
    QUEUE_BOUNCES,
    createBounceProcessor(deps),
    workerOptions(deps.connection, config, config.bounce.concurrency),
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? 'error' : 'warn'](
      { jobId: job.id, attempt: job.attemptsMade, err: { message: err.message } },
      final ? 'bounce diagnosis failed for good' : 'bounce diagnosis attempt failed; it will be retried',
    );
    // Nobody will read the bounce text again: do not keep it until its TTL.
    if (final && job.id) deps.store.deleteInput(job.id).catch(() => {});
  });
  logWorkerTrouble(worker, log, 'bounce diagnosis');
  return worker;
}
