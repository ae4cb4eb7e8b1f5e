import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { DEFAULT_ALERT_RULES, RULE_DESCRIPTIONS, RULE_IDS } from '../../monitor/alerts.js';
import { formatInterval } from '../../monitor/schedule.js';
import { toAlertSettings } from '../../monitor/model.js';
import type { Monitor } from '../../monitor/model.js';
import type { MonitorService } from '../../queue/monitor-manager.js';
import type { FieldError } from '../../input/check-request.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { accessOf, clearSession, sessionValue, setSession } from './auth.js';
import type { Access } from './auth.js';
import {
  WEBHOOK_ROWS,
  alertRows,
  destinationRows,
  diffView,
  formToInput,
  formValuesOf,
  monitorRow,
  readForm,
  rulesText,
  runRow,
  when,
} from './view.js';
import type { MonitorFormValues } from './view.js';
import { safeEqual } from '../security.js';
import type { Csrf } from '../security.js';
import { reportView } from '../checks/view-model.js';
import type { Views } from '../views.js';

/**
 * The monitor pages: the list, one monitor (history timeline with what changed between
 * consecutive runs, alerts and their deliveries, actions), a run's report with its diff,
 * a diff between any two runs, the create/edit form, and admin sign-in. Thin: read the
 * service, build view models (monitor-view.ts), render.
 */
const EVERY_CHOICES = ['5m', '10m', '15m', '30m', '1h', '2h', '6h', '12h', '1d'];

function safeNext(raw: unknown): string {
  const v = typeof raw === 'string' ? raw : '';
  return /^\/monitors(\/[A-Za-z0-9_/-]*)?$/.test(v) ? v : '/monitors';
}

export function monitorPagesRouter(
  deps: AppDeps,
  service: MonitorService,
  views: Views,
  csrf: Csrf,
  secret: () => Promise<string>,
): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 120 });
  const now = () => new Date();
  const common = { styles: 'monitor.css' };

  const everyChoices = (current: string) => {
    const min = deps.config.monitor.minIntervalMs;
    const choices = EVERY_CHOICES.filter((c) => {
      const ms = /^(\d+)([mhd])$/.exec(c)!;
      return Number(ms[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ms[2] as 'm'] >= min;
    });
    if (!choices.includes(formatInterval(min))) choices.unshift(formatInterval(min));
    if (current && !choices.includes(current)) choices.push(current);
    return choices;
  };

  const signInPage = async (req: Request, res: Response, status: number, message?: string): Promise<void> => {
    const access = res.locals.access as Access | undefined;
    res
      .status(status)
      .type('html')
      .send(
        views.render('monitor-signin', {
          ...common,
          csrf: await csrf.token(req, res),
          next: safeNext(req.query.next ?? req.originalUrl),
          configured: access?.adminConfigured ?? Boolean(deps.config.auth.adminToken),
          message: message ?? '',
        }),
      );
  };

  const withAccess = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    res.locals.access = await accessOf(req, deps.config, secret);
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  const needView = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if ((res.locals.access as Access).view) return next();
    await signInPage(
      req,
      res,
      401,
      'Monitors on this server are private. Sign in with the admin token to see them.',
    );
  };
  const needAdmin = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if ((res.locals.access as Access).admin) return next();
    await signInPage(req, res, 401, 'Creating and changing monitors needs the admin token.');
  };
  const load = async (req: Request): Promise<Monitor> => {
    const m = await service.get(String(req.params.id));
    if (!m)
      throw new HttpError(404, 'not_found', 'There is no monitor at this address; it may have been deleted.');
    return m;
  };

  router.use('/monitors', withAccess);

  router.get('/monitors/signin', async (req, res) => {
    await signInPage(req, res, 200);
  });

  router.post('/monitors/signin', form, csrf.verify(), async (req, res) => {
    const token = typeof req.body?.token === 'string' ? (req.body.token as string).trim() : '';
    const admin = deps.config.auth.adminToken;
    if (!admin || !token || !safeEqual(admin, token)) {
      req.log.warn('monitor sign-in with a wrong token');
      await signInPage(
        req,
        res,
        401,
        admin ? 'That is not the admin token.' : 'No admin token is configured on this server.',
      );
      return;
    }
    setSession(req, res, sessionValue(await secret(), admin));
    res.redirect(303, safeNext(req.body?.next));
  });

  router.post('/monitors/signout', form, csrf.verify(), (req, res) => {
    clearSession(req, res);
    res.redirect(303, '/monitors');
  });

  router.get('/monitors', needView, async (req, res) => {
    const access = res.locals.access as Access;
    const label = typeof req.query.label === 'string' ? req.query.label.slice(0, 64) : '';
    const [monitors, last] = await Promise.all([service.list(), service.store.lastRuns()]);
    const next = await service.scheduler.nextRunsOf(monitors);
    const t = now();
    const rows = monitors
      .filter((m) => !label || m.labels.includes(label))
      .map((m) => monitorRow(m, last[m.id], next.get(m.id), t))
      .sort((a, b) => a.title.localeCompare(b.title));
    const labels = [...new Set(monitors.flatMap((m) => m.labels))].sort();
    res.type('html').send(
      views.render('monitors', {
        ...common,
        rows,
        labels,
        label,
        admin: access.admin,
        adminConfigured: access.adminConfigured,
        csrf: await csrf.token(req, res),
        total: monitors.length,
      }),
    );
  });

  const renderForm = async (
    req: Request,
    res: Response,
    status: number,
    values: MonitorFormValues,
    monitor: Monitor | undefined,
    errors: { fieldId: string; message: string }[] = [],
  ): Promise<void> => {
    const fieldErrors: Record<string, string> = {};
    for (const e of errors) fieldErrors[e.fieldId] ??= e.message;
    res
      .status(status)
      .type('html')
      .send(
        views.render('monitor-form', {
          ...common,
          csrf: await csrf.token(req, res),
          monitor: monitor ? { id: monitor.id, title: monitor.name ?? monitor.domain.unicode } : undefined,
          values,
          errors,
          fieldErrors,
          everyChoices: everyChoices(values.every),
          rules: RULE_IDS.map((id) => ({ id, description: RULE_DESCRIPTIONS[id] })),
          webhookRows: WEBHOOK_ROWS,
          minInterval: formatInterval(deps.config.monitor.minIntervalMs),
          emailEnabled: Boolean(deps.config.alert.smtpUrl),
        }),
      );
  };

  /** API field names → form field ids, for errors shown next to the right field. */
  const fieldId = (v: MonitorFormValues, field: string): string => {
    const top = field.split(/\[\d+\]/)[0]!.split('.')[0]!;
    if (top === 'destinations') {
      const i = Number(/^destinations\[(\d+)\]/.exec(field)?.[1] ?? 0);
      const hasEmail = Boolean(v.emails.trim());
      if (hasEmail && i === 0) return 'emails';
      const hooks = v.webhooks.map((w, j) => (w.url ? j : -1)).filter((j) => j >= 0);
      return `webhookUrl${hooks[i - (hasEmail ? 1 : 0)] ?? 0}`;
    }
    if (top === 'schedule') return v.cron.trim() ? 'cron' : 'every';
    if (top === 'alerts') {
      const sub = field.split('.')[1] ?? '';
      return ['unknownAfter', 'expiryWarnDays', 'expiryFailDays'].includes(sub) ? sub : 'unknownAfter';
    }
    if (top === 'retention') return field.endsWith('runs') ? 'retentionRuns' : 'retentionDays';
    if (['domain', 'name', 'verify', 'dkimSelectors', 'labels'].includes(top)) return top;
    return 'domain';
  };
  const formErrors = (v: MonitorFormValues, errors: FieldError[]) =>
    errors.map((e) => ({ fieldId: fieldId(v, e.field), message: e.message }));

  const defaults = () => ({
    retentionDays: Math.round(deps.config.monitor.retentionMs / 86_400_000),
    retentionRuns: deps.config.monitor.maxRuns,
    rules: toAlertSettings(DEFAULT_ALERT_RULES),
  });

  router.get('/monitors/new', needAdmin, async (req, res) => {
    const values = formValuesOf(undefined, defaults());
    if (typeof req.query.domain === 'string') values.domain = req.query.domain.slice(0, 1024);
    await renderForm(req, res, 200, values, undefined);
  });

  router.post('/monitors', needAdmin, form, csrf.verify(), async (req, res) => {
    const values = readForm(req.body);
    const r = await service.create(formToInput({ ...values, destinationsLocked: false }));
    if (!r.ok) {
      await renderForm(req, res, 400, values, undefined, 'errors' in r ? formErrors(values, r.errors) : []);
      return;
    }
    req.log.info({ monitorId: r.monitor.id, domain: r.monitor.domain.ascii }, 'monitor created');
    res.redirect(303, `/monitors/${r.monitor.id}`);
  });

  router.get('/monitors/:id', needView, async (req, res) => {
    const access = res.locals.access as Access;
    const m = await load(req);
    const t = now();
    const [runs, alerts, deliveries, destStatus, last, next, runCount] = await Promise.all([
      service.store.runs(m.id, 50),
      service.store.alerts(m.id, 30),
      access.admin ? service.store.deliveries(m.id, 100) : Promise.resolve([]),
      access.admin ? service.store.destinationStatus(m.id) : Promise.resolve({}),
      service.store.lastRuns().then((l) => l[m.id]),
      service.scheduler.nextRun(m).catch(() => undefined),
      service.store.runCount(m.id),
    ]);
    const notice = typeof req.query.notice === 'string' ? req.query.notice : '';
    const notices: Record<string, string> = {
      run: 'A run is queued; it appears below when it has finished (reload the page).',
      test: 'The test alert is queued; its outcome appears under Destinations.',
      paused: 'The monitor is paused: it does not run until you resume it.',
      resumed: 'The monitor runs on its schedule again.',
      saved: 'Saved.',
    };
    res.type('html').send(
      views.render('monitor', {
        ...common,
        csrf: await csrf.token(req, res),
        admin: access.admin,
        m: {
          ...monitorRow(m, last, next, t),
          rules: rulesText(m),
          verify: m.options.verify,
          dkimSelectors: m.options.dkimSelectors,
          smtp: m.options.smtp,
          retention: `${m.retention.days} days or ${m.retention.runs} runs, whichever is fewer`,
          created: when(m.createdAt),
          unknownAfter: m.alerts.unknownAfter,
          expiry: `${m.alerts.expiryWarnDays} / ${m.alerts.expiryFailDays} days`,
        },
        runs: runs.map((r) => runRow(r, t)),
        runCount,
        alerts: alertRows(alerts, deliveries, m.destinations, access.admin),
        destinations: access.admin ? destinationRows(m, destStatus) : [],
        destinationCount: m.destinations.length,
        deliveries: deliveries.slice(0, 30).map((d) => ({ ...d, when: when(d.at) })),
        notice: notices[notice] ?? '',
        emailEnabled: Boolean(deps.config.alert.smtpUrl),
        // Without JavaScript, the page reloads itself until the first run is there.
        refreshSeconds: runs.length === 0 && !m.paused ? 5 : 0,
      }),
    );
  });

  router.get('/monitors/:id/edit', needAdmin, async (req, res) => {
    const m = await load(req);
    await renderForm(req, res, 200, formValuesOf(m, defaults()), m);
  });

  router.post('/monitors/:id', needAdmin, form, csrf.verify(), async (req, res) => {
    const m = await load(req);
    const values = readForm(req.body);
    const r = await service.update(m.id, formToInput(values));
    if (!r.ok) {
      if ('notFound' in r) throw new HttpError(404, 'not_found', 'The monitor was deleted meanwhile.');
      await renderForm(req, res, 400, values, m, formErrors(values, r.errors));
      return;
    }
    req.log.info({ monitorId: m.id, rev: r.monitor.rev }, 'monitor changed');
    res.redirect(303, `/monitors/${m.id}?notice=saved`);
  });

  router.post('/monitors/:id/pause', needAdmin, form, csrf.verify(), async (req, res) => {
    const m = await load(req);
    await service.setPaused(m.id, true);
    res.redirect(303, `/monitors/${m.id}?notice=paused`);
  });

  router.post('/monitors/:id/resume', needAdmin, form, csrf.verify(), async (req, res) => {
    const m = await load(req);
    await service.setPaused(m.id, false);
    res.redirect(303, `/monitors/${m.id}?notice=resumed`);
  });

  router.post('/monitors/:id/run', needAdmin, form, csrf.verify(), async (req, res) => {
    const m = await load(req);
    await service.runNow(m, 'manual', { dedupe: true });
    res.redirect(303, `/monitors/${m.id}?notice=run`);
  });

  router.post('/monitors/:id/delete', needAdmin, form, csrf.verify(), async (req, res) => {
    const m = await load(req);
    await service.delete(m.id);
    req.log.info({ monitorId: m.id }, 'monitor deleted');
    res.redirect(303, '/monitors');
  });

  router.post(
    '/monitors/:id/destinations/:destinationId/test',
    needAdmin,
    form,
    csrf.verify(),
    async (req, res) => {
      const m = await load(req);
      const id = await service.sendTest(m, String(req.params.destinationId));
      if (!id) throw new HttpError(404, 'not_found', 'This monitor has no such destination.');
      res.redirect(303, `/monitors/${m.id}?notice=test#destinations`);
    },
  );

  router.get('/monitors/:id/runs/:runId', needView, async (req, res) => {
    const m = await load(req);
    const runId = String(req.params.runId);
    const found = await service.store.runWithReport(m.id, runId);
    if (!found)
      throw new HttpError(
        404,
        'not_found',
        'There is no such run of this monitor; runs are kept for a limited time.',
      );
    const { run, report, previous, next } = found;
    const diff = previous ? await service.diff(m.id, previous, runId) : undefined;
    res.type('html').send(
      views.render('monitor-run', {
        ...common,
        csrf: await csrf.token(req, res),
        monitorRun: true,
        history: [],
        id: runId,
        monitor: { id: m.id, title: m.name ?? m.domain.unicode },
        run: runRow(run, now()),
        report: reportView(report, deps.checks, new Date(report.startedAt)),
        diff: diff?.ok ? diffView(diff.diff) : undefined,
        previousRunId: previous ?? '',
        nextRunId: next ?? '',
      }),
    );
  });

  router.get('/monitors/:id/runs/:runId/report.json', needView, async (req, res) => {
    const m = await load(req);
    const report = await service.store.report(m.id, String(req.params.runId));
    if (!report) throw new HttpError(404, 'not_found', 'There is no such run of this monitor.');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="mxdoctor-${m.domain.ascii}-${report.startedAt.slice(0, 16).replace(':', '')}.json"`,
    );
    res.type('application/json').send(JSON.stringify(report));
  });

  router.get('/monitors/:id/diff', needView, async (req, res) => {
    const m = await load(req);
    const q = (k: string) =>
      typeof req.query[k] === 'string' && req.query[k] ? String(req.query[k]).slice(0, 64) : undefined;
    const runs = await service.store.runs(m.id, 200);
    const r = await service.diff(m.id, q('from'), q('to'));
    res
      .status(r.ok ? 200 : r.status)
      .type('html')
      .send(
        views.render('monitor-diff', {
          ...common,
          monitor: { id: m.id, title: m.name ?? m.domain.unicode },
          runs: runs.map((x) => ({ runId: x.runId, label: `${when(x.at)} — ${x.verdict}` })),
          from: q('from') ?? (r.ok ? r.diff.from.reportId : ''),
          to: q('to') ?? (r.ok ? r.diff.to.reportId : ''),
          diff: r.ok ? diffView(r.diff) : undefined,
          error: r.ok ? '' : r.message,
        }),
      );
  });

  return router;
}
