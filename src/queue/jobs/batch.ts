import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { DomainEntry } from '../../input/list.js';
import { BULK_AREAS, bulkErrorRow, bulkRow } from '../../report/bulk.js';
import type { BulkRow } from '../../report/bulk.js';
import type { CheckOptions, Report } from '../../report/model.js';
import type { Batch, BatchStore } from '../../store/batches.js';
import { JOB, JOB_ID_PATTERN, newJobId } from '../names.js';
import { canonicalOptions, jobIdentity } from './check.js';
import type { CheckJobData } from './check.js';

/**
 * Batches of domain checks: one `check` job per domain (in the `checks` queue, at a lower
 * priority than interactive checks, so a batch of a thousand never holds up someone checking
 * one domain), a batch record (store/batches.ts) that each finished check writes its row into,
 * and a `batch-webhook` job queued once when the last row arrives. The checks share the SMTP
 * politeness limiter and the connection cache (with single flight) of every worker, so the
 * MX hosts the domains share are probed once within the cache's freshness and the
 * per-address limits hold across the batch and all workers.
 */

/** Batch checks wait behind interactive checks (no priority) and before monitor runs (10). */
export const BATCH_PRIORITY = 5;

export const BatchWebhookDataSchema = z.object({ batchId: z.string(), url: z.string() });
export type BatchWebhookData = z.infer<typeof BatchWebhookDataSchema>;

export interface BatchItemStatus {
  index: number;
  line?: number;
  domain: string;
  checkId: string;
  state: 'pending' | 'done' | 'failed';
  row?: BulkRow;
}

export interface BatchStatus {
  id: string;
  state: 'running' | 'completed';
  createdAt: string;
  completedAt?: string;
  total: number;
  done: number;
  counts: { pass: number; warn: number; fail: number; error: number };
  options: CheckOptions;
  webhook?: string;
  areas: readonly string[];
  items: BatchItemStatus[];
}

export class BatchQueue {
  constructor(
    private readonly queue: Queue,
    readonly store: BatchStore,
    private readonly jobOptions: JobsOptions,
  ) {}

  async submit(
    domains: readonly DomainEntry[],
    options: CheckOptions,
    how: { via: 'api' | 'web'; webhook?: string; requestId?: string },
  ): Promise<string> {
    const id = newJobId();
    const opts = canonicalOptions(options);
    const batch: Batch = {
      id,
      createdAt: new Date().toISOString(),
      options: opts,
      via: how.via,
      ...(how.webhook ? { webhook: how.webhook } : {}),
      items: domains.map((d) => ({
        line: d.line,
        input: d.input,
        ascii: d.domain.ascii,
        unicode: d.domain.unicode,
        checkId: newJobId(),
      })),
    };
    await this.store.create(batch);
    const submittedAt = batch.createdAt;
    const jobs = domains.map((d, index) => {
      const data: CheckJobData = {
        domain: { ...d.domain },
        options: opts,
        identity: jobIdentity(d.domain, opts),
        submittedAt,
        via: 'batch',
        batch: { id, index },
        ...(how.requestId ? { requestId: how.requestId } : {}),
      };
      return {
        name: JOB.check,
        data,
        opts: { ...this.jobOptions, jobId: batch.items[index]!.checkId, priority: BATCH_PRIORITY },
      };
    });
    for (let i = 0; i < jobs.length; i += 500) await this.queue.addBulk(jobs.slice(i, i + 500));
    return id;
  }

  async status(id: string): Promise<BatchStatus | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const p = await this.store.progress(id);
    if (!p) return undefined;
    const counts = { pass: 0, warn: 0, fail: 0, error: 0 };
    const items: BatchItemStatus[] = p.batch.items.map((item, index) => {
      const row = p.rows.get(index);
      if (row) counts[row.verdict]++;
      return {
        index,
        ...(item.line !== undefined ? { line: item.line } : {}),
        domain: item.unicode,
        checkId: item.checkId,
        state: row ? (row.verdict === 'error' && row.error ? 'failed' : 'done') : 'pending',
        ...(row ? { row } : {}),
      };
    });
    return {
      id,
      state: p.rows.size >= p.batch.items.length ? 'completed' : 'running',
      createdAt: p.batch.createdAt,
      ...(p.completedAt ? { completedAt: p.completedAt } : {}),
      total: p.batch.items.length,
      done: p.rows.size,
      counts,
      options: p.batch.options,
      ...(p.batch.webhook ? { webhook: p.batch.webhook } : {}),
      areas: BULK_AREAS,
      items,
    };
  }
}

/**
 * Records a finished check of a batch (or one that failed for good) and, when it was the last,
 * queues the completion webhook. Called by the check processor.
 */
export async function recordBatchRow(
  store: BatchStore,
  queue: Queue | undefined,
  batch: { id: string; index: number },
  outcome: { report: Report } | { error: string; domain: string },
  jobOptions: JobsOptions,
): Promise<boolean> {
  const b = await store.get(batch.id);
  if (!b) return false;
  const line = b.items[batch.index]?.line;
  const row =
    'report' in outcome ? bulkRow(outcome.report, line) : bulkErrorRow(outcome.domain, outcome.error, line);
  const last = await store.record(batch.id, batch.index, row, b.items.length);
  if (last && b.webhook && queue) {
    const data: BatchWebhookData = { batchId: b.id, url: b.webhook };
    await queue.add(JOB.batchWebhook, data, {
      ...jobOptions,
      attempts: 5,
      backoff: { type: 'exponential', delay: 30_000 },
      jobId: `${b.id}-webhook`,
    });
  }
  return last;
}
