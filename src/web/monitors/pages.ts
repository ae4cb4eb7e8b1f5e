import express, { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Monitor } from '../../monitor/model.js';
import type { MonitorManager } from '../../queue/monitor-manager.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { safeEqual } from '../tokens.js';
import type { Csrf } from '../security.js';
import type { Views } from '../views.js';
import { accessOf, clearSession, sessionValue, setSession } from './auth.js';
import type { Access } from './auth.js';
import { formDefaults, formErrors, formPageView, formToInput, formValuesOf, readForm } from './form.js';
import type { FormError, MonitorFormValues } from './form.js';
import { diffPageView, monitorListView, monitorPageView, runPageView } from './view.js';

/**
 * The monitor pages: the list, one monitor (history timeline with what changed between
 * consecutive runs, alerts and their deliveries, actions), a run's report with its diff,
 * a diff between any two runs, the create/edit form, and admin sign-in. Thin: one handler
 * per route reads the manager and renders a page model built in view.ts or form.ts.
 */
interface Ctx {
  deps: AppDeps;
  monitors: MonitorManager;
  views: Views;
  csrf: Csrf;
  secret: () => Promise<string>;
}

type Page = (ctx: Ctx, req: Request, res: Response) => Promise<void>;
type Gate = (ctx: Ctx, req: Request, res: Response, next: NextFunction) => Promise<void>;

const STYLES = { styles: 'monitor.css' };

export function monitorPagesRouter(
  deps: AppDeps,
  monitors: MonitorManager,
  views: Views,
  csrf: Csrf,
  secret: () => Promise<string>,
): Router {
  const ctx: Ctx = { deps, monitors, views, csrf, secret };
  const router = Router();
  const on =
    (page: Page): RequestHandler =>
    (req, res) =>
      page(ctx, req, res);
  const gate =
    (g: Gate): RequestHandler =>
    (req, res, next) =>
      g(ctx, req, res, next);
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 120 });
  const post = [form, csrf.verify()];
  const view = gate(needView);
  const admin = gate(needAdmin);

  router.use('/monitors', gate(withAccess));
  router.get('/monitors/signin', on(signInLink));
  router.post('/monitors/signin', ...post, on(signIn));
  router.post('/monitors/signout', ...post, on(signOut));
  router.get('/monitors', view, on(listPage));
  router.get('/monitors/new', admin, on(newForm));
  router.post('/monitors', admin, ...post, on(create));
  router.get('/monitors/:id', view, on(monitorPage));
  router.get('/monitors/:id/edit', admin, on(editForm));
  router.post('/monitors/:id', admin, ...post, on(update));
  router.post('/monitors/:id/pause', admin, ...post, on(pause));
  router.post('/monitors/:id/resume', admin, ...post, on(resume));
  router.post('/monitors/:id/run', admin, ...post, on(runNow));
  router.post('/monitors/:id/delete', admin, ...post, on(remove));
  router.post('/monitors/:id/destinations/:destinationId/test', admin, ...post, on(sendTest));
  router.get('/monitors/:id/runs/:runId', view, on(runPage));
  router.get('/monitors/:id/runs/:runId/report.json', view, on(runReport));
  router.get('/monitors/:id/diff', view, on(diffPage));
  return router;
}

// ---------------------------------------------------------------------------------------
// Access

function safeNext(raw: unknown): string {
  const v = typeof raw === 'string' ? raw : '';
  return /^\/monitors(\/[A-Za-z0-9_/-]*)?$/.test(v) ? v : '/monitors';
}

function accessIn(res: Response): Access {
  return res.locals.access as Access;
}

async function withAccess(ctx: Ctx, req: Request, res: Response, next: NextFunction): Promise<void> {
  res.locals.access = await accessOf(req, ctx.deps.config, ctx.secret);
  res.setHeader('Cache-Control', 'no-store');
  next();
}

async function needView(ctx: Ctx, req: Request, res: Response, next: NextFunction): Promise<void> {
  if (accessIn(res).view) return next();
  await signInPage(
    ctx,
    req,
    res,
    401,
    'Monitors on this server are private. Sign in with the admin token to see them.',
  );
}

async function needAdmin(ctx: Ctx, req: Request, res: Response, next: NextFunction): Promise<void> {
  if (accessIn(res).admin) return next();
  await signInPage(ctx, req, res, 401, 'Creating and changing monitors needs the admin token.');
}

async function signInPage(
  ctx: Ctx,
  req: Request,
  res: Response,
  status: number,
  message?: string,
): Promise<void> {
  const access = res.locals.access as Access | undefined;
  res
    .status(status)
    .type('html')
    .send(
      ctx.views.render('monitor-signin', {
        ...STYLES,
        csrf: await ctx.csrf.token(req, res),
        next: safeNext(req.query.next ?? req.originalUrl),
        configured: access?.adminConfigured ?? Boolean(ctx.deps.config.auth.adminToken),
        message: message ?? '',
      }),
    );
}

/**
 * The sign-in page, or the link printed at first start (/monitors/signin?token=…): a valid
 * token signs the browser in and leaves the token out of the address bar and history.
 */
async function signInLink(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const token = req.query.token;
  if (token === undefined) return signInPage(ctx, req, res, 200);
  const admin = ctx.deps.config.auth.adminToken;
  if (!admin || typeof token !== 'string' || !safeEqual(admin, token)) {
    req.log.warn('monitor sign-in link with a wrong token');
    return signInPage(
      ctx,
      req,
      res,
      401,
      'This sign-in link is not valid (the admin token may have changed). Sign in with the admin token.',
    );
  }
  setSession(req, res, sessionValue(await ctx.secret(), admin));
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.redirect(303, safeNext(req.query.next));
}

async function signIn(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const token = typeof req.body?.token === 'string' ? (req.body.token as string).trim() : '';
  const admin = ctx.deps.config.auth.adminToken;
  if (!admin || !token || !safeEqual(admin, token)) {
    req.log.warn('monitor sign-in with a wrong token');
    await signInPage(
      ctx,
      req,
      res,
      401,
      admin ? 'That is not the admin token.' : 'No admin token is configured on this server.',
    );
    return;
  }
  setSession(req, res, sessionValue(await ctx.secret(), admin));
  res.redirect(303, safeNext(req.body?.next));
}

async function signOut(_ctx: Ctx, req: Request, res: Response): Promise<void> {
  clearSession(req, res);
  res.redirect(303, '/monitors');
}

// ---------------------------------------------------------------------------------------
// Pages

async function load(ctx: Ctx, req: Request): Promise<Monitor> {
  const m = await ctx.monitors.get(String(req.params.id));
  if (!m)
    throw new HttpError(404, 'not_found', 'There is no monitor at this address; it may have been deleted.');
  return m;
}

async function listPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const access = accessIn(res);
  const label = typeof req.query.label === 'string' ? req.query.label.slice(0, 64) : '';
  const [monitors, last] = await Promise.all([ctx.monitors.list(), ctx.monitors.store.lastRuns()]);
  const next = await ctx.monitors.scheduler.nextRunsOf(monitors);
  res.type('html').send(
    ctx.views.render('monitors', {
      ...STYLES,
      ...monitorListView(monitors, last, next, label, new Date()),
      admin: access.admin,
      adminConfigured: access.adminConfigured,
      csrf: await ctx.csrf.token(req, res),
    }),
  );
}

async function monitorPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const { admin } = accessIn(res);
  const m = await load(ctx, req);
  const store = ctx.monitors.store;
  const [runs, alerts, deliveries, destinationStatus, last, next, runCount] = await Promise.all([
    store.runs(m.id, 50),
    store.alerts(m.id, 30),
    admin ? store.deliveries(m.id, 100) : Promise.resolve([]),
    admin ? store.destinationStatus(m.id) : Promise.resolve({}),
    store.lastRuns().then((l) => l[m.id]),
    ctx.monitors.scheduler.nextRun(m).catch(() => undefined),
    store.runCount(m.id),
  ]);
  const page = monitorPageView(
    m,
    { runs, alerts, deliveries, destinationStatus, last, next, runCount },
    {
      admin,
      notice: typeof req.query.notice === 'string' ? req.query.notice : '',
      emailEnabled: Boolean(ctx.deps.config.alert.smtpUrl),
      now: new Date(),
    },
  );
  res
    .type('html')
    .send(ctx.views.render('monitor', { ...STYLES, csrf: await ctx.csrf.token(req, res), ...page }));
}

async function runPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const runId = String(req.params.runId);
  const found = await ctx.monitors.store.runWithReport(m.id, runId);
  if (!found)
    throw new HttpError(
      404,
      'not_found',
      'There is no such run of this monitor; runs are kept for a limited time.',
    );
  const diff = found.previous ? await ctx.monitors.diff(m.id, found.previous, runId) : undefined;
  res.type('html').send(
    ctx.views.render('monitor-run', {
      ...STYLES,
      csrf: await ctx.csrf.token(req, res),
      ...runPageView(m, found, diff?.ok ? diff.diff : undefined, ctx.deps.checks, new Date()),
    }),
  );
}

async function runReport(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const report = await ctx.monitors.store.report(m.id, String(req.params.runId));
  if (!report) throw new HttpError(404, 'not_found', 'There is no such run of this monitor.');
  res.setHeader(
    'Content-Disposition',
    `attachment; filename="mxdoctor-${m.domain.ascii}-${report.startedAt.slice(0, 16).replace(':', '')}.json"`,
  );
  res.type('application/json').send(JSON.stringify(report));
}

async function diffPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const q = (k: string) =>
    typeof req.query[k] === 'string' && req.query[k] ? String(req.query[k]).slice(0, 64) : undefined;
  const runs = await ctx.monitors.store.runs(m.id, 200);
  const r = await ctx.monitors.diff(m.id, q('from'), q('to'));
  res
    .status(r.ok ? 200 : r.status)
    .type('html')
    .send(
      ctx.views.render('monitor-diff', {
        ...STYLES,
        ...diffPageView(m, runs, { from: q('from'), to: q('to') }, r),
      }),
    );
}

// ---------------------------------------------------------------------------------------
// The form

async function renderForm(
  ctx: Ctx,
  req: Request,
  res: Response,
  status: number,
  values: MonitorFormValues,
  monitor: Monitor | undefined,
  errors: FormError[] = [],
): Promise<void> {
  res
    .status(status)
    .type('html')
    .send(
      ctx.views.render('monitor-form', {
        ...STYLES,
        csrf: await ctx.csrf.token(req, res),
        ...formPageView(ctx.deps.config, values, monitor, errors),
      }),
    );
}

async function newForm(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const values = formValuesOf(undefined, formDefaults(ctx.deps.config));
  if (typeof req.query.domain === 'string') values.domain = req.query.domain.slice(0, 1024);
  await renderForm(ctx, req, res, 200, values, undefined);
}

async function editForm(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  await renderForm(ctx, req, res, 200, formValuesOf(m, formDefaults(ctx.deps.config)), m);
}

async function create(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const values = readForm(req.body);
  const r = await ctx.monitors.create(formToInput({ ...values, destinationsLocked: false }));
  if (!r.ok) {
    await renderForm(
      ctx,
      req,
      res,
      400,
      values,
      undefined,
      'errors' in r ? formErrors(values, r.errors) : [],
    );
    return;
  }
  req.log.info({ monitorId: r.monitor.id, domain: r.monitor.domain.ascii }, 'monitor created');
  res.redirect(303, `/monitors/${r.monitor.id}`);
}

async function update(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const values = readForm(req.body);
  const r = await ctx.monitors.update(m.id, formToInput(values));
  if (!r.ok) {
    if ('notFound' in r) throw new HttpError(404, 'not_found', 'The monitor was deleted meanwhile.');
    await renderForm(ctx, req, res, 400, values, m, formErrors(values, r.errors));
    return;
  }
  req.log.info({ monitorId: m.id, rev: r.monitor.rev }, 'monitor changed');
  res.redirect(303, `/monitors/${m.id}?notice=saved`);
}

// ---------------------------------------------------------------------------------------
// Actions

async function pause(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  await ctx.monitors.setPaused(m.id, true);
  res.redirect(303, `/monitors/${m.id}?notice=paused`);
}

async function resume(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  await ctx.monitors.setPaused(m.id, false);
  res.redirect(303, `/monitors/${m.id}?notice=resumed`);
}

async function runNow(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  await ctx.monitors.runNow(m, 'manual', { dedupe: true });
  res.redirect(303, `/monitors/${m.id}?notice=run`);
}

async function remove(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  await ctx.monitors.delete(m.id);
  req.log.info({ monitorId: m.id }, 'monitor deleted');
  res.redirect(303, '/monitors');
}

async function sendTest(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const m = await load(ctx, req);
  const id = await ctx.monitors.sendTest(m, String(req.params.destinationId));
  if (!id) throw new HttpError(404, 'not_found', 'This monitor has no such destination.');
  res.redirect(303, `/monitors/${m.id}?notice=test#destinations`);
}
