import { Router } from 'express';
import type { Response } from 'express';
import { healthzReply, metricsReply, readyzReply } from './health.js';
import type { HealthDeps, HealthReply } from './health.js';

/** The operations endpoints (health.ts) in the web app. */
export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  const send = (res: Response, reply: HealthReply): void => {
    res.status(reply.status).set(reply.headers).send(reply.body);
  };
  router.get('/healthz', (_req, res) => send(res, healthzReply()));
  router.get('/readyz', async (_req, res) => send(res, await readyzReply(deps)));
  router.get('/metrics', async (req, res) => send(res, await metricsReply(req, deps)));
  return router;
}
