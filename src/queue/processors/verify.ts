import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { SmtpServices } from '../../smtp/shared.js';
import type { VerificationStore } from '../../store/verifications.js';
import type { Verification } from '../../verify/model.js';
import { verifyAddresses, verifyOptions } from '../../verify/run.js';
import { VerifyJobDataSchema, VerifyRetryDataSchema } from '../jobs/verify.js';
import type { VerifyRetryData } from '../jobs/verify.js';
import { JOB } from '../names.js';
import { parseJobData } from './shared.js';

/**
 * The `verify` and `verify-retry` jobs: verify the addresses of a stored request with the
 * workers' shared SMTP services (the Redis address limiter holds the per-address limits across
 * all workers), store the result, and schedule one delayed re-ask of the greylisted addresses.
 */
export interface VerifyProcessorDeps {
  config: Config;
  log: Logger;
  store: VerificationStore;
  services: SmtpServices;
  queue?: Queue;
  jobOptions?: JobsOptions;
}

function greylisted(v: Verification): string[] {
  return v.results.filter((r) => r.reason === 'greylisted').map((r) => r.input);
}

export async function processVerify(
  job: Job,
  signal: AbortSignal,
  deps: VerifyProcessorDeps,
): Promise<{ id: string }> {
  const data = parseJobData(VerifyJobDataSchema, job.data);
  const stored = await deps.store.get(data.id);
  if (!stored) return { id: data.id };
  const log = deps.log.child({ jobId: data.id });
  log.info({ addresses: stored.addresses.length }, 'verification started');
  const result = await verifyAddresses(stored.addresses, verifyOptions(deps.config, { greylistRetryMs: 0 }), {
    config: deps.config,
    services: deps.services,
    signal,
    onWarning: (m) => log.warn(m),
  });
  const again = greylisted(result);
  const delay = deps.config.queue.reprobeDelayMs;
  const next = { ...stored, result };
  if (again.length > 0 && delay > 0 && deps.queue) {
    next.retry = { scheduledAt: new Date(Date.now() + delay).toISOString(), addresses: again };
    const retry: VerifyRetryData = { id: data.id, addresses: again };
    await deps.queue.add(JOB.verifyRetry, retry, { ...deps.jobOptions, delay, jobId: `${data.id}-retry` });
  }
  await deps.store.save(next);
  log.info({ counts: result.counts, retry: again.length }, 'verification finished');
  return { id: data.id };
}

export async function processVerifyRetry(
  job: Job,
  signal: AbortSignal,
  deps: VerifyProcessorDeps,
): Promise<{ id: string }> {
  const data = parseJobData(VerifyRetryDataSchema, job.data);
  const stored = await deps.store.get(data.id);
  if (!stored?.result) return { id: data.id };
  const again = await verifyAddresses(data.addresses, verifyOptions(deps.config, { greylistRetryMs: 0 }), {
    config: deps.config,
    services: deps.services,
    signal,
  });
  const byInput = new Map(again.results.map((r) => [r.input, { ...r, retried: true }]));
  const results = stored.result.results.map((r) => byInput.get(r.input) ?? r);
  const counts = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
  for (const r of results) counts[r.verdict]++;
  const { retry: _done, ...rest } = stored;
  void _done;
  await deps.store.save({
    ...rest,
    result: {
      ...stored.result,
      results,
      counts,
      finishedAt: again.finishedAt,
      mx: [...stored.result.mx, ...again.mx],
    },
  });
  deps.log.info({ jobId: data.id, retried: data.addresses.length }, 'greylisted addresses asked again');
  return { id: data.id };
}
