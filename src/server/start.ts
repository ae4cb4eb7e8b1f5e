import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { loadChecks } from '../checks/registry.js';
import type { Check } from '../checks/types.js';
import { createLogger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import type { BounceQueue } from '../queue/jobs/bounce.js';
import type { CheckQueue } from '../queue/jobs/check.js';
import { jobMetrics, watchQueue } from '../queue/metrics.js';
import type { MonitorManager } from '../queue/monitor-manager.js';
import type { DiagnosisStore } from '../store/diagnoses.js';
import type { ReportStore } from '../store/reports.js';
import { connect } from './connections.js';
import { firstRunToken, signInLink } from './first-run.js';
import type { FirstRunToken } from './first-run.js';
import type { LocalRedis } from './local-redis.js';
import { openQueues } from './queues.js';
import { startHttp } from './web.js';
import type { InboundTests } from '../queue/jobs/inbound.js';
import { startWorkerSide } from './workers.js';
import type { WorkerSide } from './workers.js';

/**
 * Starts the service, the running mxdoctor process: `all` (web + workers in one process,
 * `npm start`), `web` or `worker`. Composed of steps, each in its own module: connect to
 * Redis (connections.ts), open the stores and queues (queues.ts), start the workers
 * (workers.ts), serve HTTP (web.ts); and the graceful stop: stop accepting, let running jobs
 * finish within the grace period, hand the rest back to the queue, close connections.
 */
export type ServiceMode = 'all' | 'web' | 'worker';

export interface StartOptions {
  mode: ServiceMode;
  config: Config;
  log?: Logger;
  /** Defaults to every registered check (src/checks/registry.ts). */
  checks?: readonly Check[];
  /** Stop on SIGTERM/SIGINT (the CLI); tests call stop() themselves. @defaultValue false */
  handleSignals?: boolean;
  /** Start a private redis-server when none answers (mode all). @defaultValue mode === 'all' */
  autoStartRedis?: boolean;
  /** The clock of monitor runs and alert rules (tests move it). @defaultValue the system clock */
  now?: () => Date;
  /**
   * Without MXDOCTOR_ADMIN_TOKEN on a loopback-only web server, use the admin token kept in
   * the data directory, generating it (and printing a sign-in link) on first start (the CLI).
   * @defaultValue false
   */
  firstRun?: boolean;
}

export interface Service {
  /** Base URL of the web server (or the worker's health server). */
  url?: string;
  port?: number;
  log: Logger;
  queue: CheckQueue;
  store: ReportStore;
  metrics: Metrics;
  monitors: MonitorManager;
  /** The worker of the `checks` queue (processes that work). */
  worker?: Worker;
  /** Bounce diagnosis: its queue and store (the worker is `workers.bounces`). */
  bounces: { queue: BounceQueue; store: DiagnosisStore };
  /** The workers of every queue (processes that work). */
  workers?: WorkerSide['workers'];
  localRedis?: LocalRedis;
  /** The inbound test: its tests, and the receiver when this process runs it. */
  inbound: { tests: InboundTests; receiver?: { host: string; port: number } };
  /** Graceful stop; resolves when everything is closed. Idempotent. */
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

export async function startService(options: StartOptions): Promise<Service> {
  const { mode } = options;
  const log = options.log ?? createLogger(options.config, undefined, mode);
  const first = options.firstRun && mode !== 'worker' ? firstRunToken(options.config, log) : undefined;
  const config = first?.config ?? options.config;
  const checks = options.checks ?? (await loadChecks());
  const now = options.now ? { now: options.now } : {};
  const connections = await connect(config, log, {
    name: mode,
    autoStartRedis: options.autoStartRedis ?? mode === 'all',
  });
  const queues = openQueues(config, log, connections.command, now);
  const metrics = new Metrics({ processPrefix: 'mxdoctor_' });
  const measured = jobMetrics(metrics);
  watchQueue(metrics, queues.checksQueue);

  const workerSide =
    mode === 'web'
      ? undefined
      : await startWorkerSide({ config, log, connections, checks, metrics: measured, ...now });
  let draining = false;
  const http = await startHttp({
    config,
    log,
    mode,
    checks,
    connections,
    queues,
    metrics,
    draining: () => draining,
    ...(workerSide ? { workerRunning: () => workerSide.workers.checks.isRunning() } : {}),
  });
  // The inbound receiver (smtp-server) is loaded only by the processes that run it.
  const receiver =
    mode === 'worker' || !config.inbound.listen
      ? undefined
      : await (await import('./inbound.js')).startInboundReceiver({ config, log, tests: queues.inbound });

  if (first && http.port !== undefined) announceSignIn(first, http.port, log);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      const grace = config.service.shutdownGraceMs;
      log.info({ graceMs: grace }, 'shutting down: no new requests or checks; running checks may finish');
      // No new test messages; sessions still open get 421 and their senders retry later.
      await receiver?.close();
      const serverClosed = http.stopAccepting();
      await workerSide?.stop(grace);
      http.dropConnections();
      await serverClosed;
      await Promise.allSettled([http.close(), queues.close(), workerSide?.close()]);
      await connections.close();
      log.info('stopped');
      resolveStopped();
    })();
    return stopping;
  };
  if (options.handleSignals) stopOnSignals(stop, stopped, log);

  return {
    log,
    queue: queues.checks,
    store: queues.reports,
    metrics,
    bounces: { queue: queues.bounces, store: queues.diagnoses },
    monitors: queues.monitors,
    inbound: {
      tests: queues.inbound,
      ...(receiver ? { receiver: { host: receiver.host, port: receiver.port } } : {}),
    },
    stop,
    stopped,
    ...(http.port !== undefined ? { port: http.port, url: `http://127.0.0.1:${http.port}` } : {}),
    ...(workerSide ? { worker: workerSide.workers.checks, workers: workerSide.workers } : {}),
    ...(connections.localRedis ? { localRedis: connections.localRedis } : {}),
  };
}

/**
 * The sign-in link of a generated admin token is printed once, to the terminal (stderr), not
 * into the JSON log, which may be collected elsewhere; later starts say where the token is.
 */
function announceSignIn(first: FirstRunToken, port: number, log: Logger): void {
  const host = first.config.service.host;
  const token = first.config.auth.adminToken ?? '';
  if (first.generated) {
    log.info(
      { file: first.file },
      `generated an admin token for this machine and stored it in ${first.file}; the sign-in link was printed to the terminal`,
    );
    process.stderr.write(
      `\nmxdoctor: monitors need an admin token; one was generated and stored in ${first.file} (readable by you only).\n` +
        `Open this link to sign in and create monitors:\n\n    ${signInLink(host, port, token)}\n\n`,
    );
  } else {
    log.info(
      { file: first.file },
      `admin token read from ${first.file}; sign in with it at ${signInLink(host, port)}`,
    );
  }
}

/** SIGTERM or SIGINT stops gracefully; a second signal exits at once. */
function stopOnSignals(stop: () => Promise<void>, stopped: Promise<void>, log: Logger): void {
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
