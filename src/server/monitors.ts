import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Check, CheckServices } from '../checks/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { closeMailers } from '../monitor/email.js';
import type { Monitor } from '../monitor/model.js';
import type { MonitorRuntime } from '../queue/jobs/monitor.js';
import { MonitorManager } from '../queue/monitor-manager.js';
import { MonitorScheduler } from '../queue/monitor-scheduler.js';
import { describeRedisError } from '../store/redis.js';
import { MonitorStore } from '../store/monitors.js';
import type { LastRun, RunRecord } from '../store/monitors.js';

/**
 * Builds monitoring for src/server/start.ts: the manager the web and API use (with the
 * per-monitor gauges of web processes), and the runtime the worker's monitor jobs use (with
 * the start-up reconcile of job schedulers and the periodic one).
 */
export const RECONCILE_EVERY_MS = 10 * 60_000;

function schedulerOf(queue: Queue, config: Config, log: Logger): MonitorScheduler {
  return new MonitorScheduler(queue, {
    minIntervalMs: config.monitor.minIntervalMs,
    cronJitterMs: config.monitor.cronJitterMs,
    log,
  });
}

export function createMonitorManager(options: {
  config: Config;
  redis: Redis;
  queue: Queue;
  log: Logger;
  now?: () => Date;
}): MonitorManager {
  const { config } = options;
  const store = new MonitorStore(options.redis, config.redis.prefix);
  const scheduler = schedulerOf(options.queue, config, options.log);
  return new MonitorManager(store, scheduler, options.queue, config, options.now);
}

export interface MonitorWorkerSide {
  runtime: MonitorRuntime;
  /** Reconciles the schedulers once and sets up the periodic reconcile. Never throws. */
  start(): Promise<void>;
  close(): void;
}

export function createMonitorRuntime(options: {
  config: Config;
  /** A connection that waits for Redis (worker side). */
  redis: Redis;
  /** The checks queue, on a connection that waits for Redis. */
  queue: Queue;
  log: Logger;
  checks?: readonly Check[];
  services: CheckServices;
  onRun?: (monitor: Monitor, record: RunRecord) => void;
  now?: () => Date;
}): MonitorWorkerSide {
  const { config, log, queue } = options;
  const store = new MonitorStore(options.redis, config.redis.prefix);
  const scheduler = schedulerOf(queue, config, log);
  const runtime: MonitorRuntime = {
    config,
    store,
    scheduler,
    queue,
    now: options.now ?? (() => new Date()),
    log: log.child({ component: 'monitor' }),
    ...(options.checks ? { checks: options.checks } : {}),
    services: options.services,
    ...(options.onRun ? { onRun: options.onRun } : {}),
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
    close() {
      closed = true;
      clearTimeout(retry);
      closeMailers();
    },
  };
}

/**
 * Per-monitor gauges, read from Redis at scrape time (web processes): the last verdict
 * (0 pass, 1 warn, 2 fail), days until the earliest MX certificate expires, the age of the
 * last run, and whether the monitor is paused. Labels: monitor id and domain.
 */
export function watchMonitors(
  metrics: Metrics,
  source: { list(): Promise<Monitor[]>; lastRuns(): Promise<Record<string, LastRun>> },
): void {
  const state = { monitors: [] as Monitor[], last: {} as Record<string, LastRun>, at: 0 };
  // One Redis read per scrape, shared by the gauges.
  const load = async (): Promise<void> => {
    if (Date.now() - state.at < 1000) return;
    const [monitors, last] = await Promise.all([source.list(), source.lastRuns()]);
    Object.assign(state, { monitors, last, at: Date.now() });
  };
  const VERDICT = { pass: 0, warn: 1, fail: 2 } as const;
  const gauge = (
    name: string,
    help: string,
    value: (m: Monitor, last: LastRun | undefined) => number | undefined,
  ): void => {
    metrics.gauge({
      name,
      help,
      labelNames: ['monitor', 'domain'],
      async collect(g) {
        await load();
        g.reset();
        for (const m of state.monitors) {
          const v = value(m, state.last[m.id]);
          if (v !== undefined) g.set({ monitor: m.id, domain: m.domain.ascii }, v);
        }
      },
    });
  };
  gauge('mxdoctor_monitor_verdict', 'Verdict of the monitor’s last run: 0 pass, 1 warn, 2 fail.', (_m, l) =>
    l ? VERDICT[l.verdict] : undefined,
  );
  gauge(
    'mxdoctor_monitor_certificate_expiry_days',
    'Days until the earliest leaf certificate of the monitored MX addresses expires (last run).',
    (_m, l) => l?.certDays,
  );
  gauge('mxdoctor_monitor_last_run_age_seconds', 'Seconds since the monitor’s last run started.', (_m, l) =>
    l ? Math.max(0, (Date.now() - Date.parse(l.at)) / 1000) : undefined,
  );
  gauge('mxdoctor_monitor_paused', '1 when the monitor is paused.', (m) => (m.paused ? 1 : 0));
}
