import type { Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';

/**
 * What every mxdoctor BullMQ worker shares: the connection and key prefix, the job lock
 * (renewed while a job runs; a job whose worker died is run again when it expires — twice in
 * a row means something about the job kills workers), and the logging of stalls and errors.
 */
export function workerOptions(connection: Redis, config: Config, concurrency: number): WorkerOptions {
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

/** Logs a worker's stalled jobs and its own errors; `what` names the jobs ("check"). */
export function logWorkerTrouble(worker: Worker, log: Logger, what: string): void {
  worker.on('stalled', (jobId) => {
    log.warn({ jobId }, `${what} stalled (its worker stopped renewing the lock); running it again`);
  });
  worker.on('error', (err) => {
    log.error({ err: { message: err.message } }, `${what} worker error`);
  });
}
