import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { redactRedisUrl } from '../config/index.js';

/**
 * Redis connections of the service. Two kinds: `command` connections used while answering
 * HTTP requests fail fast when Redis is away (no offline queue, one retry) and give up on a
 * command that gets no answer within MXDOCTOR_REDIS_COMMAND_TIMEOUT (a Redis that is stuck:
 * the TCP connection open, nothing answering), so the web answers 503 instead of hanging;
 * `blocking` connections (BullMQ workers and queue events) wait and retry for ever, as
 * BullMQ requires. Both reconnect on their own.
 */
export type ConnectionKind = 'command' | 'blocking';

export function redisOptions(kind: ConnectionKind, name: string, commandTimeoutMs = 1500): RedisOptions {
  return {
    connectionName: `mxdoctor:${name}`,
    // Reconnect quickly at first, then every 2 s, for ever.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(kind === 'command'
      ? {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 3000,
          commandTimeout: commandTimeoutMs,
        }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true, connectTimeout: 10_000 }),
  };
}

export function createRedis(config: Config, kind: ConnectionKind, name: string): Redis {
  const redis = new Redis(config.redis.url, redisOptions(kind, name, config.redis.commandTimeoutMs));
  // Outages are logged once by RedisHealth; without a listener ioredis prints every retry.
  redis.on('error', () => {});
  return redis;
}

/**
 * Follows one connection's state and logs outages once each: "unreachable" when it drops
 * (with the reason), "reachable again" when it is back. `ready` tells whether requests that
 * need Redis can be served now.
 */
export class RedisHealth {
  private down = false;
  private everReady = false;
  private closing = false;
  private lastError: string | undefined;
  /** A command went unanswered on an open connection: Redis is stuck until a PING answers. */
  private stalledSince: number | undefined;
  private probe: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly url: string,
    private readonly log: Logger,
  ) {
    redis.on('ready', () => {
      if (this.down) this.log.info({ redis: redactRedisUrl(this.url) }, 'Redis is reachable again');
      else if (!this.everReady) this.log.debug({ redis: redactRedisUrl(this.url) }, 'connected to Redis');
      this.down = false;
      this.everReady = true;
      this.lastError = undefined;
    });
    redis.on('error', (err: Error) => {
      this.lastError = describeRedisError(err);
      this.markDown();
    });
    redis.on('close', () => this.markDown());
  }

  /** We are closing the connection ourselves: not an outage. */
  stop(): void {
    this.closing = true;
    clearTimeout(this.probe);
  }

  /**
   * A command on the connection timed out although it is open (Redis is frozen, swapping or
   * blocked by a slow script): answer 503 at once from now on instead of waiting for every
   * request's own timeout, and PING in the background until Redis answers again.
   */
  noteStalled(): void {
    if (this.closing || this.stalledSince !== undefined || this.redis.status !== 'ready') return;
    this.stalledSince = Date.now();
    this.lastError = 'Redis accepts connections but does not answer';
    this.log.error(
      { redis: redactRedisUrl(this.url) },
      `Redis at ${redactRedisUrl(this.url)} does not answer commands (stuck or overloaded); answering 503 until it does`,
    );
    const ping = (): void => {
      this.probe = setTimeout(() => {
        if (this.closing) return;
        withRedisTimeout(this.redis.ping(), 1000, 'PING').then(
          () => {
            const ms = Date.now() - (this.stalledSince ?? Date.now());
            this.stalledSince = undefined;
            this.lastError = undefined;
            this.log.info({ redis: redactRedisUrl(this.url), stalledMs: ms }, 'Redis answers again');
          },
          () => ping(),
        );
      }, 250);
      this.probe.unref();
    };
    ping();
  }

  private markDown(): void {
    if (this.closing || this.down || this.redis.status === 'ready') return;
    if (this.redis.status === 'end' && !this.everReady) return;
    this.down = true;
    this.log.error(
      { redis: redactRedisUrl(this.url), reason: this.lastError ?? 'connection closed' },
      `Redis is unreachable at ${redactRedisUrl(this.url)} (${this.lastError ?? 'connection closed'}); answering 503 until it returns`,
    );
  }

  get ready(): boolean {
    return this.redis.status === 'ready' && this.stalledSince === undefined;
  }

  get reason(): string {
    return this.lastError ?? `connection is ${this.redis.status}`;
  }
}

export function describeRedisError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * What is wrong with Redis, in words for people (/readyz, logs), from an ioredis or
 * timeout error; never the raw error text, which names internals and addresses.
 */
export function explainRedisProblem(err: unknown): string {
  const text = describeRedisError(err);
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text))
    return 'Redis refuses connections: it is not running or not listening at the configured address';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(text))
    return 'the host name of Redis does not resolve';
  if (/NOAUTH|WRONGPASS|invalid password|AUTH failed/i.test(text))
    return 'Redis refused the password (check REDIS_URL)';
  if (/^LOADING|\bLOADING\b/.test(text)) return 'Redis is starting and still loading its data';
  if (/READONLY/.test(text)) return 'Redis is a read-only replica';
  if (/OOM/.test(text)) return 'Redis is out of memory';
  if (/took longer than|Command timed out|ETIMEDOUT|Connection timeout|connect ETIMEDOUT/i.test(text))
    return 'Redis does not answer in time: it is stuck, overloaded or unreachable';
  if (/Connection is closed|enableOfflineQueue|Stream isn't writeable|ECONNRESET|EPIPE/i.test(text))
    return 'the connection to Redis is down; reconnecting';
  return 'Redis cannot be used right now';
}

/** Whether an error is a command that got no answer in time (a stuck Redis, not a closed one). */
export function isRedisTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Plain string search: the message can hold remote text, and a pattern with ".*" between
  // two phrases backtracks quadratically on it (test/unit/redos.test.ts).
  const unavailable = err.message.indexOf('Redis is unavailable: ');
  return (
    err.message.includes('Command timed out') ||
    (unavailable >= 0 && err.message.indexOf(' took longer than', unavailable) >= 0)
  );
}

/** Whether an error means "Redis could not be reached" (→ 503), not a bug. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
  )
    return true;
  return /Connection is closed|enableOfflineQueue|Stream isn't writeable|Redis is unavailable|LOADING|connect ETIMEDOUT|Connection timeout|Command timed out/i.test(
    err.message,
  );
}

/** Rejects with a "Redis is unavailable" error when `promise` takes longer than `ms`. */
export async function withRedisTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis is unavailable: ${what} took longer than ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deletes every key under `prefix` (tests and `obliterate`-style clean-ups). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
