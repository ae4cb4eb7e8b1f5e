import { streamProgress } from '../progress-stream.js';
import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { BOUNCE_ACCEPTS, formatSize } from '../../bounce/index.js';
import type { BounceQueue } from '../../queue/jobs/bounce.js';
import { JOB_ID_PATTERN } from '../../queue/names.js';
import type { ProgressHub } from '../progress-hub.js';
import { bounceFormParser } from './form.js';
import type { BounceFormBody } from './form.js';
import { precheck } from './api.js';
import { bouncePageView } from './view-model.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { Csrf } from '../security.js';
import type { Views } from '../views.js';

/**
 * The bounce pages: the "Diagnose a bounce" form (paste or upload), the diagnosis page (live
 * progress while the follow-up checks run, then the diagnosis), its JSON download and its
 * progress stream. Thin: one handler per route parses, calls the bounce queue, and renders a
 * page model built in view-model.ts. Works without JavaScript: the form is a plain POST and
 * the progress page refreshes itself.
 */

/** Pasted text longer than this is not echoed back into the form after an error. */
const ECHO_MAX = 256 * 1024;

interface FormValues {
  message: string;
  noFollowups: boolean;
  noSmtp: boolean;
}

interface FormError {
  fieldId: 'message' | 'file';
  message: string;
}

type BounceDeps = AppDeps & { bounces: { queue: BounceQueue; events?: ProgressHub } };

interface Ctx {
  deps: BounceDeps;
  queue: BounceQueue;
  views: Views;
  csrf: Csrf;
  maxBytes: number;
}

type Page = (ctx: Ctx, req: Request, res: Response) => Promise<void>;

export function bouncePagesRouter(
  deps: BounceDeps,
  views: Views,
  csrf: Csrf,
  submitLimit: RequestHandler,
): Router {
  const maxBytes = deps.config.bounce.maxBytes;
  const ctx: Ctx = { deps, queue: deps.bounces.queue, views, csrf, maxBytes };
  const on =
    (page: Page): RequestHandler =>
    (req, res) =>
      page(ctx, req, res);
  const router = Router();
  router.get(
    '/bounces',
    on((c, req, res) => renderForm(c, req, res, 200, EMPTY)),
  );
  router.post('/bounces', bounceFormParser(maxBytes), csrf.verify(), submitLimit, on(submit));
  router.get('/bounces/:id', on(diagnosisPage));
  router.get('/bounces/:id/diagnosis.json', on(diagnosisJson));
  router.get('/bounces/:id/events', on(events));
  return router;
}

const EMPTY: FormValues = { message: '', noFollowups: false, noSmtp: false };

async function renderForm(
  ctx: Ctx,
  req: Request,
  res: Response,
  status: number,
  values: FormValues,
  errors: FormError[] = [],
): Promise<void> {
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) fieldErrors[e.fieldId] ??= e.message;
  res
    .status(status)
    .type('html')
    .send(
      ctx.views.render('bounce-form', {
        csrf: await ctx.csrf.token(req, res),
        values,
        errors,
        fieldErrors,
        maxSize: formatSize(ctx.maxBytes),
      }),
    );
}

/** The bounce as submitted: the uploaded file, or else the pasted text. */
function submittedBytes(body: BounceFormBody): Buffer {
  return body.file !== undefined && body.file.length > 0 ? body.file : Buffer.from(body.message, 'utf8');
}

/** What is wrong with a submitted form before anything is queued, if anything. */
function formProblem(body: BounceFormBody, maxBytes: number): (FormError & { status: number }) | undefined {
  if (body.tooLarge)
    return {
      status: 413,
      fieldId: body.tooLarge,
      message: `The ${body.tooLarge === 'file' ? 'file' : 'pasted text'} is larger than ${formatSize(maxBytes)}, the most accepted. Give the bounce itself: its text and the returned headers are enough; leave out large attachments.`,
    };
  const hasText = body.message.trim() !== '';
  const hasFile = body.file !== undefined && body.file.length > 0;
  if (hasText && hasFile)
    return {
      status: 400,
      fieldId: 'message',
      message: 'Paste the bounce or choose a file, not both: clear the box or the file choice.',
    };
  if (!hasText && !hasFile)
    return {
      status: 400,
      fieldId: body.file !== undefined ? 'file' : 'message',
      message:
        body.file !== undefined
          ? `The chosen file ${JSON.stringify(body.fileName ?? '')} is empty. ${BOUNCE_ACCEPTS}`
          : `Paste the bounce into the box, or choose a saved bounce message to upload. ${BOUNCE_ACCEPTS}`,
    };
  try {
    precheck(submittedBytes(body), maxBytes);
  } catch (err) {
    if (err instanceof HttpError)
      return { status: err.status, fieldId: hasFile ? 'file' : 'message', message: err.message };
    throw err;
  }
  return undefined;
}

async function submit(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const body = req.body as BounceFormBody;
  const values: FormValues = {
    message: body.message.length <= ECHO_MAX ? body.message : '',
    noFollowups: body.noFollowups,
    noSmtp: body.noSmtp,
  };
  const problem = formProblem(body, ctx.maxBytes);
  if (problem) {
    await renderForm(ctx, req, res, problem.status, values, [
      { fieldId: problem.fieldId, message: problem.message },
    ]);
    return;
  }
  const id = await ctx.queue.submit(
    submittedBytes(body),
    { followups: !body.noFollowups, smtp: !body.noSmtp },
    { via: 'web', requestId: String(req.id) },
  );
  res.locals.jobId = id;
  res.redirect(303, `/bounces/${id}`);
}

async function diagnosisPage(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  const status = await ctx.queue.status(id);
  if (!status) throw notFound();
  res.locals.jobId = id;
  const diagnosed = status.state === 'completed' && status.result?.diagnosis;
  res.setHeader(
    'Cache-Control',
    diagnosed || status.state === 'rejected' || status.state === 'failed'
      ? 'private, max-age=60'
      : 'no-store',
  );
  res.type('html').send(ctx.views.render('bounce', bouncePageView(status)));
}

async function diagnosisJson(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!JOB_ID_PATTERN.test(id)) throw notFound();
  res.locals.jobId = id;
  const stored = await ctx.queue.store.get(id);
  if (!stored?.diagnosis) throw notFound();
  res.setHeader(
    'Content-Disposition',
    `attachment; filename="mxdoctor-bounce-${stored.submittedAt.slice(0, 10)}-${id.slice(0, 8)}.json"`,
  );
  res.type('application/json').send(JSON.stringify(stored.diagnosis, null, 2));
}

async function events(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  if (!JOB_ID_PATTERN.test(id)) throw notFound();
  res.locals.jobId = id;
  await streamProgress(req, res, id, ctx.deps.bounces.events, (jobId) => ctx.queue.status(jobId));
}

function notFound(): HttpError {
  return new HttpError(
    404,
    'not_found',
    'There is no bounce diagnosis at this address. Diagnoses are kept for a limited time; submit the bounce again from the form.',
  );
}
