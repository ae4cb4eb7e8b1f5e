import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Check } from '../checks/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { QUEUE_BOUNCES, QUEUE_CHECKS, QUEUE_INBOUND } from '../queue/names.js';
import { healthListener, metricsAccessOf } from '../web/health.js';
import type { ProgressHub } from '../web/progress-hub.js';
import type { Connections } from './connections.js';
import { watchMonitors } from './monitors.js';
import type { Queues } from './queues.js';

/**
 * Step 3 of starting the service: HTTP. A web process serves the app (pages, API, health,
 * metrics) with the live progress of checks and bounce diagnoses from BullMQ's queue events;
 * a worker process serves only /healthz, /readyz and /metrics on MXDOCTOR_WORKER_PORT (none
 * when it is 0).
 */
export interface HttpSide {
  port?: number;
  /** Stops accepting connections, ends idle ones and live progress streams; resolves once closed. */
  stopAccepting(): Promise<void>;
  /** Ends the connections still open (after running jobs finished). */
  dropConnections(): void;
  /** Closes the queue event streams. */
  close(): Promise<void>;
}

export interface HttpOptions {
  config: Config;
  log: Logger;
  mode: 'all' | 'web' | 'worker';
  checks: readonly Check[];
  connections: Connections;
  queues: Queues;
  metrics: Metrics;
  draining: () => boolean;
  /** Present when this process also runs workers (for /readyz). */
  workerRunning?: () => boolean;
}

export async function startHttp(o: HttpOptions): Promise<HttpSide> {
  const { config, log, mode } = o;
  const web = mode !== 'worker';
  const events: QueueEvents[] = [];
  const hubs: ProgressHub[] = [];
  let server: Server | undefined;
  if (web) {
    // The web app (pages, API, admin views) is loaded only where it is served: a worker
    // process does not carry it (issue 14 P4: memory per worker).
    const [{ createApp }, { ProgressHub }] = await Promise.all([
      import('../web/app.js'),
      import('../web/progress-hub.js'),
    ]);
    const follow = (queue: string, connection: string): ProgressHub => {
      const e = new QueueEvents(queue, {
        connection: o.connections.blocking(connection),
        prefix: config.redis.prefix,
      });
      e.on('error', (err) => log.debug({ err: { message: err.message } }, `${queue} queue events error`));
      events.push(e);
      const hub = new ProgressHub(e);
      hubs.push(hub);
      return hub;
    };
    server = createServer(
      createApp({
        config,
        log,
        checks: o.checks,
        queue: o.queues.checks,
        store: o.queues.reports,
        redis: o.connections.command,
        health: o.connections.health,
        events: follow(QUEUE_CHECKS, 'events'),
        metrics: o.metrics,
        monitors: o.queues.monitors,
        batches: o.queues.batches,
        verifications: o.queues.verifications,
        draining: o.draining,
        ...(o.workerRunning ? { workerRunning: o.workerRunning } : {}),
        bounces: { queue: o.queues.bounces, events: follow(QUEUE_BOUNCES, 'bounce-events') },
        ...(config.inbound.listen
          ? { inbound: { tests: o.queues.inbound, events: follow(QUEUE_INBOUND, 'inbound-events') } }
          : {}),
      }),
    );
    server.keepAliveTimeout = 5000;
    // Public metrics show private monitors by id only, not by domain.
    watchMonitors(o.metrics, o.queues.monitors.store, {
      domains: config.auth.metricsView === 'private' || config.monitor.view === 'public',
    });
  } else if (config.service.workerPort > 0) {
    server = createServer(workerHealth(o));
  }
  const port = server
    ? await listen(server, web ? config.service.port : config.service.workerPort, config.service.host)
    : undefined;
  if (port !== undefined)
    log.info(
      { port, mode },
      web
        ? `mxdoctor ${mode === 'all' ? 'web + worker' : 'web'} listening on http://${config.service.host || 'localhost'}:${port}`
        : `mxdoctor worker health and metrics on port ${port}`,
    );
  return {
    ...(port !== undefined ? { port } : {}),
    stopAccepting() {
      const closed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
      server?.closeIdleConnections();
      for (const hub of hubs) hub.close();
      return closed;
    },
    dropConnections() {
      server?.closeAllConnections();
    },
    async close() {
      await Promise.allSettled(events.map((e) => e.close()));
    },
  };
}

/** A worker's /healthz, /readyz and /metrics, on node:http (the web app's express stays out of it). */
function workerHealth(o: HttpOptions): RequestListener {
  return healthListener({
    redis: o.connections.command,
    queue: o.queues.checksQueue,
    metrics: o.metrics,
    draining: o.draining,
    metricsAccess: metricsAccessOf(o.config),
    ...(o.workerRunning ? { workerRunning: o.workerRunning } : {}),
  });
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
