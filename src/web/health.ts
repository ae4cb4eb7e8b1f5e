import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { describeRedisError, withRedisTimeout } from '../store/redis.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Operations endpoints, never rate-limited: /healthz (the process is up), /readyz (Redis
 * answers and the queue is usable; 503 while draining), /metrics (Prometheus).
 */
export interface HealthDeps {
  redis: Redis;
  queue?: Queue;
  metrics: Metrics;
  draining: () => boolean;
  workerRunning?: () => boolean;
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
    checks.redis = describeRedisError(err);
  }
  if (deps.queue && checks.redis === 'ok') {
    try {
      await withRedisTimeout(deps.queue.getJobCounts('waiting'), 1000, 'queue');
      checks.queue = 'ok';
    } catch (err) {
      checks.queue = describeRedisError(err);
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
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type(deps.metrics.contentType).send(await deps.metrics.text());
  });
  return router;
}
