import { streamProgress } from '../progress-stream.js';
import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { BOUNCE_ACCEPTS, formatSize } from '../../bounce/index.js';
import type { Diagnosis } from '../../bounce/model.js';
import type { BounceQueue } from '../../queue/jobs/bounce.js';
import { JOB_ID_PATTERN } from '../../queue/names.js';
import type { ProgressHub } from '../progress-hub.js';
import { bounceFormParser } from './form.js';
import type { BounceFormBody } from './form.js';
import { precheck } from './api.js';
import { diagnosisView } from './view-model.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { Csrf } from '../security.js';
import type { Views } from '../views.js';

/**
 * The bounce pages: the "Diagnose a bounce" form (paste or upload), the diagnosis page (live
 * progress while the follow-up checks run, then the diagnosis), its JSON download and its
 * progress stream. Thin: parse, call the bounce queue, render a view model. Works without
 * JavaScript: the form is a plain POST and the progress page refreshes itself.
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

export function bouncePagesRouter(
  deps: AppDeps & { bounces: { queue: BounceQueue; events?: ProgressHub } },
  views: Views,
  csrf: Csrf,
  submitLimit: RequestHandler,
): Router {
  const router = Router();
  const maxBytes = deps.config.bounce.maxBytes;
  const queue = deps.bounces.queue;

  const renderForm = async (
    req: Request,
    res: Response,
    status: number,
    values: FormValues,
    errors: FormError[] = [],
  ): Promise<void> => {
    const fieldErrors: Record<string, string> = {};
    for (const e of errors) fieldErrors[e.fieldId] ??= e.message;
    res
      .status(status)
      .type('html')
      .send(
        views.render('bounce-form', {
          csrf: await csrf.token(req, res),
          values,
          errors,
          fieldErrors,
          maxSize: formatSize(maxBytes),
        }),
      );
  };

  router.get('/bounces', async (req, res) => {
    await renderForm(req, res, 200, { message: '', noFollowups: false, noSmtp: false });
  });

  router.post('/bounces', bounceFormParser(maxBytes), csrf.verify(), submitLimit, async (req, res) => {
    const body = req.body as BounceFormBody;
    const values: FormValues = {
      message: body.message.length <= ECHO_MAX ? body.message : '',
      noFollowups: body.noFollowups,
      noSmtp: body.noSmtp,
    };
    const fail = (status: number, fieldId: FormError['fieldId'], message: string) =>
      renderForm(req, res, status, values, [{ fieldId, message }]);
    if (body.tooLarge) {
      await fail(
        413,
        body.tooLarge,
        `The ${body.tooLarge === 'file' ? 'file' : 'pasted text'} is larger than ${formatSize(maxBytes)}, the most accepted. Give the bounce itself: its text and the returned headers are enough; leave out large attachments.`,
      );
      return;
    }
    const hasText = body.message.trim() !== '';
    const hasFile = body.file !== undefined && body.file.length > 0;
    if (hasText && hasFile) {
      await fail(
        400,
        'message',
        'Paste the bounce or choose a file, not both: clear the box or the file choice.',
      );
      return;
    }
    if (!hasText && !hasFile) {
      await fail(
        400,
        body.file !== undefined ? 'file' : 'message',
        body.file !== undefined
          ? `The chosen file ${JSON.stringify(body.fileName ?? '')} is empty. ${BOUNCE_ACCEPTS}`
          : `Paste the bounce into the box, or choose a saved bounce message to upload. ${BOUNCE_ACCEPTS}`,
      );
      return;
    }
    const bytes = hasFile ? body.file! : Buffer.from(body.message, 'utf8');
    try {
      precheck(bytes, maxBytes);
    } catch (err) {
      if (err instanceof HttpError) {
        await fail(err.status, hasFile ? 'file' : 'message', err.message);
        return;
      }
      throw err;
    }
    const id = await queue.submit(
      bytes,
      { followups: !body.noFollowups, smtp: !body.noSmtp },
      { via: 'web', requestId: String(req.id) },
    );
    res.locals.jobId = id;
    res.redirect(303, `/bounces/${id}`);
  });

  router.get('/bounces/:id', async (req, res) => {
    const id = req.params.id;
    const status = await queue.status(id);
    if (!status) throw notFound();
    res.locals.jobId = id;
    const common = { id, state: status.state };
    if (status.state === 'completed' && status.result?.diagnosis) {
      res.setHeader('Cache-Control', 'private, max-age=60');
      res.type('html').send(
        views.render('bounce', {
          ...common,
          heading: 'Bounce diagnosis',
          view: diagnosisView(status.result as typeof status.result & { diagnosis: Diagnosis }),
        }),
      );
      return;
    }
    res.setHeader(
      'Cache-Control',
      status.state === 'rejected' || status.state === 'failed' ? 'private, max-age=60' : 'no-store',
    );
    const running = status.state === 'queued' || status.state === 'active';
    res.type('html').send(
      views.render('bounce', {
        ...common,
        heading:
          status.state === 'rejected'
            ? 'This is not a bounce mxdoctor can diagnose'
            : status.state === 'failed'
              ? 'The diagnosis could not be run'
              : 'Diagnosing the bounce',
        error: status.error ?? '',
        percent: status.progress?.percent ?? 0,
        message:
          status.progress?.message ?? (status.state === 'queued' ? 'Waiting for a worker…' : 'Starting…'),
        refreshSeconds: running ? 2 : 0,
        script: running ? 'check.js' : '',
      }),
    );
  });

  router.get('/bounces/:id/diagnosis.json', async (req, res) => {
    const id = req.params.id;
    if (!JOB_ID_PATTERN.test(id)) throw notFound();
    res.locals.jobId = id;
    const stored = await queue.store.get(id);
    if (!stored?.diagnosis) throw notFound();
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="mxdoctor-bounce-${stored.submittedAt.slice(0, 10)}-${id.slice(0, 8)}.json"`,
    );
    res.type('application/json').send(JSON.stringify(stored.diagnosis, null, 2));
  });

  router.get('/bounces/:id/events', async (req, res) => {
    const id = req.params.id;
    if (!JOB_ID_PATTERN.test(id)) throw notFound();
    res.locals.jobId = id;
    await streamProgress(req, res, id, deps.bounces.events, (jobId) => queue.status(jobId));
  });

  return router;
}

function notFound(): HttpError {
  return new HttpError(
    404,
    'not_found',
    'There is no bounce diagnosis at this address. Diagnoses are kept for a limited time; submit the bounce again from the form.',
  );
}
