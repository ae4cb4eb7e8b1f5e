import { Router } from 'express';
import type { Request } from 'express';
import type { Config } from '../config/index.js';
import { bearerToken, safeEqual } from './security.js';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { explainRedisProblem, withRedisTimeout } from '../store/redis.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Operations endpoints, never rate-limited: /healthz (the process is up), /readyz (Redis
 * answers and the queue is usable; 503 while draining), /metrics (Prometheus; it names the
 * monitored domains and the service's load, so it needs a bearer token unless the operator
 * makes it public: MXDOCTOR_METRICS_VIEW, MXDOCTOR_METRICS_TOKEN or the admin token).
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

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const { ready, checks } = await readiness(deps);
    res.setHeader('Cache-Control', 'no-store');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  router.get('/metrics', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!mayScrape(req, deps.metricsAccess)) {
      res
        .status(401)
        .setHeader('WWW-Authenticate', 'Bearer realm="mxdoctor metrics"')
        .type('text/plain')
        .send(
          'The metrics need a token: send "Authorization: Bearer <token>" with MXDOCTOR_METRICS_TOKEN or the admin token (or set MXDOCTOR_METRICS_VIEW=public).\n',
        );
      return;
    }
    res.type(deps.metrics.contentType).send(await deps.metrics.text());
  });
  return router;
}
