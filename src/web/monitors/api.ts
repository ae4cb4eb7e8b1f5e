import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Monitor } from '../../monitor/model.js';
import { publicMonitor, scheduleText } from '../../monitor/model.js';
import type { MonitorManager } from '../../queue/monitor-manager.js';
import type { LastRun } from '../../store/monitors.js';
import type { AppDeps } from '../deps.js';
import { HttpError, limitParam } from '../errors.js';
import { accessOf } from './auth.js';
import type { Access } from './auth.js';

/**
 * The monitors API under /api/v1/monitors: create, list, read, change, delete, run now,
 * runs, one run with its report, diffs between any two runs, and test alerts. Writes need
 * the admin token as a bearer token; reads follow MXDOCTOR_MONITORS_VIEW. Mounted before the
 * checks API, whose token check and 404 do not apply here.
 */
export function monitorLinks(id: string) {
  return { self: `/api/v1/monitors/${id}`, html: `/monitors/${id}`, runs: `/api/v1/monitors/${id}/runs` };
}

export async function monitorBody(
  service: MonitorManager,
  m: Monitor,
  access: Access,
  last?: LastRun,
  knownNext?: Map<string, Date>,
): Promise<Record<string, unknown>> {
  const next = knownNext ? knownNext.get(m.id) : await service.scheduler.nextRun(m).catch(() => undefined);
  return {
    ...(access.admin ? m : publicMonitor(m)),
    scheduleText: scheduleText(m.schedule),
    ...(last ? { lastRun: last } : {}),
    ...(next ? { nextRunAt: next.toISOString() } : {}),
    links: monitorLinks(m.id),
  };
}

function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    throw new HttpError(405, 'method_not_allowed', `This endpoint accepts ${allow} only.`);
  };
}

function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Type must be application/json (got ${JSON.stringify(req.headers['content-type'] ?? 'none')}).`,
    );
  }
  next();
}

function invalid(errors: { field: string; message: string }[]): HttpError {
  return new HttpError(400, 'invalid_request', errors.map((e) => e.message).join(' '), errors[0]?.field);
}

export function monitorApiRouter(
  deps: AppDeps,
  service: MonitorManager,
  secret: () => Promise<string>,
): Router {
  const router = Router();
  const json = express.json({ limit: '32kb', strict: false, type: () => true });
  const unauthorized = (what: string) =>
    new HttpError(
      401,
      'unauthorized',
      deps.config.auth.adminToken
        ? `${what} needs the admin token: send "Authorization: Bearer <MXDOCTOR_ADMIN_TOKEN>".`
        : `${what} needs the admin token, and none is configured: set MXDOCTOR_ADMIN_TOKEN on the web server.`,
      undefined,
      { 'WWW-Authenticate': 'Bearer realm="mxdoctor"' },
    );

  /** Sets res.locals.access; refuses viewers when monitors are private. */
  const view = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const access = await accessOf(req, deps.config, secret);
    res.locals.access = access;
    res.setHeader('Cache-Control', 'no-store');
    if (!access.view) {
      next(
        new HttpError(
          401,
          'unauthorized',
          'Monitors are private on this server (MXDOCTOR_MONITORS_VIEW=private): send "Authorization: Bearer <token>" with the admin token or an API token.',
          undefined,
          { 'WWW-Authenticate': 'Bearer realm="mxdoctor"' },
        ),
      );
      return;
    }
    next();
  };
  const admin = (what: string) => async (req: Request, res: Response, next: NextFunction) => {
    const access = await accessOf(req, deps.config, secret);
    res.locals.access = access;
    res.setHeader('Cache-Control', 'no-store');
    if (!access.admin) next(unauthorized(what));
    else next();
  };
  const load = async (req: Request): Promise<Monitor> => {
    const m = await service.get(String(req.params.id));
    if (!m)
      throw new HttpError(
        404,
        'not_found',
        `No monitor ${JSON.stringify(String(req.params.id).slice(0, 40))}.`,
        'id',
      );
    return m;
  };

  router
    .route('/monitors')
    .get(view, async (req, res) => {
      const access = res.locals.access as Access;
      const label = req.query.label;
      if (label !== undefined && (typeof label !== 'string' || label.length > 64))
        throw new HttpError(400, 'invalid_request', 'label must be one label, e.g. ?label=prod.', 'label');
      const [all, last] = await Promise.all([service.list(), service.store.lastRuns()]);
      const monitors = label ? all.filter((m) => m.labels.includes(label)) : all;
      const next = await service.scheduler.nextRunsOf(monitors);
      res.json({
        monitors: await Promise.all(monitors.map((m) => monitorBody(service, m, access, last[m.id], next))),
      });
    })
    .post(admin('Creating a monitor'), requireJson, json, async (req, res) => {
      const r = await service.create(req.body);
      if (!r.ok) throw 'errors' in r ? invalid(r.errors) : new HttpError(404, 'not_found', 'Not found.');
      req.log.info({ monitorId: r.monitor.id, domain: r.monitor.domain.ascii }, 'monitor created');
      res
        .status(201)
        .location(`/api/v1/monitors/${r.monitor.id}`)
        .json(await monitorBody(service, r.monitor, res.locals.access as Access));
    })
    .all(methodNotAllowed('GET, POST'));

  router
    .route('/monitors/:id')
    .get(view, async (req, res) => {
      const access = res.locals.access as Access;
      const m = await load(req);
      const [last, alerts, runCount] = await Promise.all([
        service.store.lastRuns().then((l) => l[m.id]),
        service.store.alerts(m.id, 20),
        service.store.runCount(m.id),
      ]);
      res.json({
        ...(await monitorBody(service, m, access, last)),
        recentAlerts: alerts,
        runCount,
        ...(access.admin ? { deliveries: await service.store.deliveries(m.id, 20) } : {}),
      });
    })
    .patch(admin('Changing a monitor'), requireJson, json, async (req, res) => {
      const r = await service.update(String(req.params.id), req.body);
      if (!r.ok)
        throw 'errors' in r ? invalid(r.errors) : new HttpError(404, 'not_found', 'No such monitor.', 'id');
      req.log.info({ monitorId: r.monitor.id, rev: r.monitor.rev }, 'monitor changed');
      const last = (await service.store.lastRuns())[r.monitor.id];
      res.json(await monitorBody(service, r.monitor, res.locals.access as Access, last));
    })
    .delete(admin('Deleting a monitor'), async (req, res) => {
      const existed = await service.delete(String(req.params.id));
      if (!existed) throw new HttpError(404, 'not_found', 'No such monitor.', 'id');
      req.log.info({ monitorId: req.params.id }, 'monitor deleted');
      res.status(204).end();
    })
    .all(methodNotAllowed('GET, PATCH, DELETE'));

  router
    .route('/monitors/:id/run')
    .post(admin('Running a monitor'), async (req, res) => {
      const m = await load(req);
      const q = await service.runNow(m, 'manual');
      res.status(202).json({ ...q, links: { run: `/api/v1/monitors/${m.id}/runs/${q.runId}` } });
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/monitors/:id/runs')
    .get(view, async (req, res) => {
      const m = await load(req);
      const limit = limitParam(req.query.limit, 50, 500);
      const before = req.query.before;
      if (before !== undefined && (typeof before !== 'string' || Number.isNaN(Date.parse(before))))
        throw new HttpError(
          400,
          'invalid_request',
          'before must be a time (ISO 8601), e.g. the "next" of the previous page.',
          'before',
        );
      const runs = await service.store.runs(m.id, limit + 1, before as string | undefined);
      const page = runs.slice(0, limit);
      res.json({
        monitorId: m.id,
        runs: page,
        ...(runs.length > limit ? { next: page[page.length - 1]!.at } : {}),
      });
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/monitors/:id/runs/:runId')
    .get(view, async (req, res) => {
      const m = await load(req);
      const runId = String(req.params.runId);
      const found = await service.store.runWithReport(m.id, runId);
      if (!found)
        throw new HttpError(
          404,
          'not_found',
          `No run ${JSON.stringify(runId.slice(0, 30))} of this monitor (yet, or any more).`,
          'runId',
        );
      res.json({
        run: found.run,
        report: found.report,
        ...(found.previous ? { previousRunId: found.previous } : {}),
        ...(found.next ? { nextRunId: found.next } : {}),
      });
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/monitors/:id/diff')
    .get(view, async (req, res) => {
      const m = await load(req);
      const q = (k: string) => {
        const v = req.query[k];
        if (v === undefined || v === '') return undefined;
        if (typeof v !== 'string' || v.length > 64)
          throw new HttpError(400, 'invalid_request', `${k} must be a run id.`, k);
        return v;
      };
      const r = await service.diff(m.id, q('from'), q('to'));
      if (!r.ok)
        throw new HttpError(r.status, r.status === 404 ? 'not_found' : 'invalid_request', r.message, r.field);
      res.json(r.diff);
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/monitors/:id/destinations/:destinationId/test')
    .post(admin('Sending a test alert'), async (req, res) => {
      const m = await load(req);
      const deliveryId = await service.sendTest(m, String(req.params.destinationId));
      if (!deliveryId)
        throw new HttpError(404, 'not_found', 'This monitor has no such destination.', 'destinationId');
      res.status(202).json({ deliveryId });
    })
    .all(methodNotAllowed('POST'));

  return router;
}
