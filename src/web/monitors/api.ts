import express, { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
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
 * checks API, whose token check and 404 do not apply here. Thin: one handler per route.
 */
export function monitorLinks(id: string) {
  return { self: `/api/v1/monitors/${id}`, html: `/monitors/${id}`, runs: `/api/v1/monitors/${id}/runs` };
}

export async function monitorBody(
  monitors: MonitorManager,
  m: Monitor,
  access: Access,
  last?: LastRun,
  knownNext?: Map<string, Date>,
): Promise<Record<string, unknown>> {
  const next = knownNext ? knownNext.get(m.id) : await monitors.scheduler.nextRun(m).catch(() => undefined);
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

interface Ctx {
  deps: AppDeps;
  monitors: MonitorManager;
  secret: () => Promise<string>;
}

type Handler = (ctx: Ctx, req: Request, res: Response) => Promise<void>;

export function monitorApiRouter(
  deps: AppDeps,
  monitors: MonitorManager,
  secret: () => Promise<string>,
): Router {
  const ctx: Ctx = { deps, monitors, secret };
  const on =
    (handler: Handler): RequestHandler =>
    (req, res) =>
      handler(ctx, req, res);
  const json = express.json({ limit: '32kb', strict: false, type: () => true });
  const view = viewer(ctx);
  const write = (what: string) => [admin(ctx, what), requireJson, json];
  const router = Router();
  router
    .route('/monitors')
    .get(view, on(list))
    .post(...write('Creating a monitor'), on(create))
    .all(methodNotAllowed('GET, POST'));
  router
    .route('/monitors/:id')
    .get(view, on(read))
    .patch(...write('Changing a monitor'), on(change))
    .delete(admin(ctx, 'Deleting a monitor'), on(remove))
    .all(methodNotAllowed('GET, PATCH, DELETE'));
  router
    .route('/monitors/:id/run')
    .post(admin(ctx, 'Running a monitor'), on(runNow))
    .all(methodNotAllowed('POST'));
  router.route('/monitors/:id/runs').get(view, on(runs)).all(methodNotAllowed('GET'));
  router.route('/monitors/:id/runs/:runId').get(view, on(run)).all(methodNotAllowed('GET'));
  router.route('/monitors/:id/diff').get(view, on(diff)).all(methodNotAllowed('GET'));
  router
    .route('/monitors/:id/destinations/:destinationId/test')
    .post(admin(ctx, 'Sending a test alert'), on(sendTest))
    .all(methodNotAllowed('POST'));
  return router;
}

// ---------------------------------------------------------------------------------------
// Access

const BEARER = { 'WWW-Authenticate': 'Bearer realm="mxdoctor"' };

/** Sets res.locals.access; refuses viewers when monitors are private. */
function viewer(ctx: Ctx): RequestHandler {
  return async (req, res, next) => {
    const access = await accessOf(req, ctx.deps.config, ctx.secret);
    res.locals.access = access;
    res.setHeader('Cache-Control', 'no-store');
    if (!access.view) {
      next(
        new HttpError(
          401,
          'unauthorized',
          'Monitors are private on this server (MXDOCTOR_MONITORS_VIEW=private): send "Authorization: Bearer <token>" with the admin token or an API token.',
          undefined,
          BEARER,
        ),
      );
      return;
    }
    next();
  };
}

/** Sets res.locals.access; refuses anyone but the admin token. */
function admin(ctx: Ctx, what: string): RequestHandler {
  return async (req, res, next) => {
    const access = await accessOf(req, ctx.deps.config, ctx.secret);
    res.locals.access = access;
    res.setHeader('Cache-Control', 'no-store');
    if (access.admin) return next();
    next(
      new HttpError(
        401,
        'unauthorized',
        ctx.deps.config.auth.adminToken
          ? `${what} needs the admin token: send "Authorization: Bearer <MXDOCTOR_ADMIN_TOKEN>".`
          : `${what} needs the admin token, and none is configured: set MXDOCTOR_ADMIN_TOKEN on the web server.`,
        undefined,
        BEARER,
      ),
    );
  };
}

function accessIn(res: Response): Access {
  return res.locals.access as Access;
}

async function load(ctx: Ctx, req: Request): Promise<Monitor> {
  const m = await ctx.monitors.get(String(req.params.id));
  if (!m)
    throw new HttpError(
      404,
      'not_found',
      `No monitor ${JSON.stringify(String(req.params.id).slice(0, 40))}.`,
      'id',
    );
  return m;
}

// ---------------------------------------------------------------------------------------
// Monitors

async function list(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const label = req.query.label;
  if (label !== undefined && (typeof label !== 'string' || label.length > 64))
    throw new HttpError(400, 'invalid_request', 'label must be one label, e.g. ?label=prod.', 'label');
  const [all, last] = await Promise.all([ctx.monitors.list(), ctx.monitors.store.lastRuns()]);
  const monitors = label ? all.filter((m) => m.labels.includes(label)) : all;
  const next = await ctx.monitors.scheduler.nextRunsOf(monitors);
  res.json({
    monitors: await Promise.all(
      monitors.map((m) => monitorBody(ctx.monitors, m, accessIn(res), last[m.id], next)),
    ),
  });
}

async function create(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const r = await ctx.monitors.create(req.body);
  if (!r.ok) throw 'errors' in r ? invalid(r.errors) : new HttpError(404, 'not_found', 'Not found.');
  req.log.info({ monitorId: r.monitor.id, domain: r.monitor.domain.ascii }, 'monitor created');
  res
    .status(201)
    .location(`/api/v1/monitors/${r.monitor.id}`)
    .json(await monitorBody(ctx.monitors, r.monitor, accessIn(res)));
}

async function read(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const access = accessIn(res);
  const m = await load(ctx, req);
  const store = ctx.monitors.store;
  const [last, alerts, runCount] = await Promise.all([
    store.lastRuns().then((l) => l[m.id]),
    store.alerts(m.id, 20),
    store.runCount(m.id),
  ]);
  res.json({
    ...(await monitorBody(ctx.monitors, m, access, last)),
    recentAlerts: alerts,
    runCount,
    ...(access.admin ? { deliveries: await store.deliveries(m.id, 20) } : {}),
  });
}

async function change(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const r = await ctx.monitors.update(String(req.params.id), req.body);
  if (!r.ok)
    throw 'errors' in r ? invalid(r.errors) : new HttpError(404, 'not_found', 'No such monitor.', 'id');
  req.log.info({ monitorId: r.monitor.id, rev: r.monitor.rev }, 'monitor changed');
  const last = (await ctx.monitors.store.lastRuns())[r.monitor.id];
  res.json(await monitorBody(ctx.monitors, r.monitor, accessIn(res), last));
}

async function remove(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const existed = await ctx.monitors.delete(String(req.params.id));
  if (!existed) throw new HttpError(404, 'not_found', 'No such monitor.', 'id');
  req.log.info({ monitorId: req.params.id }, 'monitor deleted');
  res.status(204).end();
}

async function runNow(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const q = await ctx.monitors.runNow(m, 'manual');
  res.status(202).json({ ...q, links: { run: `/api/v1/monitors/${m.id}/runs/${q.runId}` } });
}

async function sendTest(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const deliveryId = await ctx.monitors.sendTest(m, String(req.params.destinationId));
  if (!deliveryId)
    throw new HttpError(404, 'not_found', 'This monitor has no such destination.', 'destinationId');
  res.status(202).json({ deliveryId });
}

// ---------------------------------------------------------------------------------------
// Runs

async function runs(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const limit = limitParam(req.query.limit, 50, 500);
  const before = req.query.before;
  if (before !== undefined && (typeof before !== 'string' || Number.isNaN(Date.parse(before))))
    throw new HttpError(
      400,
      'invalid_request',
      'before must be a time (ISO 8601), e.g. the "next" of the previous page.',
      'before',
    );
  const found = await ctx.monitors.store.runs(m.id, limit + 1, before as string | undefined);
  const page = found.slice(0, limit);
  res.json({
    monitorId: m.id,
    runs: page,
    ...(found.length > limit ? { next: page[page.length - 1]!.at } : {}),
  });
}

async function run(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const runId = String(req.params.runId);
  const found = await ctx.monitors.store.runWithReport(m.id, runId);
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
}

async function diff(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const q = (k: string) => {
    const v = req.query[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || v.length > 64)
      throw new HttpError(400, 'invalid_request', `${k} must be a run id.`, k);
    return v;
  };
  const r = await ctx.monitors.diff(m.id, q('from'), q('to'));
  if (!r.ok)
    throw new HttpError(r.status, r.status === 404 ? 'not_found' : 'invalid_request', r.message, r.field);
  res.json(r.diff);
}
