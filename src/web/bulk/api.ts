import express, { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { authenticateMessage, MAX_MESSAGE_BYTES } from '../../auth/run.js';
import { domainList, listLines } from '../../input/list.js';
import { ipFamily } from '../../net/ip-family.js';
import { CSV_HEADER, csvLine } from '../../report/bulk.js';
import type { BatchQueue, BatchStatus } from '../../queue/jobs/batch.js';
import type { VerificationStatus, VerifyQueue } from '../../queue/jobs/verify.js';
import { DEFAULT_CHECK_OPTIONS } from '../../report/model.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiTokenAuth } from '../security.js';
import { AuthenticationRequestSchema, BatchRequestSchema, VerificationRequestSchema } from './schemas.js';

/**
 * The bulk API under /api/v1: batches of domain checks (POST a list → 202 and an id; GET its
 * progress and per-domain status; its results as JSON Lines or CSV), address verifications
 * (POST → 202; GET the result), and message authentication (POST a message → 200 and the
 * result, at once: DNS only). Requests are validated by the zod schemas of schemas.ts, from
 * which the OpenAPI document is generated.
 */

export type BulkDeps = AppDeps & { batches: BatchQueue; verifications: VerifyQueue };

/** Largest list body accepted (a batch or a list of addresses). */
export const LIST_BODY_LIMIT = 1024 * 1024;

export function batchLinks(id: string) {
  return {
    self: `/api/v1/batches/${id}`,
    html: `/batches/${id}`,
    jsonl: `/api/v1/batches/${id}/results?format=jsonl`,
    csv: `/api/v1/batches/${id}/results?format=csv`,
  };
}

export function batchBody(s: BatchStatus) {
  return { ...s, links: batchLinks(s.id) };
}

function verificationBody(s: VerificationStatus) {
  return {
    id: s.id,
    status: s.state,
    submittedAt: s.stored.submittedAt,
    total: s.stored.addresses.length,
    ...(s.stored.result ? { result: s.stored.result } : {}),
    ...(s.stored.retry ? { retry: s.stored.retry } : {}),
    ...(s.stored.error ? { error: s.stored.error } : {}),
  };
}

function invalid(issues: { message: string; path: PropertyKey[] }[]): HttpError {
  const first = issues[0];
  return new HttpError(
    400,
    'invalid_request',
    issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    first?.path.join('.') || undefined,
  );
}

function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    throw new HttpError(405, 'method_not_allowed', `This endpoint accepts ${allow} only.`);
  };
}

const jsonBody = express.json({ limit: LIST_BODY_LIMIT, strict: true, type: 'application/json' });
const textBody = express.text({ limit: LIST_BODY_LIMIT, type: ['text/plain', 'text/csv'] });

/** A list as JSON (field `field`) or as text, one entry a line; the text and the JSON it came from. */
function listOf(req: Request, field: 'domains' | 'addresses'): { text: string; json?: unknown } {
  if (req.is('application/json')) {
    const body = req.body as Record<string, unknown> | undefined;
    const list = body && Array.isArray(body[field]) ? (body[field] as unknown[]) : undefined;
    return {
      text: list ? list.map((x) => String(x).replace(/[\r\n]/g, ' ')).join('\n') : '',
      json: req.body,
    };
  }
  if (req.is('text/plain') || req.is('text/csv')) return { text: String(req.body ?? '') };
  throw new HttpError(
    415,
    'unsupported_media_type',
    `Send application/json, or the list as text/plain or text/csv (got ${JSON.stringify(req.headers['content-type'] ?? 'none')}).`,
  );
}

export function bulkApiRouter(deps: BulkDeps, submitLimit: RequestHandler): Router {
  const router = Router();
  // Only on this router's own paths: mounted at /api/v1 before the checks API, a router-wide
  // handler would judge every API request (and refuse the admin token there).
  router.use(
    ['/batches', '/verifications', '/authentications'],
    apiTokenAuth(deps.config.auth.apiTokens, deps.config.auth.adminToken),
  );
  const maxDomains = deps.config.batch.maxDomains;
  const maxAddresses = deps.config.verify.maxAddresses;

  router
    .route('/batches')
    .post(jsonBody, textBody, submitLimit, async (req, res) => {
      const { text, json } = listOf(req, 'domains');
      let webhook: string | undefined;
      let options = { ...DEFAULT_CHECK_OPTIONS };
      if (json !== undefined) {
        const parsed = BatchRequestSchema.safeParse(json);
        if (!parsed.success) throw invalid(parsed.error.issues);
        webhook = parsed.data.webhook;
        options = {
          ...options,
          ...(parsed.data.options?.smtp !== undefined ? { smtp: parsed.data.options.smtp } : {}),
          ...(parsed.data.options?.dkimSelectors ? { dkimSelectors: parsed.data.options.dkimSelectors } : {}),
        };
      } else if (typeof req.query.webhook === 'string') {
        const parsed = BatchRequestSchema.shape.webhook.safeParse(req.query.webhook);
        if (!parsed.success) throw invalid(parsed.error.issues.map((i) => ({ ...i, path: ['webhook'] })));
        webhook = parsed.data;
      }
      const list = domainList(text, { maxEntries: maxDomains + 1, maxLineLength: 1024 });
      if (list.domains.length > maxDomains)
        throw new HttpError(
          413,
          'payload_too_large',
          `A batch holds at most ${maxDomains} domains (MXDOCTOR_BATCH_MAX_DOMAINS); split the list.`,
          'domains',
        );
      if (list.domains.length === 0)
        throw new HttpError(
          400,
          'invalid_request',
          `The list names no domain to check${list.invalid.length ? `: ${list.invalid.map((i) => `line ${i.line}: ${i.error}`).join('; ')}` : ''}.`,
          'domains',
        );
      const id = await deps.batches.submit(list.domains, options, {
        via: 'api',
        ...(webhook ? { webhook } : {}),
        requestId: String(req.id),
      });
      req.log.info({ batchId: id, domains: list.domains.length, token: res.locals.apiToken }, 'batch queued');
      res
        .status(202)
        .location(`/api/v1/batches/${id}`)
        .json({
          id,
          status: 'running',
          total: list.domains.length,
          invalid: list.invalid,
          duplicates: list.duplicates,
          links: batchLinks(id),
        });
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/batches/:id')
    .get(async (req, res) => {
      const status = await deps.batches.status(String(req.params.id));
      if (!status) throw notFound('batch', String(req.params.id));
      res.setHeader('Cache-Control', 'no-store');
      res.json(batchBody(status));
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/batches/:id/results')
    .get(async (req, res) => {
      const id = String(req.params.id);
      const status = await deps.batches.status(id);
      if (!status) throw notFound('batch', id);
      const format =
        req.query.format === 'csv' || req.accepts(['application/x-ndjson', 'text/csv']) === 'text/csv'
          ? 'csv'
          : 'jsonl';
      const pending = status.items.filter((i) => i.state === 'pending').length;
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Mxdoctor-Pending', String(pending));
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="mxdoctor-batch-${id.slice(0, 8)}.${format}"`,
      );
      if (format === 'csv') {
        res.type('text/csv; charset=utf-8');
        res.write(CSV_HEADER.join(',') + '\n');
        for (const item of status.items) if (item.row) res.write(csvLine(item.row) + '\n');
        res.end();
        return;
      }
      res.type('application/x-ndjson; charset=utf-8');
      // One report a line, in the order of the list; a domain whose check failed has no report.
      for (const item of status.items) {
        if (item.state !== 'done') continue;
        const text = await deps.store.getText(item.checkId);
        if (text) res.write(text.replace(/\n/g, '') + '\n');
      }
      res.end();
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/verifications')
    .post(jsonBody, textBody, submitLimit, async (req, res) => {
      const { text, json } = listOf(req, 'addresses');
      if (json !== undefined) {
        const parsed = VerificationRequestSchema.safeParse(json);
        if (!parsed.success) throw invalid(parsed.error.issues);
      }
      const lines = listLines(text, { maxEntries: maxAddresses + 1, maxLineLength: 1024 });
      const addresses = lines.entries.map((e) => e.text);
      if (addresses.length > maxAddresses)
        throw new HttpError(
          413,
          'payload_too_large',
          `A verification holds at most ${maxAddresses} addresses (MXDOCTOR_VERIFY_MAX_ADDRESSES); split the list.`,
          'addresses',
        );
      if (addresses.length === 0)
        throw new HttpError(400, 'invalid_request', 'The list names no address.', 'addresses');
      const id = await deps.verifications.submit(addresses, { requestId: String(req.id) });
      res
        .status(202)
        .location(`/api/v1/verifications/${id}`)
        .json({
          id,
          status: 'queued',
          total: addresses.length,
          links: { self: `/api/v1/verifications/${id}` },
        });
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/verifications/:id')
    .get(async (req, res) => {
      const status = await deps.verifications.status(String(req.params.id));
      if (!status) throw notFound('verification', String(req.params.id));
      res.setHeader('Cache-Control', 'no-store');
      res.json(verificationBody(status));
    })
    .all(methodNotAllowed('GET'));

  const messageBody = express.raw({
    limit: MAX_MESSAGE_BYTES,
    type: ['message/rfc822', 'text/plain', 'application/octet-stream'],
  });
  const messageJson = express.json({ limit: MAX_MESSAGE_BYTES * 2, strict: true, type: 'application/json' });
  router
    .route('/authentications')
    .post(messageJson, messageBody, submitLimit, async (req, res) => {
      let message: Buffer;
      let overrides: { ip?: string; mailFrom?: string; helo?: string };
      if (req.is('application/json')) {
        const parsed = AuthenticationRequestSchema.safeParse(req.body);
        if (!parsed.success) throw invalid(parsed.error.issues);
        const { message: text, ...rest } = parsed.data;
        message = Buffer.from(text, 'utf8');
        overrides = rest;
      } else if (Buffer.isBuffer(req.body)) {
        message = req.body;
        const q = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);
        overrides = {
          ...(q('ip') ? { ip: q('ip')! } : {}),
          ...(q('mailFrom') !== undefined ? { mailFrom: q('mailFrom')! } : {}),
          ...(q('helo') ? { helo: q('helo')! } : {}),
        };
      } else {
        throw new HttpError(
          415,
          'unsupported_media_type',
          'Send the message as message/rfc822 (or text/plain), or JSON {"message": "…"}.',
        );
      }
      if (message.length > MAX_MESSAGE_BYTES)
        throw new HttpError(
          413,
          'payload_too_large',
          `The message is larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB.`,
        );
      if (overrides.ip !== undefined && !ipFamily(overrides.ip))
        throw new HttpError(
          400,
          'invalid_request',
          `ip ${JSON.stringify(overrides.ip)} is not an IP address.`,
          'ip',
        );
      if (!/^[\x21-\x39\x3b-\x7e]+:/m.test(message.subarray(0, 64 * 1024).toString('latin1')))
        throw new HttpError(
          400,
          'invalid_request',
          'The message has no header fields: send the whole message as received (headers and body).',
          'message',
        );
      const report = await authenticateMessage(message, overrides, { config: deps.config });
      res.setHeader('Cache-Control', 'no-store');
      res.json(report);
    })
    .all(methodNotAllowed('POST'));

  return router;
}

function notFound(what: string, id: string): HttpError {
  return new HttpError(
    404,
    'not_found',
    `No ${what} with id ${JSON.stringify(id.slice(0, 40))} (results are kept for a limited time).`,
    'id',
  );
}
