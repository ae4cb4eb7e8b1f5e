import { streamProgress } from '../progress-stream.js';
import { Router } from 'express';
import express from 'express';
import type { Request, Response } from 'express';
import { normalizeDomain } from '../../input/domain.js';
import { JOB_ID_PATTERN } from '../../queue/names.js';
import type { ReportMeta } from '../../store/reports.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { FieldError } from '../../input/check-request.js';
import { parseCheckRequest } from '../../input/check-request.js';
import type { Csrf } from '../security.js';
import { VERDICT_TEXT, reportView } from './view-model.js';
import type { Views } from '../views.js';

/**
 * The HTML pages: the form, the check page (live progress, then the report), the JSON
 * download, re-run, and a domain's history. Thin: parse, call the queue or the store,
 * render a view model.
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

function historyRows(history: ReportMeta[], currentId?: string) {
  return history.map((h) => ({
    id: h.id,
    current: h.id === currentId,
    when: h.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
    verdict: h.verdict,
    verdictLabel: VERDICT_TEXT[h.verdict].label,
    countsText: `${h.counts.fail} fail, ${h.counts.warn} warn, ${h.counts.error} could not check`,
    optionsText:
      [
        h.options.verify.length ? `verify ${h.options.verify.length}` : '',
        h.options.dkimSelectors.length ? `selectors ${h.options.dkimSelectors.join(' ')}` : '',
        h.options.smtp ? '' : 'SMTP off',
      ]
        .filter(Boolean)
        .join(', ') || '—',
  }));
}

export function pagesRouter(
  deps: AppDeps,
  views: Views,
  csrf: Csrf,
  checkLimit: express.RequestHandler,
): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  const renderHome = async (
    req: Request,
    res: Response,
    status: number,
    values: FormValues,
    errors: FieldError[] = [],
  ): Promise<void> => {
    const fieldErrors: Record<string, string> = {};
    for (const e of errors) {
      const field = e.field.replace(/\[\d+\]$/, '');
      fieldErrors[FIELD_IDS[field] ? field : 'domain'] ??= e.message;
    }
    res
      .status(status)
      .type('html')
      .send(
        views.render('home', {
          csrf: await csrf.token(req, res),
          values,
          errors: errors.map((e) => {
            const field = e.field.replace(/\[\d+\]$/, '');
            return { fieldId: FIELD_IDS[field] ?? 'domain', message: e.message };
          }),
          fieldErrors,
        }),
      );
  };

  router.get('/', async (req, res) => {
    const domain = typeof req.query.domain === 'string' ? req.query.domain.slice(0, 1024) : '';
    await renderHome(req, res, 200, { domain, verify: '', dkimSelectors: '', smtpOff: false });
  });

  router.post('/checks', form, csrf.verify(), checkLimit, async (req, res) => {
    const values = formOf(req.body);
    const parsed = parseCheckRequest({
      domain: values.domain,
      verify: splitList(values.verify),
      dkimSelectors: splitList(values.dkimSelectors),
      options: { smtp: !values.smtpOff },
    });
    if (!parsed.ok) {
      await renderHome(req, res, 400, values, parsed.errors);
      return;
    }
    const { id } = await deps.queue.submit(parsed.domain, parsed.options, {
      via: 'web',
      requestId: String(req.id),
    });
    res.locals.jobId = id;
    res.redirect(303, `/checks/${id}`);
  });

  router.get('/checks/:id', async (req, res) => {
    const id = req.params.id;
    const status = await deps.queue.status(id);
    if (!status) throw notFound();
    res.locals.jobId = id;
    const domainText =
      status.domain.unicode !== status.domain.ascii
        ? `${status.domain.unicode} (${status.domain.ascii})`
        : status.domain.ascii;
    const token = await csrf.token(req, res);
    if (status.state === 'completed') {
      const report = await deps.store.get(id);
      if (!report) throw notFound();
      const history = await deps.store.listByDomain(report.domain.ascii, 10);
      res.setHeader('Cache-Control', 'private, max-age=60');
      res.type('html').send(
        views.render('check', {
          heading: `Mail check of ${domainText}`,
          state: 'completed',
          id,
          csrf: token,
          domainAscii: report.domain.ascii,
          report: reportView(report, deps.checks),
          history: historyRows(history, id),
        }),
      );
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      views.render('check', {
        heading: status.state === 'failed' ? `Check of ${domainText} failed` : `Checking ${domainText}`,
        state: status.state,
        id,
        csrf: token,
        domain: domainText,
        error: status.error ?? '',
        percent: status.progress?.percent ?? 0,
        message:
          status.progress?.message ?? (status.state === 'queued' ? 'Waiting for a worker…' : 'Starting…'),
        refreshSeconds: status.state === 'failed' ? 0 : 3,
        script: status.state === 'failed' ? '' : 'check.js',
      }),
    );
  });

  router.get('/checks/:id/events', async (req, res) => {
    const id = req.params.id;
    if (!JOB_ID_PATTERN.test(id)) throw notFound();
    res.locals.jobId = id;
    await streamProgress(req, res, id, deps.events, (jobId) => deps.queue.status(jobId));
  });

  router.get('/checks/:id/report.json', async (req, res) => {
    const id = req.params.id;
    if (!JOB_ID_PATTERN.test(id)) throw notFound();
    res.locals.jobId = id;
    const text = await deps.store.getText(id);
    if (!text) throw notFound();
    const meta = await deps.store.getMeta(id);
    const day = (meta?.startedAt ?? '').slice(0, 10);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="mxdoctor-${meta?.domain.ascii ?? 'report'}${day ? `-${day}` : ''}.json"`,
    );
    res.type('application/json').send(text);
  });

  router.post('/checks/:id/rerun', form, csrf.verify(), checkLimit, async (req, res) => {
    const status = await deps.queue.status(String(req.params.id));
    if (!status) throw notFound();
    const domain = normalizeDomain(status.domain.input);
    if (!domain.ok) throw notFound();
    const { id } = await deps.queue.submit(domain.domain, status.options, {
      via: 'rerun',
      requestId: String(req.id),
      fresh: true,
    });
    res.locals.jobId = id;
    res.redirect(303, `/checks/${id}`);
  });

  router.get('/domains/:domain', async (req, res) => {
    const d = normalizeDomain(String(req.params.domain));
    if (!d.ok) throw new HttpError(400, 'invalid_request', d.error, 'domain');
    const history = await deps.store.listByDomain(d.domain.ascii);
    res.type('html').send(
      views.render('domain', {
        domain:
          d.domain.unicode !== d.domain.ascii ? `${d.domain.unicode} (${d.domain.ascii})` : d.domain.ascii,
        domainAscii: d.domain.ascii,
        history: historyRows(history),
      }),
    );
  });

  return router;
}

function notFound(): HttpError {
  return new HttpError(
    404,
    'not_found',
    'There is no check at this address. Reports are kept for a limited time; start a new check from the form.',
  );
}
