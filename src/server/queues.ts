import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { BounceQueue, bounceJobOptions } from '../queue/jobs/bounce.js';
import { InboundTests, inboundJobOptions } from '../queue/jobs/inbound.js';
import { InboundTestStore } from '../store/inbound-tests.js';
import { CheckQueue, Dedupe, checkJobOptions } from '../queue/jobs/check.js';
import type { MonitorManager } from '../queue/monitor-manager.js';
import { QUEUE_BOUNCES, QUEUE_CHECKS, QUEUE_INBOUND } from '../queue/names.js';
import { DiagnosisStore } from '../store/diagnoses.js';
import { ReportStore } from '../store/reports.js';
import { BatchQueue } from '../queue/jobs/batch.js';
import { VerifyQueue } from '../queue/jobs/verify.js';
import { BatchStore } from '../store/batches.js';
import { VerificationStore } from '../store/verifications.js';
import { createMonitorManager } from './monitors.js';

/**
 * Step 2 of starting the service: the stores and the queues, as every process has them on
 * its fail-fast command connection: what the web submits to and reads from, and what the
 * health endpoints and metrics look at. The same store options serve the workers' stores
 * (src/server/workers.ts) on their own connection.
 */
export interface Queues {
  /** BullMQ's queue `checks` (producers, dashboard, readiness, metrics). */
  checksQueue: Queue;
  checks: CheckQueue;
  reports: ReportStore;
  bounces: BounceQueue;
  /** Inbound tests: their addresses, messages, analyses and reports. */
  inbound: InboundTests;
  diagnoses: DiagnosisStore;
  monitors: MonitorManager;
  batches: BatchQueue;
  verifications: VerifyQueue;
  close(): Promise<void>;
}

/** Batches and verifications are kept as long as reports. */
export function batchStoreOptions(config: Config) {
  return { prefix: config.redis.prefix, retentionMs: config.storage.retentionMs };
}

export function reportStoreOptions(config: Config) {
  return {
    prefix: config.redis.prefix,
    retentionMs: config.storage.retentionMs,
    domainHistory: config.storage.domainHistory,
  };
}

export function dedupeOptions(config: Config) {
  return {
    prefix: config.redis.prefix,
    windowMs: config.queue.dedupeMs,
    deadlineMs: config.check.deadlineMs,
  };
}

export function inboundStoreOptions(config: Config) {
  return {
    prefix: config.redis.prefix,
    testTtlMs: config.inbound.testTtlMs,
    retentionMs: config.inbound.retentionMs,
  };
}

export function diagnosisStoreOptions(config: Config) {
  return { prefix: config.redis.prefix, retentionMs: config.bounce.retentionMs };
}

/** Bound of one queue operation of the web (a few Redis commands, each bounded by the command timeout). */
function opTimeoutMs(config: Config): number {
  return Math.max(2000, 2 * config.redis.commandTimeoutMs);
}

/** A BullMQ queue handle whose connection errors go to the debug log (RedisHealth reports outages). */
export function openQueue(name: string, connection: Redis, config: Config, log: Logger): Queue {
  const queue = new Queue(name, { connection, prefix: config.redis.prefix });
  queue.on('error', (err) => log.debug({ err: { message: err.message } }, `${name} queue connection error`));
  return queue;
}

export function openQueues(
  config: Config,
  log: Logger,
  command: Redis,
  options: { now?: () => Date } = {},
): Queues {
  const reports = new ReportStore(command, reportStoreOptions(config));
  const checksQueue = openQueue(QUEUE_CHECKS, command, config, log);
  const checks = new CheckQueue(
    checksQueue,
    reports,
    new Dedupe(command, dedupeOptions(config)),
    checkJobOptions(config.queue.attempts),
    opTimeoutMs(config),
  );
  const diagnoses = new DiagnosisStore(command, diagnosisStoreOptions(config));
  const inboundQueue = openQueue(QUEUE_INBOUND, command, config, log);
  const inbound = new InboundTests(
    inboundQueue,
    new InboundTestStore(command, inboundStoreOptions(config)),
    config.inbound.domain,
    inboundJobOptions(config.queue.attempts),
  );
  const bouncesQueue = openQueue(QUEUE_BOUNCES, command, config, log);
  const bounces = new BounceQueue(
    bouncesQueue,
    diagnoses,
    bounceJobOptions(config.queue.attempts),
    opTimeoutMs(config),
  );
  const monitors = createMonitorManager({
    config,
    redis: command,
    queue: checksQueue,
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  const batches = new BatchQueue(
    checksQueue,
    new BatchStore(command, batchStoreOptions(config)),
    checkJobOptions(config.queue.attempts),
  );
  const verifications = new VerifyQueue(
    checksQueue,
    new VerificationStore(command, batchStoreOptions(config)),
    checkJobOptions(config.queue.attempts),
  );
  return {
    checksQueue,
    checks,
    reports,
    bounces,
    inbound,
    diagnoses,
    monitors,
    batches,
    verifications,
    async close() {
      await Promise.allSettled([checksQueue.close(), bouncesQueue.close(), inboundQueue.close()]);
    },
  };
}
