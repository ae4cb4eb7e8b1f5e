import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { BounceParsePool } from '../bounce/parse-pool.js';
import type { Config } from '../config/index.js';
import type { Check, CheckServices } from '../checks/types.js';
import type { SmtpSharing } from '../smtp/sharing.js';
import { CheckQueue, checkJobOptions, Dedupe } from '../queue/jobs/check.js';
import type { JobMetrics } from '../queue/metrics.js';
import { QUEUE_CHECKS } from '../queue/names.js';
import { startWorkers } from '../queue/workers.js';
import type { Workers } from '../queue/workers.js';
import { RedisAddressLimiter } from '../store/address-limiter.js';
import { RedisConnectionCache } from '../store/connection-cache.js';
import { DiagnosisStore } from '../store/diagnoses.js';
import { InboundTestStore } from '../store/inbound-tests.js';
import { ReportStore } from '../store/reports.js';
import type { Connections } from './connections.js';
import { createMonitorRuntime } from './monitors.js';
import {
  batchStoreOptions,
  dedupeOptions,
  diagnosisStoreOptions,
  inboundStoreOptions,
  openQueue,
  reportStoreOptions,
} from './queues.js';
import { BatchQueue } from '../queue/jobs/batch.js';
import { BatchStore } from '../store/batches.js';
import { VerificationStore } from '../store/verifications.js';

/**
 * Step 4 of starting the service (processes that work): the workers of every queue
 * (src/queue/workers.ts) with what they need. Worker-side state waits for Redis instead of
 * failing fast, so a blip does not fail checks: the stores, the follow-up jobs they queue
 * (re-probes, monitor runs, alert deliveries) and the SMTP politeness limiter and connection
 * cache, shared by checks, monitor runs and bounce follow-ups (their keys are shared across
 * processes anyway, so together they stay within the per-address limits).
 */
export interface WorkerSide {
  workers: Workers;
  /** Stops taking jobs; running ones may finish within `graceMs`, then go back to the queue. */
  stop(graceMs: number): Promise<void>;
  /** After stop(): closes what the workers used. */
  close(): Promise<void>;
}

export async function startWorkerSide(o: {
  config: Config;
  log: Logger;
  connections: Connections;
  checks: readonly Check[];
  metrics: JobMetrics;
  now?: () => Date;
}): Promise<WorkerSide> {
  const { config, log, connections, metrics } = o;
  const prefix = config.redis.prefix;
  const state = connections.blocking('worker-state');
  const sharing: SmtpSharing = {
    addressLimiter: new RedisAddressLimiter(state, {
      prefix,
      maxConcurrent: config.politeness.sessionsPerAddress,
      rate: config.politeness.ratePerAddress,
      // Waiters for a busy address wake when any process releases a slot of it.
      subscriber: connections.blocking('smtp-slot-releases'),
      log,
    }),
    connectionCache: new RedisConnectionCache(state, { prefix, maxTtlMs: config.smtp.cacheTtlMs }),
  };
  const services: CheckServices = { smtp: sharing };
  const queue = openQueue(QUEUE_CHECKS, state, config, log);
  // Bounce parsing runs in worker threads: the web and BullMQ's lock renewals share this
  // event loop, and one pathological message must not stop them (issue 13 §1).
  const parsePool = new BounceParsePool({
    size: Math.min(config.bounce.concurrency, availableParallelism()),
    maxBytes: config.bounce.maxBytes,
  });
  const monitors = createMonitorRuntime({
    config,
    redis: state,
    queue,
    log,
    checks: o.checks,
    services,
    onRun: (_m, record) => metrics.onMonitorRun(record),
    ...(o.now ? { now: o.now } : {}),
  });
  const batchStore = new BatchStore(state, batchStoreOptions(config));
  const workers = startWorkers({
    config,
    log,
    connection: (name) => connections.blocking(name),
    check: {
      config,
      checks: o.checks,
      log,
      store: new ReportStore(state, reportStoreOptions(config)),
      dedupe: new Dedupe(state, dedupeOptions(config)),
      queue,
      jobOptions: checkJobOptions(config.queue.attempts),
      services,
      onReport: (r) => metrics.onReport(r),
      onFailed: () => metrics.onCheckFailed(),
      batches: batchStore,
    },
    batchWebhook: {
      config,
      log,
      batches: new BatchQueue(queue, batchStore, checkJobOptions(config.queue.attempts)),
    },
    verify: {
      config,
      log,
      store: new VerificationStore(state, batchStoreOptions(config)),
      services: sharing,
      queue,
      jobOptions: checkJobOptions(config.queue.attempts),
    },
    monitors: monitors.runtime,
    bounce: {
      config,
      log,
      store: new DiagnosisStore(state, diagnosisStoreOptions(config)),
      services: sharing,
      parse: (input, signal) => parsePool.parse(input, signal),
      onResult: (r) => metrics.onBounce(r),
    },
    inbound: {
      config,
      log,
      store: new InboundTestStore(state, inboundStoreOptions(config)),
      // The From domain's check, queued like one from the web (with the same dedupe).
      checks: new CheckQueue(
        queue,
        new ReportStore(state, reportStoreOptions(config)),
        new Dedupe(state, dedupeOptions(config)),
        checkJobOptions(config.queue.attempts),
      ),
    },
  });
  // Normally done in milliseconds; with Redis away it retries in the background.
  await Promise.race([monitors.start(), new Promise((r) => setTimeout(r, 5000).unref())]);
  return {
    workers,
    stop: (graceMs) => workers.close(graceMs).finally(() => parsePool.close()),
    async close() {
      monitors.close();
      await queue.close().catch(() => {});
    },
  };
}
