import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ProgressUpdate } from '../../checks/types.js';

/**
 * What the processors share: reading job data, handing a job back at shutdown, publishing
 * progress. A processor is a plain function over (job, token, signal, deps), so that
 * BullMQ's AbortSignal reaches the work; src/queue/workers.ts dispatches to it by job name.
 *
 * Retries: the work turns every problem of a domain or a bounce into findings and never
 * throws for it, so a thrown error is infrastructure (Redis, a bug, a crash) and BullMQ's
 * attempts and backoff apply. Invalid job data is UnrecoverableError (never retried).
 */

/** The reason with which a worker cancels running jobs when its shutdown grace is over. */
export const SHUTDOWN_REASON = 'mxdoctor: worker shutting down';

/** A job's data through its schema; invalid data fails the job for good. */
export function parseJobData<T>(schema: z.ZodType<T>, data: unknown, what = 'invalid job data'): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new UnrecoverableError(`${what}: ${r.error.issues[0]?.message ?? 'unknown'}`);
  return r.data;
}

/**
 * After the work threw: when the worker's shutdown grace is over (the signal was aborted with
 * SHUTDOWN_REASON), hands the job back to the queue for another worker without counting an
 * attempt against it, and throws the WaitingError BullMQ expects. Otherwise returns, and the
 * caller rethrows its error.
 */
export async function returnToQueueOnShutdown(
  job: Job,
  token: string | undefined,
  signal: AbortSignal,
  announce: () => void,
): Promise<void> {
  if (!signal.aborted || signal.reason !== SHUTDOWN_REASON || !token) return;
  announce();
  await job.moveToWait(token);
  throw new WaitingError();
}

/**
 * Sends progress to BullMQ at most once every `intervalMs`, counted from the sender's
 * creation, and the latest update at done(). Each update is a Redis round trip for the
 * worker (~100-150 µs of its CPU) and an event for every web process: a check that ends
 * within the first interval publishes only its final state, in done(). Watchers lose
 * nothing by it: until the first update, the page shows "Starting…", and the final update
 * still reaches them before the job's `completed` event (one ordered event stream).
 */
export function progressSender(job: Job, log: Logger, intervalMs = 200) {
  let pending: ProgressUpdate | undefined;
  let timer: NodeJS.Timeout | undefined;
  // As if an update had just been sent: the first waits out the interval like the others.
  let last = Date.now();
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
