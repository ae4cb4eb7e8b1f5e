import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Options } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import type { Rate } from '../config/index.js';
import { HttpError } from './errors.js';

/**
 * Per-client rate limits (express-rate-limit) counted in Redis, so every web process of a
 * deployment shares them. Three budgets: all requests per client address; new checks per
 * client address (the web form, and the API without a token); new checks per API token.
 */
export interface RateLimitOptions {
  redis: Redis;
  prefix: string;
  requests: Rate;
  checks: Rate;
  tokenChecks: Rate;
}

function store(redis: Redis, prefix: string): RedisStore {
  return new RedisStore({
    prefix,
    // rate-limit-redis loads its scripts once when created; when Redis is away then, report
    // the script's SHA1 anyway (it is the hash of the text) and let EVALSHA's NOSCRIPT path
    // load it later, instead of keeping a rejected promise for ever.
    sendCommand: async (...args: string[]) => {
      const [command, ...rest] = args;
      if (command?.toUpperCase() === 'SCRIPT' && rest[0]?.toUpperCase() === 'LOAD') {
        try {
          return (await redis.call(command, ...rest)) as string;
        } catch {
          return createHash('sha1')
            .update(rest[1] ?? '')
            .digest('hex');
        }
      }
      return (await redis.call(command!, ...rest)) as never;
    },
  });
}

function humanDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m < 90) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.ceil(m / 60);
  return `${h} hour${h === 1 ? '' : 's'}`;
}

function limiter(
  redis: Redis,
  prefix: string,
  rate: Rate,
  what: (req: Request) => string,
  extra: Partial<Options> = {},
): RequestHandler {
  if (rate.points <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: rate.windowMs,
    limit: rate.points,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: store(redis, prefix),
    passOnStoreError: false,
    // Our own configuration is validated elsewhere; these checks only print to the console.
    validate: { trustProxy: false, xForwardedForHeader: false, singleCount: false },
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const waitMs = reset ? Math.max(1000, reset.getTime() - Date.now()) : rate.windowMs;
      next(
        new HttpError(
          429,
          'rate_limited',
          `${what(req)} ${rate.points} times in ${humanDuration(rate.windowMs)}, the most allowed. Please wait ${humanDuration(waitMs)} and try again.`,
          undefined,
          { 'Retry-After': String(Math.ceil(waitMs / 1000)) },
        ),
      );
    },
    ...extra,
  });
}

export function createRateLimits(o: RateLimitOptions): { requests: RequestHandler; checks: RequestHandler } {
  const requests = limiter(
    o.redis,
    `${o.prefix}:rl:req:`,
    o.requests,
    () => 'This address has made requests',
  );
  const anonymous = limiter(
    o.redis,
    `${o.prefix}:rl:checks:`,
    o.checks,
    () => 'This address has started checks',
    {
      skip: (_req, res) => Boolean(res.locals.apiToken),
      // Only accepted checks count: a typo in the form must not use up the budget.
      skipFailedRequests: true,
    },
  );
  const perToken = limiter(
    o.redis,
    `${o.prefix}:rl:token:`,
    o.tokenChecks,
    () => 'This API token has started checks',
    {
      skip: (_req, res) => !res.locals.apiToken,
      keyGenerator: (_req, res) => `token:${String(res.locals.apiToken)}`,
      skipFailedRequests: true,
    },
  );
  const checks: RequestHandler = (req, res, next) => {
    anonymous(req, res, (err?: unknown) => (err ? next(err) : perToken(req, res, next)));
  };
  return { requests, checks };
}

/**
 * The limit on new submissions of another kind (bounce diagnoses): the same budgets as new
 * checks (per client address without a token, per API token), counted separately under
 * `<prefix>:rl:<key>:`, so one kind of use does not eat the other's budget.
 */
export function createSubmissionLimit(
  o: RateLimitOptions,
  kind: { key: string; what: string },
): RequestHandler {
  const anonymous = limiter(
    o.redis,
    `${o.prefix}:rl:${kind.key}:`,
    o.checks,
    () => `This address has ${kind.what}`,
    {
      skip: (_req, res) => Boolean(res.locals.apiToken),
      skipFailedRequests: true,
    },
  );
  const perToken = limiter(
    o.redis,
    `${o.prefix}:rl:${kind.key}-token:`,
    o.tokenChecks,
    () => `This API token has ${kind.what}`,
    {
      skip: (_req, res) => !res.locals.apiToken,
      keyGenerator: (_req, res) => `token:${String(res.locals.apiToken)}`,
      skipFailedRequests: true,
    },
  );
  return (req, res, next) => {
    anonymous(req, res, (err?: unknown) => (err ? next(err) : perToken(req, res, next)));
  };
}
