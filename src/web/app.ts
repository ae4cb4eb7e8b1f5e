import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import express from 'express';
import type { Express, Request, Response } from 'express';
import { pinoHttp } from 'pino-http';
import { projectRoot } from '../version.js';
import { mountAdmin } from './admin.js';
import { apiRouter } from './checks/api.js';
import { bounceApiRouter } from './bounces/api.js';
import { bouncePagesRouter } from './bounces/pages.js';
import type { AppDeps } from './deps.js';
import { HttpError, errorHandler } from './errors.js';
import { metricsAccessOf } from './health.js';
import { healthRouter } from './health-router.js';
import { httpMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { pagesRouter } from './checks/pages.js';
import { createRateLimits, createSubmissionLimit } from './rate-limit.js';
import { identify } from './readers.js';
import { Csrf, secretProvider, securityHeaders } from './security.js';
import { createViews } from './views.js';
import { monitorApiRouter } from './monitors/api.js';
import { monitorPagesRouter } from './monitors/pages.js';
import { bulkApiRouter } from './bulk/api.js';
import { bulkPagesRouter } from './bulk/pages.js';
import { inboundApiRouter } from './inbound/api.js';
import { inboundPagesRouter } from './inbound/pages.js';
import type { Views } from './views.js';

export type { AppDeps } from './deps.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The web application: pages, JSON API, operations endpoints and the admin dashboard. It
 * takes every dependency as a parameter and never listens itself (src/server/start.ts
 * does), so tests run it on port 0 against their own Redis prefix and checks.
 */
export function createApp(deps: AppDeps, pageViews: Views = createViews()): Express {
  const app = express();
  // Pages link to the inbound test when this service offers it.
  const views: Views = deps.inbound
    ? { render: (name, data) => pageViews.render(name, { inboundNav: true, ...data }) }
    : pageViews;
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.service.trustProxy);
  app.set('etag', false);

  app.use(
    pinoHttp({
      logger: deps.log,
      quietReqLogger: true,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: (_req, res) => {
        const jobId = (res as unknown as Response).locals?.jobId as string | undefined;
        return jobId ? { jobId } : {};
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      autoLogging: { ignore: (req) => /^\/(healthz|readyz|metrics|static\/)/.test(req.url ?? '') },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          // The first-start sign-in link carries the admin token: never log it.
          url: req.url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]'),
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(httpMetrics(deps.metrics));

  const strict = securityHeaders();
  app.use((req, res, next) => (req.path.startsWith('/admin/') ? next() : strict(req, res, next)));
  app.use('/static', express.static(join(projectRoot(), 'views', 'static'), { maxAge: '1h', index: false }));
  app.use(
    healthRouter({
      redis: deps.redis,
      queue: deps.queue.queue,
      metrics: deps.metrics,
      draining: deps.draining,
      metricsAccess: metricsAccessOf(deps.config),
      ...(deps.workerRunning ? { workerRunning: deps.workerRunning } : {}),
    }),
  );
  const openapi = JSON.stringify(buildOpenApi(deps.checks));
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });

  // Everything below needs Redis: answer 503 at once while it is away.
  app.use((_req, _res, next) => {
    if (!deps.health.ready) {
      next(
        new HttpError(
          503,
          'unavailable',
          'The service cannot reach its database (Redis) right now. Please try again in a minute.',
          undefined,
          { 'Retry-After': '30' },
        ),
      );
      return;
    }
    next();
  });

  const limits = createRateLimits({
    redis: deps.redis,
    prefix: deps.config.redis.prefix,
    requests: deps.config.limits.requests,
    checks: deps.config.limits.checks,
    tokenChecks: deps.config.limits.tokenChecks,
  });
  app.use(limits.requests);
  const secret = secretProvider(deps.redis, deps.config.redis.prefix, deps.config.auth.secret);
  // Who is asking: the owner of what they submit, and what of others' reports they may see.
  app.use(identify(deps.config, secret));
  mountAdmin(app, deps.queue.queue, deps.config.auth.adminToken);
  // Bounce diagnosis (src/web/bounce-*.ts): its own submission budget, same limits as checks.
  const bounces = deps.bounces ? { ...deps, bounces: deps.bounces } : undefined;
  const bounceLimit = createSubmissionLimit(
    { redis: deps.redis, prefix: deps.config.redis.prefix, ...deps.config.limits },
    { key: 'bounces', what: 'submitted bounces' },
  );
  if (bounces) app.use('/api/v1', bounceApiRouter(bounces, bounceLimit));
  if (deps.monitors) app.use('/api/v1', monitorApiRouter(deps, deps.monitors, secret));
  const bulk =
    deps.batches && deps.verifications
      ? { ...deps, batches: deps.batches, verifications: deps.verifications }
      : undefined;
  if (bulk) app.use('/api/v1', bulkApiRouter(bulk, limits.checks));
  // The inbound test (src/web/inbound/): its own submission budget, same limits as checks.
  const inbound = deps.inbound ? { ...deps, inbound: deps.inbound } : undefined;
  const inboundLimit = createSubmissionLimit(
    { redis: deps.redis, prefix: deps.config.redis.prefix, ...deps.config.limits },
    { key: 'inbound-tests', what: 'opened inbound tests' },
  );
  if (inbound) app.use('/api/v1', inboundApiRouter(inbound, inboundLimit));
  app.use('/api/v1', apiRouter(deps, limits.checks));

  const csrf = new Csrf(secret);
  if (deps.monitors) app.use(monitorPagesRouter(deps, deps.monitors, views, csrf, secret));
  app.use(pagesRouter(deps, views, csrf, limits.checks));
  if (bounces) app.use(bouncePagesRouter(bounces, views, csrf, bounceLimit));
  if (bulk) app.use(bulkPagesRouter(bulk, views, csrf, limits.checks));
  if (inbound) app.use(inboundPagesRouter(inbound, views, csrf, inboundLimit));

  app.use(() => {
    throw new HttpError(404, 'not_found', 'There is no page at this address.');
  });
  app.use(
    errorHandler(
      (_req: Request, res: Response, status, title, message) => {
        res
          .status(status)
          .type('html')
          .send(views.render('error', { heading: title, message, status }));
      },
      { onRedisTimeout: () => deps.health.noteStalled() },
    ),
  );
  return app;
}
