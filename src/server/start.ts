import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { Worker } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { redactRedisUrl } from '../config.js';
import { ALL_CHECKS } from '../checks/registry.js';
import type { Check, CheckServices } from '../checks/types.js';
import { CheckQueue, Dedupe, defaultJobOptions } from '../queue/jobs.js';
import { QUEUE_CHECKS } from '../queue/names.js';
import { SHUTDOWN_REASON } from '../queue/check-processor.js';
import { RedisAddressLimiter } from '../store/address-limiter.js';
import { RedisConnectionCache } from '../store/connection-cache.js';
import { RedisHealth, createRedis } from '../store/redis.js';
import { ReportStore } from '../store/reports.js';
import { createApp } from '../web/app.js';
import { healthRouter } from '../web/health.js';
import { ProgressHub } from '../web/progress-hub.js';
import { createCheckWorker } from '../queue/check-worker.js';
import { startBounceService } from './bounces.js';
import type { BounceService } from './bounces.js';
import { createMonitorRuntime, createMonitorService } from './monitors.js';
import type { MonitorWorkerSide } from './monitors.js';
import type { MonitorService } from '../queue/monitor-manager.js';
import { ensureLocalRedis } from './local-redis.js';
import type { LocalRedis } from './local-redis.js';
import { createLogger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';

/**
 * Starts the service: `all` (web + worker in one process, `npm start`), `web` or `worker`.
 * Builds every dependency from the config, wires them, listens, and handles graceful
 * shutdown: stop accepting, let running checks finish within the grace period, hand the
 * rest back to the queue, close connections.
 */
export type ServiceMode = 'all' | 'web' | 'worker';

export interface StartOptions {
  mode: ServiceMode;
  config: Config;
  log?: Logger;
  /** Defaults to ALL_CHECKS. */
  checks?: readonly Check[];
  /** Stop on SIGTERM/SIGINT (the CLI); tests call stop() themselves. @defaultValue false */
  handleSignals?: boolean;
  /** Start a private redis-server when none answers (mode all). @defaultValue mode === 'all' */
  autoStartRedis?: boolean;
  /** The clock of monitor runs and alert rules (tests move it). @defaultValue the system clock */
  now?: () => Date;
}

export interface Service {
  /** Base URL of the web server (or the worker's health server). */
  url?: string;
  port?: number;
  log: Logger;
  queue: CheckQueue;
  store: ReportStore;
  metrics: Metrics;
  monitors: MonitorService;
  worker?: Worker;
  /** Bounce diagnosis: queue, store, worker (src/server/bounces.ts). */
  bounces: BounceService;
  localRedis?: LocalRedis;
  /** Graceful stop; resolves when everything is closed. Idempotent. */
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    };
    if (host) server.listen(port, host, done);
    else server.listen(port, done);
  });
}

async function waitForRedis(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

export async function startService(options: StartOptions): Promise<Service> {
  const { config, mode } = options;
  const log = options.log ?? createLogger(config, undefined, mode);
  const checks = options.checks ?? ALL_CHECKS;
  const prefix = config.redis.prefix;
  const web = mode === 'all' || mode === 'web';
  const work = mode === 'all' || mode === 'worker';

  const localRedis =
    (options.autoStartRedis ?? mode === 'all') ? await ensureLocalRedis(config, log) : undefined;

  const connections: Redis[] = [];
  const track = (r: Redis): Redis => (connections.push(r), r);
  const command = track(createRedis(config, 'command', `${mode}-commands`));
  const health = new RedisHealth(command, config.redis.url, log);
  if (!(await waitForRedis(command, 5000))) {
    log.error(
      { redis: redactRedisUrl(config.redis.url) },
      `Redis does not answer at ${redactRedisUrl(config.redis.url)}; retrying in the background (the web answers 503 meanwhile)`,
    );
  }

  const metrics = new Metrics();
  const storeOptions = {
    prefix,
    retentionMs: config.storage.retentionMs,
    domainHistory: config.storage.domainHistory,
  };
  const store = new ReportStore(command, storeOptions);
  const dedupeOptions = { prefix, windowMs: config.queue.dedupeMs, deadlineMs: config.check.deadlineMs };
  const bullQueue = new Queue(QUEUE_CHECKS, { connection: command, prefix });
  bullQueue.on('error', (err) => log.debug({ err: { message: err.message } }, 'queue connection error'));
  const queue = new CheckQueue(
    bullQueue,
    store,
    new Dedupe(command, dedupeOptions),
    defaultJobOptions(config.queue.attempts),
  );
  metrics.watchQueue(bullQueue);
  const monitors = createMonitorService({
    config,
    redis: command,
    queue: bullQueue,
    log,
    ...(options.now ? { now: options.now } : {}),
  });

  let worker: Worker | undefined;
  let monitorWorker: MonitorWorkerSide | undefined;
  if (work) {
    // Worker-side state waits for Redis instead of failing fast: a blip must not fail checks.
    const state = track(createRedis(config, 'blocking', 'worker-state'));
    const services: CheckServices = {
      smtp: {
        addressLimiter: new RedisAddressLimiter(state, {
          prefix,
          maxConcurrent: config.politeness.sessionsPerAddress,
          rate: config.politeness.ratePerAddress,
          log,
        }),
        connectionCache: new RedisConnectionCache(state, {
          prefix,
          maxTtlMs: config.smtp.cacheTtlMs,
        }),
      },
    };
    monitorWorker = createMonitorRuntime({
      config,
      redis: state,
      log,
      checks,
      services,
      metrics,
      ...(options.now ? { now: options.now } : {}),
    });
    worker = createCheckWorker({
      config,
      checks,
      log,
      metrics,
      connection: track(createRedis(config, 'blocking', 'worker')),
      store: new ReportStore(state, storeOptions),
      dedupe: new Dedupe(state, dedupeOptions),
      queue: bullQueue,
      jobOptions: defaultJobOptions(config.queue.attempts),
      services,
      monitors: monitorWorker.runtime,
    });
    // Normally done in milliseconds; with Redis away it retries in the background.
    await Promise.race([monitorWorker.start(), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  // Bounce diagnosis: its own queue, worker and progress stream (src/server/bounces.ts).
  const bounces = startBounceService({ config, log, metrics, command, track, web, work });

  let draining = false;
  let server: Server | undefined;
  let hub: ProgressHub | undefined;
  let queueEvents: QueueEvents | undefined;
  if (web) {
    queueEvents = new QueueEvents(QUEUE_CHECKS, {
      connection: track(createRedis(config, 'blocking', 'events')),
      prefix,
    });
    queueEvents.on('error', (err) => log.debug({ err: { message: err.message } }, 'queue events error'));
    hub = new ProgressHub(queueEvents);
    const app = createApp({
      config,
      log,
      checks,
      queue,
      store,
      redis: command,
      health,
      events: hub,
      metrics,
      monitors,
      draining: () => draining,
      ...(worker ? { workerRunning: () => Boolean(worker?.isRunning()) } : {}),
      bounces: { queue: bounces.queue, ...(bounces.events ? { events: bounces.events } : {}) },
    });
    server = createServer(app);
    server.keepAliveTimeout = 5000;
    metrics.watchMonitors(monitors.store);
  } else if (work && config.service.workerPort > 0) {
    const app = express();
    app.disable('x-powered-by');
    app.use(
      healthRouter({
        redis: command,
        queue: bullQueue,
        metrics,
        draining: () => draining,
        workerRunning: () => Boolean(worker?.isRunning()),
      }),
    );
    server = createServer(app);
  }
  let port: number | undefined;
  if (server) {
    port = await listen(server, web ? config.service.port : config.service.workerPort, config.service.host);
    log.info(
      { port, mode },
      web
        ? `mxdoctor ${mode === 'all' ? 'web + worker' : 'web'} listening on http://${config.service.host || 'localhost'}:${port}`
        : `mxdoctor worker health and metrics on port ${port}`,
    );
  }
  if (work) log.info({ concurrency: config.queue.concurrency }, 'worker started on queue "checks"');

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      const grace = config.service.shutdownGraceMs;
      log.info({ graceMs: grace }, 'shutting down: no new requests or checks; running checks may finish');
      const serverClosed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
      server?.closeIdleConnections();
      hub?.close();
      const bouncesStopped = bounces.stopWorker(grace);
      if (worker) {
        const closing = worker.close();
        let timer: NodeJS.Timeout | undefined;
        const inTime = await Promise.race([
          closing.then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), grace))),
        ]);
        clearTimeout(timer);
        if (!inTime) {
          log.warn('shutdown grace period over: returning running checks to the queue');
          worker.cancelAllJobs(SHUTDOWN_REASON);
          await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000))]);
        }
      }
      await bouncesStopped;
      server?.closeAllConnections();
      await serverClosed;
      health.stop();
      await Promise.allSettled([
        queueEvents?.close(),
        bullQueue.close(),
        bounces.close(),
        monitorWorker?.close(),
      ]);
      await Promise.allSettled(connections.map((c) => c.quit().catch(() => c.disconnect())));
      await localRedis?.stop();
      log.info('stopped');
      resolveStopped();
    })();
    return stopping;
  };

  if (options.handleSignals) {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'received signal');
      void stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void stopped.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }

  const service: Service = {
    log,
    queue,
    store,
    metrics,
    bounces,
    monitors,
    stop,
    stopped,
    ...(port !== undefined ? { port, url: `http://127.0.0.1:${port}` } : {}),
    ...(worker ? { worker } : {}),
    ...(localRedis ? { localRedis } : {}),
  };
  return service;
}
