import express, { Router } from 'express';
import type { Request, Response } from 'express';
import { normalizeDomain } from '../../input/domain.js';
import type { CheckStatus } from '../../queue/jobs/check.js';
import type { ReportMeta } from '../../store/reports.js';
import type { AppDeps } from '../deps.js';
import { HttpError, limitParam } from '../errors.js';
import { parseCheckRequest } from '../../input/check-request.js';
import { apiTokenAuth } from '../security.js';

/**
 * The JSON API, /api/v1. Requests are validated by the zod schemas the OpenAPI document is
 * generated from; errors are `{error: {code, message, field?}}` via the error handler.
 */
function links(id: string, completed: boolean) {
  return {
    self: `/api/v1/checks/${id}`,
    html: `/checks/${id}`,
    ...(completed ? { report: `/checks/${id}/report.json` } : {}),
  };
}

function statusBody(s: CheckStatus) {
  return {
    id: s.id,
    status: s.state,
    domain: s.domain,
    options: s.options,
    ...(s.submittedAt ? { submittedAt: s.submittedAt } : {}),
    ...(s.progress ? { progress: s.progress } : {}),
    ...(s.error ? { error: s.error } : {}),
    links: links(s.id, s.state === 'completed'),
  };
}

function metaBody(m: ReportMeta) {
  return { ...m, links: links(m.id, true) };
}

function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    throw new HttpError(405, 'method_not_allowed', `This endpoint accepts ${allow} only.`);
  };
}

export function apiRouter(deps: AppDeps, checkLimit: express.RequestHandler): Router {
  const router = Router();
  const json = express.json({ limit: '16kb', strict: false, type: () => true });

  router.use(apiTokenAuth(deps.config.auth.apiTokens));

  router
    .route('/checks')
    .post(
      (req, _res, next) => {
        if (!req.is('application/json')) {
          throw new HttpError(
            415,
            'unsupported_media_type',
            `Content-Type must be application/json (got ${JSON.stringify(req.headers['content-type'] ?? 'none')}).`,
          );
        }
        next();
      },
      json,
      checkLimit,
      async (req, res) => {
        const parsed = parseCheckRequest(req.body);
        if (!parsed.ok) {
          const first = parsed.errors[0]!;
          throw new HttpError(
            400,
            'invalid_request',
            parsed.errors.map((e) => e.message).join(' '),
            first.field,
          );
        }
        const via = 'api';
        const result = await deps.queue.submit(parsed.domain, parsed.options, {
          via,
          requestId: String(req.id),
        });
        res.locals.jobId = result.id;
        const status = await deps.queue.status(result.id);
        const state = status?.state ?? 'queued';
        req.log.info(
          { jobId: result.id, deduplicated: result.deduplicated, token: res.locals.apiToken },
          'check queued',
        );
        res
          .status(202)
          .location(`/api/v1/checks/${result.id}`)
          .json({
            id: result.id,
            status: state,
            deduplicated: result.deduplicated,
            links: links(result.id, state === 'completed'),
          });
      },
    )
    .all(methodNotAllowed('POST'));

  router
    .route('/checks/:id')
    .get(async (req, res) => {
      const id = req.params.id;
      res.locals.jobId = id;
      const status = await deps.queue.status(id);
      if (!status) {
        throw new HttpError(
          404,
          'not_found',
          `No check with id ${JSON.stringify(id.slice(0, 40))} (reports are kept for a limited time).`,
          'id',
        );
      }
      const body: Record<string, unknown> = statusBody(status);
      if (status.state === 'completed') {
        const report = await deps.store.get(id);
        if (report) body.report = report;
      }
      res.setHeader('Cache-Control', status.state === 'completed' ? 'private, max-age=60' : 'no-store');
      res.json(body);
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/domains/:domain/checks')
    .get(async (req, res) => {
      const d = normalizeDomain(String(req.params.domain));
      if (!d.ok) throw new HttpError(400, 'invalid_request', d.error, 'domain');
      const limit = limitParam(req.query.limit, 20, 100);
      const list = await deps.store.listByDomain(d.domain.ascii, limit);
      res.json({ domain: { ascii: d.domain.ascii, unicode: d.domain.unicode }, checks: list.map(metaBody) });
    })
    .all(methodNotAllowed('GET'));

  router.use((req) => {
    throw new HttpError(
      404,
      'not_found',
      `No API endpoint ${req.method} ${req.originalUrl.split('?')[0]}; see /api/v1/openapi.json.`,
    );
  });
  return router;
}
