import type { IncomingMessage, RequestListener } from 'node:http';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { Config } from '../config/index.js';
import { explainRedisProblem, withRedisTimeout } from '../store/redis.js';
import type { Metrics } from '../metrics/metrics.js';
import { bearerToken, safeEqual } from './tokens.js';

/**
 * Operations endpoints, never rate-limited: /healthz (the process is up), /readyz (Redis
 * answers and the queue is usable; 503 while draining), /metrics (Prometheus; it names the
 * monitored domains and the service's load, so it needs a bearer token unless the operator
 * makes it public: MXDOCTOR_METRICS_VIEW, MXDOCTOR_METRICS_TOKEN or the admin token).
 *
 * The replies are built here without a web framework: the web app serves them through its
 * express router (health-router.ts), a standalone worker with node:http alone
 * (healthListener), so that a worker does not load express and what it brings (some 2 MB of
 * heap for three endpoints; issue 14 P4: memory per worker).
 */
export interface HealthDeps {
  redis: Redis;
  queue?: Queue;
  metrics: Metrics;
  draining: () => boolean;
  workerRunning?: () => boolean;
  /** Who may read /metrics. */
  metricsAccess: MetricsAccess;
}

export interface MetricsAccess {
  view: 'public' | 'private';
  /** Bearer tokens that may read /metrics (the metrics token, the admin token). */
  tokens: readonly (string | undefined)[];
}

/** One endpoint's reply: status, headers (Content-Type with its charset) and body. */
export interface HealthReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Request = Pick<IncomingMessage, 'headers'>;

export function metricsAccessOf(config: Config): MetricsAccess {
  return {
    view: config.auth.metricsView,
    tokens: [config.auth.metricsToken, config.auth.adminToken],
  };
}

function mayScrape(req: Request, access: MetricsAccess): boolean {
  if (access.view === 'public') return true;
  const sent = bearerToken(req);
  return sent !== undefined && access.tokens.some((t) => t !== undefined && safeEqual(t, sent));
}

export async function readiness(
  deps: HealthDeps,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  if (deps.draining()) checks.process = 'shutting down';
  try {
    await withRedisTimeout(deps.redis.ping(), 1000, 'PING');
    checks.redis = 'ok';
  } catch (err) {
    checks.redis = explainRedisProblem(err);
  }
  if (deps.queue && checks.redis === 'ok') {
    try {
      await withRedisTimeout(deps.queue.getJobCounts('waiting'), 1000, 'queue');
      checks.queue = 'ok';
    } catch (err) {
      checks.queue = explainRedisProblem(err);
    }
  }
  if (deps.workerRunning) checks.worker = deps.workerRunning() ? 'ok' : 'not running';
  const ready = !deps.draining() && Object.values(checks).every((v) => v === 'ok');
  return { ready, checks };
}

const NO_STORE = { 'Cache-Control': 'no-store' };

function json(status: number, value: unknown): HealthReply {
  return {
    status,
    headers: { ...NO_STORE, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(value),
  };
}

export function healthzReply(): HealthReply {
  return json(200, { status: 'ok' });
}

export async function readyzReply(deps: HealthDeps): Promise<HealthReply> {
  const { ready, checks } = await readiness(deps);
  return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
}

export async function metricsReply(req: Request, deps: HealthDeps): Promise<HealthReply> {
  if (!mayScrape(req, deps.metricsAccess))
    return {
      status: 401,
      headers: {
        ...NO_STORE,
        'WWW-Authenticate': 'Bearer realm="mxdoctor metrics"',
        'Content-Type': 'text/plain; charset=utf-8',
      },
      body: 'The metrics need a token: send "Authorization: Bearer <token>" with MXDOCTOR_METRICS_TOKEN or the admin token (or set MXDOCTOR_METRICS_VIEW=public).\n',
    };
  return {
    status: 200,
    headers: { ...NO_STORE, 'Content-Type': deps.metrics.contentType },
    body: await deps.metrics.text(),
  };
}

const ENDPOINTS: Record<string, (req: Request, deps: HealthDeps) => HealthReply | Promise<HealthReply>> = {
  '/healthz': () => healthzReply(),
  '/readyz': (_req, deps) => readyzReply(deps),
  '/metrics': metricsReply,
};

/**
 * The health server of a standalone worker: GET (and HEAD) of the three endpoints, matched
 * as express matches routes (any case, a trailing slash allowed); anything else is 404.
 */
export function healthListener(deps: HealthDeps): RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/')
      .split('?', 1)[0]!
      .replace(/(.)\/$/, '$1')
      .toLowerCase();
    const endpoint = Object.hasOwn(ENDPOINTS, path) ? ENDPOINTS[path] : undefined;
    const send = (reply: HealthReply): void => {
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': Buffer.byteLength(reply.body) });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    };
    const plain = (status: number, text: string): HealthReply => ({
      status,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: `${text}\n`,
    });
    if (!endpoint || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send(plain(404, 'Not Found'));
      return;
    }
    Promise.resolve()
      .then(() => endpoint(req, deps))
      .then(send, () => send(plain(500, 'Internal Server Error')));
  };
}
