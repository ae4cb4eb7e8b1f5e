import type {} from 'pino-http';
import type { NextFunction, Request, Response } from 'express';
import type { ErrorCode } from './checks/schemas.js';
import { isRedisTimeout, isRedisUnavailable } from '../store/redis.js';

/**
 * HTTP errors: one class, and one handler that maps every error to a status and answers
 * in the form the client asked for: JSON `{error: {code, message, field?}}` under /api/,
 * an HTML page elsewhere. Unexpected errors are logged with their stack and answered with
 * a generic message; Redis being away is 503, never 500.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isApiRequest(req: Request): boolean {
  return req.originalUrl.startsWith('/api/');
}

export function sendApiError(
  res: Response,
  status: number,
  code: ErrorCode,
  message: string,
  field?: string,
): void {
  res
    .status(status)
    .type('application/json')
    .json({ error: { code, message, ...(field ? { field } : {}) } });
}

export type HtmlErrorRenderer = (
  req: Request,
  res: Response,
  status: number,
  title: string,
  message: string,
) => void;

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Too large',
  415: 'Unsupported content type',
  429: 'Too many requests',
  500: 'Something went wrong',
  503: 'Temporarily unavailable',
};

/** Translates body-parser and other framework errors into HttpErrors. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (isRedisUnavailable(err)) {
    return new HttpError(
      503,
      'unavailable',
      'The service cannot reach its database (Redis) right now. Please try again in a minute.',
      undefined,
      { 'Retry-After': '30' },
    );
  }
  // The router could not decode a path parameter (/checks/%E0%A4%A, /api/v1/monitors/%zz).
  if (err instanceof URIError) {
    return new HttpError(
      400,
      'invalid_request',
      'The address contains a "%" that does not start a valid percent-encoded UTF-8 character.',
    );
  }
  const e = err as { type?: string; status?: number; limit?: number };
  switch (e?.type) {
    case 'entity.too.large':
      return new HttpError(
        413,
        'payload_too_large',
        `The request body is larger than the ${Math.round((e.limit ?? 16384) / 1024)} KiB accepted.`,
      );
    case 'entity.parse.failed':
      return new HttpError(
        400,
        'invalid_json',
        'The request body is not valid JSON; send a JSON object such as {"domain": "example.com"}.',
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_media_type', 'The request body must be UTF-8.');
    case 'request.aborted':
      return new HttpError(400, 'invalid_request', 'The request was aborted by the client.');
    case 'parameters.too.many':
      return new HttpError(413, 'payload_too_large', 'The form has too many fields.');
  }
  return undefined;
}

export function errorHandler(
  renderHtml: HtmlErrorRenderer,
  hooks: {
    /** A Redis command went unanswered (Redis is stuck): RedisHealth then answers 503 at once. */
    onRedisTimeout?: () => void;
  } = {},
) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (isRedisTimeout(err)) hooks.onRedisTimeout?.();
    if (res.headersSent) {
      next(err);
      return;
    }
    const http = toHttpError(err);
    if (!http) {
      req.log?.error({ err }, 'unexpected error while answering a request');
    } else if (http.status === 503) {
      req.log?.warn(
        { reason: err instanceof Error ? err.message : String(err) },
        'answered 503: Redis unavailable',
      );
    }
    const status = http?.status ?? 500;
    const code: ErrorCode = http?.code ?? 'internal';
    const message = http?.message ?? 'An internal error occurred; it has been logged. Please try again.';
    for (const [k, v] of Object.entries(http?.headers ?? {})) res.setHeader(k, v);
    if (isApiRequest(req)) sendApiError(res, status, code, message, http?.field);
    else renderHtml(req, res, status, TITLES[status] ?? 'Error', message);
  };
}

/** Express 5 forwards rejected promises to the error handler; this keeps handlers typed. */
export type AsyncHandler = (req: Request, res: Response, next: NextFunction) => Promise<void>;

/** The `limit` query parameter: a whole number from 1 to `max`, `fallback` when absent. */
export function limitParam(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new HttpError(400, 'invalid_request', `limit must be a whole number from 1 to ${max}.`, 'limit');
  return Number(raw);
}
