import { createHmac } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { postWebhook } from '../../monitor/webhook.js';
import { BatchWebhookDataSchema } from '../jobs/batch.js';
import type { BatchQueue } from '../jobs/batch.js';
import { parseJobData } from './shared.js';

/**
 * The `batch-webhook` job: POSTs the summary of a finished batch to the URL given with it,
 * under the same address rules as alert webhooks (monitor/webhook.ts). A retryable failure
 * (network, 5xx, 429) throws, so BullMQ tries again with backoff; anything else is logged.
 * Signed with HMAC-SHA256 of the body under MXDOCTOR_SECRET (X-Mxdoctor-Signature) when set.
 */
export interface BatchWebhookDeps {
  config: Config;
  log: Logger;
  batches: BatchQueue;
}

export async function processBatchWebhook(
  job: Job,
  signal: AbortSignal,
  deps: BatchWebhookDeps,
): Promise<void> {
  const data = parseJobData(BatchWebhookDataSchema, job.data);
  const status = await deps.batches.status(data.batchId);
  if (!status) return;
  const base = deps.config.alert.publicUrl.replace(/\/$/, '');
  const body = JSON.stringify({
    event: 'batch.completed',
    id: status.id,
    total: status.total,
    counts: status.counts,
    completedAt: status.completedAt ?? new Date().toISOString(),
    links: {
      self: `${base}/api/v1/batches/${status.id}`,
      jsonl: `${base}/api/v1/batches/${status.id}/results?format=jsonl`,
      csv: `${base}/api/v1/batches/${status.id}/results?format=csv`,
    },
  });
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const secret = deps.config.auth.secret;
  if (secret)
    headers['X-Mxdoctor-Signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const result = await postWebhook({ url: data.url, body, headers, signal }, deps.config);
  const log = deps.log.child({ batchId: data.batchId });
  if (result.ok) log.info({ status: result.status, ms: result.ms }, 'batch webhook delivered');
  else if (result.retryable) throw new Error(`batch webhook not delivered: ${result.detail}`);
  else log.warn({ status: result.status, detail: result.detail }, 'batch webhook refused; not retried');
}
