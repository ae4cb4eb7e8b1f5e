import { Router } from 'express';
import type { RequestHandler, Response } from 'express';
import type { InboundStatus, InboundTests } from '../../queue/jobs/inbound.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiTokenAuth } from '../security.js';

/**
 * The inbound test API, /api/v1/inbound-tests: open a test (201 with its one-time address),
 * then read its status and, once the message is analysed, its report. One handler per route.
 */
export type InboundDeps = AppDeps & { inbound: { tests: InboundTests } };

export function inboundLinks(id: string) {
  return { self: `/api/v1/inbound-tests/${id}`, html: `/inbound/${id}` };
}

export function inboundStatusBody(s: InboundStatus) {
  const d = s.delivery;
  return {
    id: s.id,
    status: s.status,
    address: s.address,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    ...(s.receivedAt ? { receivedAt: s.receivedAt } : {}),
    ...(s.analysedAt ? { analysedAt: s.analysedAt } : {}),
    ...(d
      ? {
          sender: {
            ip: d.connection.remoteAddress,
            ...(d.connection.helo ? { helo: d.connection.helo.name } : {}),
            mailFrom: d.envelope.mailFrom,
            ...(d.connection.tls.used && d.connection.tls.protocol ? { tls: d.connection.tls.protocol } : {}),
            bytes: d.envelope.size,
          },
        }
      : {}),
    ...(s.progress ? { progress: s.progress } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(s.report ? { report: s.report } : {}),
    links: inboundLinks(s.id),
  };
}

function methodNotAllowed(allow: string): RequestHandler {
  return (_req, res: Response) => {
    res.setHeader('Allow', allow);
    throw new HttpError(405, 'method_not_allowed', `This endpoint accepts ${allow} only.`);
  };
}

export function notFound(id: string): HttpError {
  return new HttpError(
    404,
    'not_found',
    `No inbound test with id ${JSON.stringify(id.slice(0, 40))} (tests and their reports are kept for a limited time).`,
    'id',
  );
}

export function inboundApiRouter(deps: InboundDeps, submitLimit: RequestHandler): Router {
  const router = Router();
  const tests = deps.inbound.tests;
  router.use('/inbound-tests', apiTokenAuth(deps.config.auth.apiTokens, deps.config.auth.adminToken));

  router
    .route('/inbound-tests')
    .post(submitLimit, async (req, res) => {
      const test = await tests.create();
      res.locals.jobId = test.id;
      req.log.info({ test: test.id, token: res.locals.apiToken }, 'inbound test opened');
      res
        .status(201)
        .location(`/api/v1/inbound-tests/${test.id}`)
        .json({
          id: test.id,
          address: test.address,
          expiresAt: test.expiresAt,
          links: inboundLinks(test.id),
        });
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/inbound-tests/:id')
    .get(async (req, res) => {
      const id = String(req.params.id);
      res.locals.jobId = id;
      const status = await tests.status(id);
      if (!status) throw notFound(id);
      res.setHeader('Cache-Control', status.status === 'analysed' ? 'private, max-age=60' : 'no-store');
      res.json(inboundStatusBody(status));
    })
    .all(methodNotAllowed('GET'));
  return router;
}
