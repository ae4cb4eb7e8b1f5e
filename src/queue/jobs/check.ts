import { createHash } from 'node:crypto';
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { NormalizedDomain } from '../../input/domain.js';
import { CheckOptionsSchema } from '../../report/model.js';
import type { CheckOptions } from '../../report/model.js';
import type { ProgressUpdate } from '../../checks/types.js';
import { dedupeScope } from '../../report/access.js';
import { withRedisTimeout } from '../../store/redis.js';
import type { ReportStore } from '../../store/reports.js';
import { JOB, JOB_ID_PATTERN, newJobId } from '../names.js';

/**
 * The `check` job (queue `checks`): what it carries, the dedupe of identical requests, and
 * CheckQueue, the web's one entry to submit checks and read their state. The worker side is
 * src/queue/processors/check.ts.
 */
/** What a `check` job carries: the normalised domain and the options, plus where it came from. */
export const CheckJobDataSchema = z.object({
  domain: z.object({
    input: z.string(),
    ascii: z.string(),
    unicode: z.string(),
    localPart: z.string().optional(),
  }),
  options: CheckOptionsSchema,
  /** Hash of domain + options: identical requests share it (dedupe). */
  identity: z.string(),
  submittedAt: z.string(),
  via: z.enum(['web', 'api', 'rerun', 'bench', 'batch', 'inbound']),
  /** Set for a check of a batch: its batch and its position there (src/queue/jobs/batch.ts). */
  batch: z.object({ id: z.string(), index: z.number().int().min(0) }).optional(),
  /** The HTTP request that queued it, so worker log lines can be joined with the request's. */
  requestId: z.string().optional(),
  /** Who asked (src/report/access.ts); kept with the report. Absent: anonymous. */
  owner: z.string().max(200).optional(),
});
export type CheckJobData = z.infer<typeof CheckJobDataSchema>;

/** What a finished `check` job returns (small: the report itself is in the report store). */
export interface CheckJobResult {
  reportId: string;
  verdict: 'pass' | 'warn' | 'fail';
  durationMs: number;
  /** false when this run found the report already stored (a re-run after a stall). */
  stored: boolean;
}

export type CheckJob = Job<CheckJobData, CheckJobResult, typeof JOB.check>;

/** Options in a canonical form: lists lower-cased, de-duplicated and sorted. */
export function canonicalOptions(options: CheckOptions): CheckOptions {
  const list = (xs: readonly string[]) => [...new Set(xs.map((x) => x.trim().toLowerCase()))].sort();
  const out: CheckOptions = {
    verify: list(options.verify),
    dkimSelectors: list(options.dkimSelectors),
    smtp: options.smtp,
    greylistRetryMs: options.greylistRetryMs,
  };
  if (options.dnsbls !== undefined) out.dnsbls = list(options.dnsbls);
  if (options.tls === 'deep') out.tls = 'deep';
  if (options.submission) out.submission = true;
  return out;
}

export function jobIdentity(domain: NormalizedDomain, options: CheckOptions, owner?: string): string {
  const o = canonicalOptions(options);
  // A token's checks and checks that verify addresses are shared only with their owner.
  const scope = dedupeScope(owner, o.verify.length > 0);
  return createHash('sha256')
    .update(
      JSON.stringify([
        domain.ascii,
        o.verify,
        o.dkimSelectors,
        o.smtp,
        o.greylistRetryMs,
        o.dnsbls ?? null,
        // Only when set, so that the identity of a plain check is what it always was.
        ...(o.tls ? [`tls:${o.tls}`] : []),
        ...(o.submission ? ['submission'] : []),
        ...(scope !== undefined ? [scope] : []),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

// KEYS: dedupe key. ARGV: candidate id, ttl. Returns the id that owns the key now.
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;
// KEYS: dedupe key. ARGV: id, ttl (0 = delete). Acts only while `id` still owns the key.
const SETTLE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * Dedupe of identical requests: a key per identity names the job that answers it, while
 * that job is queued or running (the key lives until the job can no longer be waiting:
 * window + deadline + a margin) and for `windowMs` after it finished. A failed job gives
 * its key up at once, so asking again starts a new check.
 */
export class Dedupe {
  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; windowMs: number; deadlineMs: number },
  ) {}

  get enabled(): boolean {
    return this.options.windowMs > 0;
  }

  private key(identity: string): string {
    return `${this.options.prefix}:dedupe:${identity}`;
  }

  /** Makes `candidate` the owner unless another job owns the identity; returns the owner. */
  async claim(identity: string, candidate: string): Promise<string> {
    const ttl = this.options.windowMs + this.options.deadlineMs + 10 * 60_000;
    return (await this.redis.eval(CLAIM, 1, this.key(identity), candidate, String(ttl))) as string;
  }

  /** The job finished with a report: identical requests get it for the window from now. */
  async finished(identity: string, id: string): Promise<void> {
    await this.redis.eval(SETTLE, 1, this.key(identity), id, String(this.options.windowMs));
  }

  /** The job failed (or was never queued): forget it. */
  async release(identity: string, id: string): Promise<void> {
    await this.redis.eval(SETTLE, 1, this.key(identity), id, '0');
  }
}

export type CheckState = 'queued' | 'active' | 'completed' | 'failed';

export interface CheckStatus {
  id: string;
  state: CheckState;
  domain: { ascii: string; unicode: string; input: string };
  options: CheckOptions;
  submittedAt?: string;
  progress?: ProgressUpdate;
  /** Why it failed (failed jobs keep their error). */
  error?: string;
  attemptsMade?: number;
  /** Who asked for it (src/report/access.ts); absent: anonymous. */
  owner?: string;
}

export interface SubmitResult {
  id: string;
  /** true when an identical running or just-finished check was reused. */
  deduplicated: boolean;
}

export interface SubmitOptions {
  via: CheckJobData['via'];
  requestId?: string;
  /** Skip dedupe (the "re-run" button). */
  fresh?: boolean;
  /** Who asks (src/report/access.ts); absent: anonymous. */
  owner?: string;
}

/** Queues checks (with dedupe) and tells their state; the web's one entry to the queue. */
export class CheckQueue {
  constructor(
    readonly queue: Queue,
    private readonly store: ReportStore,
    private readonly dedupe: Dedupe,
    private readonly jobOptions: JobsOptions,
    /** Bound of one BullMQ operation (several Redis commands), so a stuck Redis cannot hold a request. */
    private readonly opTimeoutMs = 5000,
  ) {}

  private bounded<T>(op: Promise<T>, what: string): Promise<T> {
    return withRedisTimeout(op, this.opTimeoutMs, what);
  }

  async submit(domain: NormalizedDomain, options: CheckOptions, how: SubmitOptions): Promise<SubmitResult> {
    const opts = canonicalOptions(options);
    const identity = jobIdentity(domain, opts, how.owner);
    const id = newJobId();
    const data: CheckJobData = {
      domain: { ...domain },
      options: opts,
      identity,
      submittedAt: new Date().toISOString(),
      via: how.via,
    };
    if (how.requestId) data.requestId = how.requestId;
    if (how.owner !== undefined && how.owner !== 'anonymous') data.owner = how.owner;
    if (this.dedupe.enabled && !how.fresh) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const owner = await this.dedupe.claim(identity, id);
        if (owner === id) break;
        if (await this.usable(owner)) return { id: owner, deduplicated: true };
        await this.dedupe.release(identity, owner);
      }
    }
    try {
      await this.bounded(
        this.queue.add(JOB.check, data, { ...this.jobOptions, jobId: id }),
        'queueing a check',
      );
    } catch (err) {
      await this.dedupe.release(identity, id).catch(() => {});
      throw err;
    }
    return { id, deduplicated: false };
  }

  /** An owner of a dedupe key is reusable while it is queued, running or has a report. */
  private async usable(id: string): Promise<boolean> {
    const job = await this.bounded(this.queue.getJob(id), 'reading a job');
    if (job) return (await this.bounded(job.getState(), 'reading a job')) !== 'failed';
    return this.store.has(id);
  }

  async status(id: string): Promise<CheckStatus | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const job = (await this.bounded(this.queue.getJob(id), 'reading a job')) as CheckJob | undefined;
    if (!job) {
      const meta = await this.store.getMeta(id);
      if (!meta) return undefined;
      return {
        id,
        state: 'completed',
        domain: { ...meta.domain, input: meta.domain.unicode },
        options: meta.options,
        ...(meta.owner !== undefined ? { owner: meta.owner } : {}),
      };
    }
    const raw = await this.bounded(job.getState(), 'reading a job');
    const state: CheckState =
      raw === 'active'
        ? 'active'
        : raw === 'completed'
          ? 'completed'
          : raw === 'failed'
            ? 'failed'
            : 'queued';
    const status: CheckStatus = {
      id,
      state,
      domain: job.data.domain,
      options: job.data.options,
      submittedAt: job.data.submittedAt,
      attemptsMade: job.attemptsMade,
      ...(typeof job.data.owner === 'string' ? { owner: job.data.owner } : {}),
    };
    const progress = job.progress as ProgressUpdate | number | undefined;
    if (progress && typeof progress === 'object') status.progress = progress;
    if (state === 'failed') status.error = job.failedReason || 'the check failed';
    // A completed job whose report has expired is gone for the user.
    if (state === 'completed' && !(await this.store.has(id))) return undefined;
    return status;
  }
}

/** Options of `check` and `reprobe` jobs: retries for infrastructure failures, kept for a while. */
export function checkJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}
