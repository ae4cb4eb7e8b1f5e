import type { Job, JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { ProgressUpdate } from '../../checks/types.js';
import { BounceOptionsSchema } from '../../store/diagnoses.js';
import type { BounceOptions, DiagnosisStore, StoredBounce } from '../../store/diagnoses.js';
import { JOB, JOB_ID_PATTERN, newJobId } from '../names.js';

/**
 * The `bounce` job, in its own queue (`bounces`, see src/queue/names.ts), and BounceQueue,
 * the web's one entry to submit diagnoses and read their state. A job carries only options
 * and provenance; the bounce text waits in the diagnosis store (deleted once diagnosed), so
 * the mail it contains never sits in BullMQ's job hashes or its dashboard. The worker side is
 * src/queue/processors/bounce.ts.
 */
export const BounceJobDataSchema = z.object({
  options: BounceOptionsSchema,
  submittedAt: z.string(),
  via: z.enum(['web', 'api', 'bench']),
  /** Size of the submitted bounce, bytes (for logs). */
  bytes: z.number().int(),
  /** The HTTP request that queued it, so worker log lines can be joined with the request's. */
  requestId: z.string().optional(),
});
export type BounceJobData = z.infer<typeof BounceJobDataSchema>;

export interface BounceJobResult {
  outcome: StoredBounce['outcome'];
  records: number;
  durationMs: number;
  stored: boolean;
}

export type BounceJob = Job<BounceJobData, BounceJobResult, typeof JOB.bounce>;

export type BounceState = 'queued' | 'active' | 'completed' | 'rejected' | 'failed';

export interface BounceStatus {
  id: string;
  state: BounceState;
  submittedAt?: string;
  options?: BounceOptions;
  progress?: ProgressUpdate;
  /** Why it failed (failed) or why the input could not be used (rejected). */
  error?: string;
  result?: StoredBounce;
}

export function bounceJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    // The result lives in the diagnosis store; the job itself is only needed while it runs.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600, count: 10_000 },
  };
}

/** Queues bounce diagnoses and tells their state; the web's one entry to the bounce queue. */
export class BounceQueue {
  constructor(
    readonly queue: Queue,
    readonly store: DiagnosisStore,
    private readonly jobOptions: JobsOptions,
  ) {}

  async submit(
    input: Buffer,
    options: BounceOptions,
    how: { via: BounceJobData['via']; requestId?: string },
  ): Promise<string> {
    const id = newJobId();
    const data: BounceJobData = {
      options,
      submittedAt: new Date().toISOString(),
      via: how.via,
      bytes: input.length,
    };
    if (how.requestId) data.requestId = how.requestId;
    await this.store.saveInput(id, input);
    try {
      await this.queue.add(JOB.bounce, data, { ...this.jobOptions, jobId: id });
    } catch (err) {
      await this.store.deleteInput(id).catch(() => {});
      throw err;
    }
    return id;
  }

  async status(id: string): Promise<BounceStatus | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const stored = await this.store.get(id);
    if (stored) return storedStatus(stored);
    const job = (await this.queue.getJob(id)) as BounceJob | undefined;
    if (!job) return undefined;
    const raw = await job.getState();
    if (raw === 'completed') {
      // Finished between the two reads, or finished long ago and its result has expired.
      const late = await this.store.get(id);
      return late ? storedStatus(late) : undefined;
    }
    const state: BounceState = raw === 'active' ? 'active' : raw === 'failed' ? 'failed' : 'queued';
    const status: BounceStatus = {
      id,
      state,
      submittedAt: job.data.submittedAt,
      options: job.data.options,
    };
    const progress = job.progress as ProgressUpdate | number | undefined;
    if (progress && typeof progress === 'object') status.progress = progress;
    if (state === 'failed') status.error = job.failedReason || 'the diagnosis failed';
    return status;
  }
}

function storedStatus(stored: StoredBounce): BounceStatus {
  return {
    id: stored.id,
    state: stored.outcome === 'rejected' ? 'rejected' : 'completed',
    submittedAt: stored.submittedAt,
    options: stored.options,
    ...(stored.inputError ? { error: stored.inputError.message } : {}),
    result: stored,
  };
}
