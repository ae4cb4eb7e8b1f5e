import { streamProgress } from '../progress-stream.js';
import { Router } from 'express';
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { normalizeDomain } from '../../input/domain.js';
import { scoreOf } from '../../report/grade.js';
import { badgeSvg } from './badge.js';
import { JOB_ID_PATTERN } from '../../queue/names.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { FieldError } from '../../input/check-request.js';
import { parseCheckRequest } from '../../input/check-request.js';
import type { Csrf } from '../security.js';
import { readerIn, submitterOf } from '../readers.js';
import { completedCheckView, domainText, historyRows, pendingCheckView } from './view-model.js';
import { listFor, visibleTo } from './visibility.js';
import type { Views } from '../views.js';

/**
 * The HTML pages: the form, the check page (live progress, then the report), the JSON
 * download, re-run, and a domain's history. Thin: one handler per route parses, calls the
 * queue or the store, and renders a page model built in view-model.ts.
 */
interface FormValues {
  domain: string;
  verify: string;
  dkimSelectors: string;
  smtpOff: boolean;
}

const FIELD_IDS: Record<string, string> = {
  domain: 'domain',
  verify: 'verify',
  dkimSelectors: 'dkimSelectors',
};

function splitList(value: unknown): string[] {
  return String(value ?? '')
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function formOf(body: unknown): FormValues {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
  return {
    domain: text(b.domain).slice(0, 1024),
    verify: text(b.verify).slice(0, 8192),
    dkimSelectors: text(b.dkimSelectors).slice(0, 4096),
    smtpOff: text(b.smtpOff) === '1',
  };
}

interface Ctx {
  deps: AppDeps;
  views: Views;
  csrf: Csrf;
}

type Page = (ctx: Ctx, req: Request, res: Response) => Promise<void>;

export function pagesRouter(deps: AppDeps, views: Views, csrf: Csrf, checkLimit: RequestHandler): Router {
  const ctx: Ctx = { deps, views, csrf };
  const on =
    (page: Page): RequestHandler =>
    (req, res) =>
      page(ctx, req, res);
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const router = Router();
  router.get('/', on(home));
  router.post('/checks', form, csrf.verify(), checkLimit, on(submit));
  router.get('/checks/:id', on(checkPage));
  router.get('/checks/:id/events', on(events));
  router.get('/checks/:id/report.json', on(reportJson));
  router.post('/checks/:id/rerun', form, csrf.verify(), checkLimit, on(rerun));
  router.get('/domains/:domain', on(domainPage));
  router.get('/badge/:file', on(badge));
  return router;
}

/** `/badge/<domain>.svg`: the score of the domain's latest report, as an SVG badge. */
async function badge(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const file = String(req.params.file);
  if (!file.endsWith('.svg')) throw new HttpError(404, 'not_found', 'Badges are at /badge/<domain>.svg.');
  const d = normalizeDomain(file.slice(0, -4));
  if (!d.ok) throw new HttpError(400, 'invalid_request', d.error);
  const latest = (await ctx.deps.store.listByDomain(d.domain.ascii, 1))[0];
  const report = latest ? await ctx.deps.store.get(latest.id) : undefined;
  res.setHeader('Cache-Control', 'public, max-age=300');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
  res
    .type('image/svg+xml; charset=utf-8')
    .send(badgeSvg(d.domain.unicode, report ? scoreOf(report).value : null, Boolean(report)));
}

async function renderHome(
  ctx: Ctx,
  req: Request,
  res: Response,
  status: number,
  values: FormValues,
  errors: FieldError[] = [],
): Promise<void> {
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) {
    const field = e.field.replace(/\[\d+\]$/, '');
    fieldErrors[FIELD_IDS[field] ? field : 'domain'] ??= e.message;
  }
  res
    .status(status)
    .type('html')
    .send(
      ctx.views.render('home', {
        csrf: await ctx.csrf.token(req, res),
        values,
        errors: errors.map((e) => {
          const field = e.field.replace(/\[\d+\]$/, '');
          return { fieldId: FIELD_IDS[field] ?? 'domain', message: e.message };
        }),
        fieldErrors,
      }),
    );
}

async function home(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const domain = typeof req.query.domain === 'string' ? req.query.domain.slice(0, 1024) : '';
  await renderHome(ctx, req, res, 200, { domain, verify: '', dkimSelectors: '', smtpOff: false });
}

async function submit(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const values = formOf(req.body);
  const parsed = parseCheckRequest({
    domain: values.domain,
    verify: splitList(values.verify),
    dkimSelectors: splitList(values.dkimSelectors),
    options: { smtp: !values.smtpOff },
  });
  if (!parsed.ok) {
    await renderHome(ctx, req, res, 400, values, parsed.errors);
    return;
  }
  const { id } = await ctx.deps.queue.submit(parsed.domain, parsed.options, {
    via: 'web',
    requestId: String(req.id),
    owner: submitterOf(req, res, true),
  });
  res.locals.jobId = id;
  res.redirect(303, `/checks/${id}`);
}

/** A domain's earlier reports as the reader may list them. */
async function historyOf(ctx: Ctx, res: Response, ascii: string, limit?: number) {
  const all = await ctx.deps.store.listByDomain(ascii);
  return listFor(all, readerIn(res), ctx.deps.config.auth.reportsView, limit ?? all.length);
}

async function checkPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  const check = visibleTo(await ctx.deps.queue.status(id), readerIn(res));
  if (!check) throw notFound();
  const status = check.status;
  res.locals.jobId = id;
  res.setHeader('Vary', 'Cookie');
  const csrf = await ctx.csrf.token(req, res);
  if (status.state === 'completed') {
    const stored = await ctx.deps.store.get(id);
    if (!stored) throw notFound();
    const report = check.show(stored);
    const history = await historyOf(ctx, res, report.domain.ascii, 10);
    res.setHeader('Cache-Control', 'private, max-age=60');
    res
      .type('html')
      .send(
        ctx.views.render('check', { csrf, ...completedCheckView(status, report, history, ctx.deps.checks) }),
      );
    return;
  }
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(ctx.views.render('check', { csrf, ...pendingCheckView(status) }));
}

async function events(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!JOB_ID_PATTERN.test(id)) throw notFound();
  const found = await ctx.deps.queue.status(id);
  const check = visibleTo(found, readerIn(res));
  // An unknown check is streamed as "gone"; someone else's token's check does not exist.
  if (found && !check) throw notFound();
  res.locals.jobId = id;
  await streamProgress(
    req,
    res,
    id,
    ctx.deps.events,
    async (jobId) => visibleTo(await ctx.deps.queue.status(jobId), readerIn(res))?.status,
    check?.show,
  );
}

async function reportJson(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!JOB_ID_PATTERN.test(id)) throw notFound();
  res.locals.jobId = id;
  const check = visibleTo(await ctx.deps.queue.status(id), readerIn(res));
  const stored = check && (await ctx.deps.store.getText(id));
  if (!check || !stored) throw notFound();
  const meta = await ctx.deps.store.getMeta(id);
  // The owner gets the stored bytes; anyone else the same JSON with the addresses hidden.
  const text = check.seesAddresses ? stored : JSON.stringify(check.show(JSON.parse(stored) as unknown));
  res.setHeader('Vary', 'Cookie');
  const day = (meta?.startedAt ?? '').slice(0, 10);
  res.setHeader(
    'Content-Disposition',
    `attachment; filename="mxdoctor-${meta?.domain.ascii ?? 'report'}${day ? `-${day}` : ''}.json"`,
  );
  res.type('application/json').send(text);
}

async function rerun(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const check = visibleTo(await ctx.deps.queue.status(String(req.params.id)), readerIn(res));
  if (!check) throw notFound();
  const status = check.status;
  const domain = normalizeDomain(status.domain.input);
  if (!domain.ok) throw notFound();
  // Someone else's verified addresses are not theirs to ask about again.
  const options = check.seesAddresses ? status.options : { ...status.options, verify: [] };
  const { id } = await ctx.deps.queue.submit(domain.domain, options, {
    via: 'rerun',
    requestId: String(req.id),
    fresh: true,
    owner: submitterOf(req, res, true),
  });
  res.locals.jobId = id;
  res.redirect(303, `/checks/${id}`);
}

async function domainPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const d = normalizeDomain(String(req.params.domain));
  if (!d.ok) throw new HttpError(400, 'invalid_request', d.error, 'domain');
  const history = await historyOf(ctx, res, d.domain.ascii);
  res.setHeader('Vary', 'Cookie');
  res.type('html').send(
    ctx.views.render('domain', {
      domain: domainText(d.domain),
      domainAscii: d.domain.ascii,
      history: historyRows(history),
    }),
  );
}

function notFound(): HttpError {
  return new HttpError(
    404,
    'not_found',
    'There is no check at this address. Reports are kept for a limited time; start a new check from the form.',
  );
}
