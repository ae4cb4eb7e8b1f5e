import { availableParallelism } from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import type { Config } from '../config.js';
import { BounceQueue, QUEUE_BOUNCES, bounceJobOptions } from '../queue/bounce-jobs.js';
import { SHUTDOWN_REASON } from '../queue/check-processor.js';
import { RedisAddressLimiter } from '../store/address-limiter.js';
import { RedisConnectionCache } from '../store/connection-cache.js';
import { createRedis } from '../store/redis.js';
import { DiagnosisStore } from '../store/diagnoses.js';
import type { SmtpServices } from '../smtp/shared.js';
import { ProgressHub } from '../web/progress-hub.js';
import { createBounceWorker } from '../queue/bounce-worker.js';
import { BounceParsePool } from '../bounce/parse-pool.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * The bounce-diagnosis part of the service, built beside the checks: its queue and store for
 * the web, its worker where the process works, its progress stream where it serves pages,
 * and its metrics in the process's registry. startService calls this once and stops it with
 * the rest.
 */
export interface BounceService {
  queue: BounceQueue;
  store: DiagnosisStore;
  /** Progress of running diagnoses, for the pages' live updates (web processes). */
  events?: ProgressHub;
  worker?: Worker;
  /** Stops taking jobs; running ones may finish within `graceMs`, then go back to the queue. */
  stopWorker(graceMs: number): Promise<void>;
  /** Closes the queue and event connections (after the web server is closed). */
  close(): Promise<void>;
}

export interface BounceServiceOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** The fail-fast command connection the web uses. */
  command: Redis;
  /** Registers a connection so the service closes it at shutdown. */
  track: (r: Redis) => Redis;
  web: boolean;
  work: boolean;
}

export function startBounceService(o: BounceServiceOptions): BounceService {
  const { config, log } = o;
  const prefix = config.redis.prefix;
  const storeOptions = { prefix, retentionMs: config.bounce.retentionMs };
  const store = new DiagnosisStore(o.command, storeOptions);
  const bullQueue = new Queue(QUEUE_BOUNCES, { connection: o.command, prefix });
  bullQueue.on('error', (err) =>
    log.debug({ err: { message: err.message } }, 'bounce queue connection error'),
  );
  const queue = new BounceQueue(bullQueue, store, bounceJobOptions(config.queue.attempts));

  const outcomes = new Counter({
    name: 'mxdoctor_bounces_total',
    help: 'Bounce diagnoses finished by this process, by outcome: diagnosed or rejected (not a usable bounce).',
    labelNames: ['outcome'],
    registers: [o.metrics.registry],
  });
  const durations = new Histogram({
    name: 'mxdoctor_bounce_duration_seconds',
    help: 'Duration of one bounce diagnosis, follow-up checks included.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers: [o.metrics.registry],
  });

  let worker: Worker | undefined;
  let parsePool: BounceParsePool | undefined;
  if (o.work) {
    // Parsing runs in worker threads: the web and BullMQ's lock renewals share this event loop.
    parsePool = new BounceParsePool({
      size: Math.min(config.bounce.concurrency, availableParallelism()),
      maxBytes: config.bounce.maxBytes,
    });
    const pool = parsePool;
    // Worker-side state waits for Redis instead of failing fast: a blip must not fail diagnoses.
    const state = o.track(createRedis(config, 'blocking', 'bounce-worker-state'));
    // The same Redis-backed politeness limits and connection cache as the checks: the keys are
    // shared, so follow-ups and checks together stay within the per-address limits.
    const services: SmtpServices = {
      addressLimiter: new RedisAddressLimiter(state, {
        prefix,
        maxConcurrent: config.politeness.sessionsPerAddress,
        rate: config.politeness.ratePerAddress,
        log,
      }),
      connectionCache: new RedisConnectionCache(state, { prefix, maxTtlMs: config.smtp.cacheTtlMs }),
    };
    worker = createBounceWorker({
      config,
      log,
      connection: o.track(createRedis(config, 'blocking', 'bounce-worker')),
      store: new DiagnosisStore(state, storeOptions),
      services,
      parse: (input, signal) => pool.parse(input, signal),
      onResult: (r) => {
        outcomes.inc({ outcome: r.outcome });
        durations.observe(r.durationMs / 1000);
      },
    });
    log.info({ concurrency: config.bounce.concurrency }, `worker started on queue "${QUEUE_BOUNCES}"`);
  }

  let queueEvents: QueueEvents | undefined;
  let events: ProgressHub | undefined;
  if (o.web) {
    queueEvents = new QueueEvents(QUEUE_BOUNCES, {
      connection: o.track(createRedis(config, 'blocking', 'bounce-events')),
      prefix,
    });
    queueEvents.on('error', (err) =>
      log.debug({ err: { message: err.message } }, 'bounce queue events error'),
    );
    events = new ProgressHub(queueEvents);
  }

  return {
    queue,
    store,
    ...(events ? { events } : {}),
    ...(worker ? { worker } : {}),
    async stopWorker(graceMs) {
      events?.close();
      if (!worker) return;
      const closing = worker.close().finally(() => parsePool?.close());
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        closing.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        log.warn('shutdown grace period over: returning running bounce diagnoses to the queue');
        worker.cancelAllJobs(SHUTDOWN_REASON);
        await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000))]);
      }
    },
    async close() {
      await Promise.allSettled([queueEvents?.close(), bullQueue.close()]);
    },
  };
}
