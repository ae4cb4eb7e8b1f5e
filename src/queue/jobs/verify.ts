import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { StoredVerification, VerificationStore } from '../../store/verifications.js';
import { JOB, JOB_ID_PATTERN, newJobId } from '../names.js';

/**
 * Address verification in the service: a `verify` job (queue `checks`) runs
 * verify/run.ts for the submitted addresses and stores the result; when some were greylisted,
 * a delayed `verify-retry` job asks those again after MXDOCTOR_GREYLIST_REPROBE and updates
 * the stored result. VerifyQueue is the web's entry.
 */
export const VerifyJobDataSchema = z.object({
  id: z.string(),
  requestId: z.string().optional(),
});
export const VerifyRetryDataSchema = z.object({ id: z.string(), addresses: z.array(z.string()) });
export type VerifyRetryData = z.infer<typeof VerifyRetryDataSchema>;

export interface VerificationStatus {
  id: string;
  state: 'queued' | 'active' | 'completed' | 'failed';
  stored: StoredVerification;
}

export class VerifyQueue {
  constructor(
    private readonly queue: Queue,
    readonly store: VerificationStore,
    private readonly jobOptions: JobsOptions,
  ) {}

  async submit(addresses: string[], how: { requestId?: string } = {}): Promise<string> {
    const id = newJobId();
    await this.store.save({ id, submittedAt: new Date().toISOString(), addresses });
    await this.queue.add(
      JOB.verify,
      { id, ...(how.requestId ? { requestId: how.requestId } : {}) },
      { ...this.jobOptions, jobId: id },
    );
    return id;
  }

  async status(id: string): Promise<VerificationStatus | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const stored = await this.store.get(id);
    if (!stored) return undefined;
    if (stored.result) return { id, state: 'completed', stored };
    const job = await this.queue.getJob(id);
    const raw = job ? await job.getState() : 'unknown';
    const state = raw === 'active' ? 'active' : raw === 'failed' || stored.error ? 'failed' : 'queued';
    return { id, state, stored };
  }
}
