import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { redactRedisUrl } from '../config/index.js';

/**
 * Redis connections of the service. Two kinds: `command` connections used while answering
 * HTTP requests fail fast when Redis is away (no offline queue, one retry), so the web
 * answers 503 at once instead of hanging; `blocking` connections (BullMQ workers and queue
 * events) wait and retry for ever, as BullMQ requires. Both reconnect on their own.
 */
export type ConnectionKind = 'command' | 'blocking';

export function redisOptions(kind: ConnectionKind, name: string): RedisOptions {
  return {
    connectionName: `mxdoctor:${name}`,
    // Reconnect quickly at first, then every 2 s, for ever.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(kind === 'command'
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true, connectTimeout: 10_000 }),
  };
}

export function createRedis(config: Config, kind: ConnectionKind, name: string): Redis {
  const redis = new Redis(config.redis.url, redisOptions(kind, name));
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
    return this.redis.status === 'ready';
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
  return /Connection is closed|enableOfflineQueue|Stream isn't writeable|Redis is unavailable|LOADING|connect ETIMEDOUT|Connection timeout/i.test(
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
