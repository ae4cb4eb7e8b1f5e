import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Check, CheckServices } from '../checks/types.js';
import { QUEUE_CHECKS } from '../queue/names.js';
import { describeRedisError } from '../store/redis.js';
import type { Metrics } from '../metrics/metrics.js';
import { closeMailers } from '../monitor/email.js';
import type { MonitorRuntime } from '../queue/monitor-jobs.js';
import { MonitorScheduler } from '../queue/monitor-scheduler.js';
import { MonitorService } from '../queue/monitor-manager.js';
import { MonitorStore } from '../store/monitors.js';

/**
 * Builds monitoring for src/server/start.ts: the service the web and API use, and the
 * runtime the worker's job handlers use (with the start-up reconcile of job schedulers and
 * the periodic one).
 */
export const RECONCILE_EVERY_MS = 10 * 60_000;

export function createMonitorService(options: {
  config: Config;
  redis: Redis;
  queue: Queue;
  log: Logger;
  now?: () => Date;
}): MonitorService {
  const { config } = options;
  const store = new MonitorStore(options.redis, config.redis.prefix);
  const scheduler = new MonitorScheduler(options.queue, {
    minIntervalMs: config.monitor.minIntervalMs,
    cronJitterMs: config.monitor.cronJitterMs,
    log: options.log,
  });
  return new MonitorService(store, scheduler, options.queue, config, options.now);
}

export interface MonitorWorkerSide {
  runtime: MonitorRuntime;
  /** Reconciles the schedulers once and sets up the periodic reconcile. Never throws. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createMonitorRuntime(options: {
  config: Config;
  /** A connection that waits for Redis (worker side). */
  redis: Redis;
  log: Logger;
  checks?: readonly Check[];
  services: CheckServices;
  metrics?: Metrics;
  now?: () => Date;
}): MonitorWorkerSide {
  const { config, log } = options;
  const queue = new Queue(QUEUE_CHECKS, { connection: options.redis, prefix: config.redis.prefix });
  queue.on('error', (err) => log.debug({ err: { message: err.message } }, 'monitor queue connection error'));
  const store = new MonitorStore(options.redis, config.redis.prefix);
  const scheduler = new MonitorScheduler(queue, {
    minIntervalMs: config.monitor.minIntervalMs,
    cronJitterMs: config.monitor.cronJitterMs,
    log,
  });
  const runtime: MonitorRuntime = {
    config,
    store,
    scheduler,
    queue,
    now: options.now ?? (() => new Date()),
    log: log.child({ component: 'monitor' }),
    ...(options.checks ? { checks: options.checks } : {}),
    services: options.services,
    ...(options.metrics ? { onRun: (m, record) => options.metrics!.recordMonitorRun(m, record) } : {}),
  };
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const startUp = async (): Promise<void> => {
    try {
      const r = await scheduler.reconcile(store);
      const changed = r.created.length + r.updated.length + r.removed.length;
      log[changed ? 'warn' : 'info'](
        { created: r.created, updated: r.updated, removed: r.removed, unchanged: r.unchanged },
        changed
          ? 'monitor schedulers repaired at start-up'
          : `monitor schedulers in step (${r.unchanged} active)`,
      );
      await scheduler.ensureReconcileSchedule(RECONCILE_EVERY_MS);
    } catch (err) {
      if (closed) return;
      log.error(
        { err: { message: describeRedisError(err) } },
        'could not reconcile monitor schedulers at start-up; trying again in 30 s',
      );
      retry = setTimeout(() => void startUp(), 30_000);
      retry.unref();
    }
  };
  return {
    runtime,
    start: startUp,
    async close() {
      closed = true;
      clearTimeout(retry);
      closeMailers();
      await queue.close().catch(() => {});
    },
  };
}
