import express, { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { InboundStatus } from '../../queue/jobs/inbound.js';
import { JOB_ID_PATTERN } from '../../queue/names.js';
import type { ProgressHub } from '../progress-hub.js';
import { streamProgress } from '../progress-stream.js';
import type { StreamedJob } from '../progress-stream.js';
import { HttpError } from '../errors.js';
import type { Csrf } from '../security.js';
import type { Views } from '../views.js';
import type { InboundDeps } from './api.js';
import { inboundPageView } from './view-model.js';

/**
 * The inbound test pages: the start page (a button that opens a test), the test page (the
 * address while it waits, live progress through the check pages' Server-Sent Events once the
 * message is in, then the report), its JSON download and its progress stream. Works without
 * JavaScript: the form is a plain POST and the waiting page refreshes itself.
 */
type Deps = InboundDeps & { inbound: { events?: ProgressHub } };

export function inboundPagesRouter(
  deps: Deps,
  views: Views,
  csrf: Csrf,
  submitLimit: RequestHandler,
): Router {
  const router = Router();
  const tests = deps.inbound.tests;
  // The form carries only the CSRF token.
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 });
  router.get('/inbound', async (req, res) => {
    res.type('html').send(
      views.render('inbound-start', {
        title: 'Test your sending side',
        csrf: await csrf.token(req, res),
        domain: tests.domain,
        ttlMinutes: Math.round(deps.config.inbound.testTtlMs / 60_000),
      }),
    );
  });
  router.post('/inbound', form, csrf.verify(), submitLimit, async (req, res) => {
    const test = await tests.create();
    res.locals.jobId = test.id;
    res.redirect(303, `/inbound/${test.id}`);
  });
  router.get('/inbound/:id', async (req, res) => {
    const status = await found(req, res);
    res.setHeader('Cache-Control', status.status === 'analysed' ? 'private, max-age=60' : 'no-store');
    res.type('html').send(views.render('inbound', { ...inboundPageView(status) }));
  });
  router.get('/inbound/:id/report.json', async (req, res) => {
    const status = await found(req, res);
    if (!status.report) throw notFound();
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="mxdoctor-inbound-${status.report.receivedAt.slice(0, 10)}-${status.id.slice(0, 8)}.json"`,
    );
    res.type('application/json').send(JSON.stringify(status.report, null, 2));
  });
  router.get('/inbound/:id/events', async (req, res) => {
    const id = String(req.params.id);
    if (!JOB_ID_PATTERN.test(id)) throw notFound();
    res.locals.jobId = id;
    await streamProgress(req, res, id, deps.inbound.events, async (jobId) =>
      streamed(await tests.status(jobId)),
    );
  });

  async function found(req: Request, res: Response): Promise<InboundStatus> {
    const id = String(req.params.id);
    const status = JOB_ID_PATTERN.test(id) ? await tests.status(id) : undefined;
    if (!status) throw notFound();
    res.locals.jobId = id;
    return status;
  }
  return router;
}

/** The progress stream keeps going while the test waits or is analysed, and ends with it. */
function streamed(s: InboundStatus | undefined): StreamedJob | undefined {
  if (!s) return undefined;
  if (s.status === 'waiting') return { state: 'queued' };
  if (s.status === 'received')
    return s.error ? { state: 'failed' } : { state: 'active', progress: s.progress };
  return { state: s.status === 'analysed' ? 'completed' : s.status };
}

function notFound(): HttpError {
  return new HttpError(
    404,
    'not_found',
    'There is no inbound test at this address. Tests and their reports are kept for a limited time; start a new test.',
  );
}
