import express, { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BounceInputError, checkBounceInput, formatSize } from '../../bounce/index.js';
import type { BounceQueue, BounceStatus } from '../../queue/jobs/bounce.js';
import type { BounceOptions } from '../../store/diagnoses.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { parseBounceQuery, parseBounceRequest } from './schemas.js';
import { apiTokenAuth } from '../security.js';

/**
 * The bounce API, /api/v1/bounces: submit a bounce (JSON `{message}`, or the message itself
 * as message/rfc822 or text/plain) → 202 and an id; read the diagnosis when it is done.
 * Errors are `{error: {code, message, field?}}` through the app's error handler.
 */

/** Raw bodies accepted besides JSON. */
export const RAW_BOUNCE_TYPES = ['message/rfc822', 'message/global', 'text/plain', 'application/mbox'];

export function bounceLinks(id: string, completed: boolean) {
  return {
    self: `/api/v1/bounces/${id}`,
    html: `/bounces/${id}`,
    ...(completed ? { json: `/bounces/${id}/diagnosis.json` } : {}),
  };
}

export function bounceStatusBody(s: BounceStatus) {
  const r = s.result;
  return {
    id: s.id,
    status: s.state,
    ...(s.submittedAt ? { submittedAt: s.submittedAt } : {}),
    ...(r ? { finishedAt: r.finishedAt, durationMs: r.durationMs } : {}),
    ...(s.options ? { options: s.options } : {}),
    ...(s.progress ? { progress: s.progress } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(r?.inputError ? { errorCode: r.inputError.code } : {}),
    ...(r?.diagnosis ? { diagnosis: r.diagnosis } : {}),
    links: bounceLinks(s.id, s.state === 'completed'),
  };
}

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    'payload_too_large',
    `The bounce is larger than the ${formatSize(maxBytes)} accepted (MXDOCTOR_BOUNCE_MAX_SIZE). Send the bounce itself: its text and the returned headers are enough; leave out large attachments.`,
    'message',
  );
}

/** Body-parser errors in the words of this endpoint. */
function bodyErrors(parser: RequestHandler, maxBytes: number): RequestHandler {
  return (req, res, next) =>
    parser(req, res, (err?: unknown) => {
      const type = (err as { type?: string } | undefined)?.type;
      if (type === 'entity.too.large') next(tooLarge(maxBytes));
      else if (type === 'entity.parse.failed')
        next(
          new HttpError(
            400,
            'invalid_json',
            'The request body is not valid JSON; send {"message": "<the bounce>"}, or the message itself as message/rfc822 or text/plain.',
          ),
        );
      else next(err);
    });
}

/**
 * Checks the submitted bytes before queueing (too large, empty, binary: answered at once);
 * whether they are a bounce at all is up to the worker, which parses them.
 */
export function precheck(bytes: Buffer, maxBytes: number): void {
  try {
    checkBounceInput(bytes, maxBytes);
  } catch (err) {
    if (!(err instanceof BounceInputError)) throw err;
    if (err.code === 'too_large') throw tooLarge(maxBytes);
    throw new HttpError(400, 'invalid_request', err.message, 'message');
  }
}

function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    throw new HttpError(405, 'method_not_allowed', `This endpoint accepts ${allow} only.`);
  };
}

export function bounceApiRouter(
  deps: AppDeps & { bounces: { queue: BounceQueue } },
  submitLimit: RequestHandler,
): Router {
  const router = Router();
  const maxBytes = deps.config.bounce.maxBytes;
  const queue = deps.bounces.queue;
  // JSON escapes (\r\n, \u00e9) make a message longer as JSON; the message itself is checked after.
  const json = bodyErrors(
    express.json({ limit: maxBytes * 2 + 64 * 1024, strict: false, type: () => true }),
    maxBytes,
  );
  const raw = bodyErrors(express.raw({ limit: maxBytes, type: () => true }), maxBytes);

  router.use('/bounces', apiTokenAuth(deps.config.auth.apiTokens));

  router
    .route('/bounces')
    .post(
      (req: Request, res: Response, next: NextFunction) => {
        if (req.is('application/json')) return json(req, res, next);
        if (req.is(RAW_BOUNCE_TYPES)) return raw(req, res, next);
        throw new HttpError(
          415,
          'unsupported_media_type',
          `Content-Type must be application/json ({"message": "<the bounce>"}) or the message itself as ${RAW_BOUNCE_TYPES.join(', ')} (got ${JSON.stringify(req.headers['content-type'] ?? 'none')}).`,
        );
      },
      submitLimit,
      async (req, res) => {
        let bytes: Buffer;
        let options: BounceOptions;
        if (req.is('application/json')) {
          if (Object.keys(req.query).length > 0) {
            throw new HttpError(
              400,
              'invalid_request',
              'With a JSON body, give the options in it ({"message", "followups", "smtp"}), not as query parameters.',
              Object.keys(req.query)[0],
            );
          }
          const parsed = parseBounceRequest(req.body);
          if (!parsed.ok) {
            throw new HttpError(
              400,
              'invalid_request',
              parsed.errors.map((e) => e.message).join(' '),
              parsed.errors[0]!.field,
            );
          }
          bytes = Buffer.from(parsed.message, 'utf8');
          options = parsed.options;
        } else {
          const q = parseBounceQuery(req.query as Record<string, unknown>);
          if (!q.ok) throw new HttpError(400, 'invalid_request', q.error.message, q.error.field);
          bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          options = q.options;
        }
        precheck(bytes, maxBytes);
        const id = await queue.submit(bytes, options, { via: 'api', requestId: String(req.id) });
        res.locals.jobId = id;
        req.log.info({ jobId: id, bytes: bytes.length, token: res.locals.apiToken }, 'bounce queued');
        res
          .status(202)
          .location(`/api/v1/bounces/${id}`)
          .json({ id, status: 'queued', links: bounceLinks(id, false) });
      },
    )
    .all(methodNotAllowed('POST'));

  router
    .route('/bounces/:id')
    .get(async (req, res) => {
      const id = req.params.id;
      res.locals.jobId = id;
      const status = await queue.status(id);
      if (!status) {
        throw new HttpError(
          404,
          'not_found',
          `No bounce diagnosis with id ${JSON.stringify(id.slice(0, 40))} (diagnoses are kept for a limited time).`,
          'id',
        );
      }
      const done = status.state === 'completed' || status.state === 'rejected';
      res.setHeader('Cache-Control', done ? 'private, max-age=60' : 'no-store');
      res.json(bounceStatusBody(status));
    })
    .all(methodNotAllowed('GET'));

  return router;
}
