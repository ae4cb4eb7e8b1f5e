import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { MAX_MESSAGE_BYTES, authenticateMessage } from '../../auth/run.js';
import { domainList } from '../../input/list.js';
import { ipFamily } from '../../net/ip-family.js';
import { DEFAULT_CHECK_OPTIONS } from '../../report/model.js';
import { sortWorstFirst } from '../../report/score.js';
import { HttpError } from '../errors.js';
import type { Csrf } from '../security.js';
import type { Views } from '../views.js';
import { LIST_BODY_LIMIT, batchLinks } from './api.js';
import type { BulkDeps } from './api.js';
import { formParser } from '../form-body.js';
import type { ParsedForm } from '../form-body.js';

/**
 * The bulk pages: "Check many domains" (paste or upload a list → a batch page that refreshes
 * itself while it runs, with a row per domain and the downloads), and "Authenticate a
 * message" (paste or upload a received message, with optional envelope → the result). Plain
 * forms that work without JavaScript; remote text is printed escaped by the templates.
 */
export function bulkPagesRouter(
  deps: BulkDeps,
  views: Views,
  csrf: Csrf,
  submitLimit: RequestHandler,
): Router {
  const router = Router();
  const maxDomains = deps.config.batch.maxDomains;

  const batchForm = async (req: Request, res: Response, status: number, list = '', error?: string) => {
    res
      .status(status)
      .type('html')
      .send(
        views.render('batch-form', {
          title: `${error ? 'Error: ' : ''}Check many domains`,
          csrf: await csrf.token(req, res),
          list,
          error,
          maxDomains,
          maxSize: `${LIST_BODY_LIMIT / 1024 / 1024} MiB`,
        }),
      );
  };
  router.get('/batches', (req, res) => batchForm(req, res, 200));
  router.post(
    '/batches',
    formParser(['list'], LIST_BODY_LIMIT),
    csrf.verify(),
    submitLimit,
    async (req, res) => {
      const form = req.body as ParsedForm;
      const pasted = form.fields.list ?? '';
      const echo = pasted.length <= 64 * 1024 ? pasted : '';
      if (form.tooLarge)
        return batchForm(
          req,
          res,
          413,
          echo,
          `The list is larger than ${LIST_BODY_LIMIT / 1024 / 1024} MiB, the most accepted; split it.`,
        );
      const text = form.file ? form.file.toString('utf8') : pasted;
      if (form.file && pasted.trim())
        return batchForm(req, res, 400, echo, 'Paste a list or choose a file, not both.');
      const list = domainList(text, { maxEntries: maxDomains + 1, maxLineLength: 1024 });
      if (list.domains.length > maxDomains)
        return batchForm(req, res, 413, echo, `A batch holds at most ${maxDomains} domains; split the list.`);
      if (list.domains.length === 0)
        return batchForm(
          req,
          res,
          400,
          echo,
          `The list names no domain to check${list.invalid[0] ? ` (line ${list.invalid[0].line}: ${list.invalid[0].error})` : ''}. Give one domain or address a line.`,
        );
      const id = await deps.batches.submit(list.domains, DEFAULT_CHECK_OPTIONS, {
        via: 'web',
        requestId: String(req.id),
      });
      res.redirect(303, `/batches/${id}`);
    },
  );
  router.get('/batches/:id', async (req, res) => {
    const status = await deps.batches.status(String(req.params.id));
    if (!status)
      throw new HttpError(
        404,
        'not_found',
        'There is no batch at this address (results are kept for a limited time).',
      );
    const running = status.state === 'running';
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      views.render('batch', {
        title: `Batch of ${status.total} domains`,
        refreshSeconds: running ? 3 : 0,
        status,
        percent: Math.floor((status.done / Math.max(1, status.total)) * 100),
        links: batchLinks(status.id),
      }),
    );
  });

  const authForm = async (
    req: Request,
    res: Response,
    status: number,
    values: Record<string, string>,
    error?: string,
  ) => {
    res
      .status(status)
      .type('html')
      .send(
        views.render('auth-form', {
          title: `${error ? 'Error: ' : ''}Authenticate a message`,
          csrf: await csrf.token(req, res),
          values,
          error,
          maxSize: `${MAX_MESSAGE_BYTES / 1024 / 1024} MiB`,
        }),
      );
  };
  router.get('/authenticate', (req, res) => authForm(req, res, 200, {}));
  router.post(
    '/authenticate',
    formParser(['message', 'ip', 'mailFrom', 'helo'], MAX_MESSAGE_BYTES),
    csrf.verify(),
    submitLimit,
    async (req, res) => {
      const form = req.body as ParsedForm;
      const f = form.fields;
      const values = {
        message: (f.message ?? '').length <= 256 * 1024 ? (f.message ?? '') : '',
        ip: (f.ip ?? '').trim(),
        mailFrom: (f.mailFrom ?? '').trim(),
        helo: (f.helo ?? '').trim(),
      };
      if (form.tooLarge)
        return authForm(
          req,
          res,
          413,
          values,
          `The message is larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB.`,
        );
      const message = form.file ?? Buffer.from(f.message ?? '', 'utf8');
      if (!/^[\x21-\x39\x3b-\x7e]+:/m.test(message.subarray(0, 64 * 1024).toString('latin1')))
        return authForm(
          req,
          res,
          400,
          values,
          'Paste the whole message as received, with its headers (in most mail programs: “Show original”).',
        );
      if (values.ip && !ipFamily(values.ip))
        return authForm(req, res, 400, values, `${values.ip} is not an IP address.`);
      const report = await authenticateMessage(
        message,
        {
          ...(values.ip ? { ip: values.ip } : {}),
          ...(values.mailFrom ? { mailFrom: values.mailFrom } : {}),
          ...(values.helo ? { helo: values.helo } : {}),
        },
        { config: deps.config },
      );
      res.setHeader('Cache-Control', 'no-store');
      res.type('html').send(
        views.render('auth-result', {
          title: 'Message authentication',
          report,
          findings: sortWorstFirst(report.findings),
        }),
      );
    },
  );
  return router;
}
