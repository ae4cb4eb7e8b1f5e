import type { Job, JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { ProgressUpdate } from '../../checks/types.js';
import { newTestToken, testAddress } from '../../inbound/address.js';
import type { Delivery } from '../../inbound/model.js';
import type { InboundReport } from '../../inbound/report.js';
import type { DeliverOutcome, TestLookup } from '../../inbound/receiver.js';
import type { InboundTestStore, StoredInboundTest } from '../../store/inbound-tests.js';
import { JOB, JOB_ID_PATTERN, newJobId } from '../names.js';

/**
 * Inbound tests as the web and the receiver see them: open a test (a one-time address),
 * look an address up, accept its message and queue its analysis (the `inbound-analysis` job
 * in the `inbound` queue, job id = test id), and tell a test's status. The message waits in
 * the store, never in BullMQ's job data. The worker side is src/queue/processors/inbound.ts.
 */
export const InboundJobDataSchema = z.object({
  receivedAt: z.string(),
  /** The sending IP (for logs). */
  client: z.string(),
  bytes: z.number().int(),
});
export type InboundJobData = z.infer<typeof InboundJobDataSchema>;

export interface InboundJobResult {
  verdict: InboundReport['verdict'];
  durationMs: number;
}

export type InboundJob = Job<InboundJobData, InboundJobResult, typeof JOB.inboundAnalysis>;

export type InboundStatusName = 'waiting' | 'received' | 'analysed' | 'expired';

export interface InboundStatus {
  id: string;
  status: InboundStatusName;
  address: string;
  createdAt: string;
  expiresAt: string;
  receivedAt?: string;
  analysedAt?: string;
  progress?: ProgressUpdate;
  error?: string;
  /** The sending side, as soon as the message is in. */
  delivery?: Delivery;
  report?: InboundReport;
}

export function inboundJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    // The report lives in the test; the job is only needed while it runs.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600, count: 10_000 },
  };
}

export class InboundTests {
  constructor(
    readonly queue: Queue,
    readonly store: InboundTestStore,
    readonly domain: string,
    private readonly jobOptions: JobsOptions,
  ) {}

  /** A new test with its one-time address. */
  async create(now = new Date()): Promise<StoredInboundTest> {
    const token = newTestToken();
    return this.store.create(newJobId(), token, testAddress(token, this.domain), now);
  }

  lookup(token: string): Promise<TestLookup> {
    return this.store.lookup(token);
  }

  /** The receiver has a whole message for `token`: accept it (once) and queue its analysis. */
  async deliver(token: string, delivery: Delivery, message: Buffer): Promise<DeliverOutcome> {
    const claimed = await this.store.claim(token, delivery, message);
    if (!claimed.ok) return claimed;
    const data: InboundJobData = {
      receivedAt: delivery.envelope.receivedAt,
      client: delivery.connection.remoteAddress,
      bytes: message.length,
    };
    try {
      await this.queue.add(JOB.inboundAnalysis, data, { ...this.jobOptions, jobId: claimed.id });
    } catch (err) {
      // The sender is told to try again (451), so the address must take the message then.
      const test = await this.store.get(claimed.id).catch(() => undefined);
      if (test) await this.store.unclaim(test).catch(() => {});
      throw err;
    }
    return claimed;
  }

  async status(id: string, now = new Date()): Promise<InboundStatus | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const test = await this.store.get(id);
    if (!test) return undefined;
    const expired = test.state === 'waiting' && Date.parse(test.expiresAt) <= now.getTime();
    const status: InboundStatus = {
      id,
      status: expired ? 'expired' : test.state,
      address: test.address,
      createdAt: test.createdAt,
      expiresAt: test.expiresAt,
      ...(test.receivedAt ? { receivedAt: test.receivedAt } : {}),
      ...(test.analysedAt ? { analysedAt: test.analysedAt } : {}),
      ...(test.delivery ? { delivery: test.delivery } : {}),
      ...(test.report ? { report: test.report } : {}),
      ...(test.error ? { error: test.error } : {}),
    };
    if (test.state === 'received') {
      const job = (await this.queue.getJob(id)) as InboundJob | undefined;
      const progress = job?.progress as ProgressUpdate | number | undefined;
      if (progress && typeof progress === 'object') status.progress = progress;
      if (job && !status.error && (await job.getState()) === 'failed')
        status.error = job.failedReason || 'the analysis failed';
    }
    return status;
  }
}
