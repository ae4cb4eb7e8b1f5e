import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConnectionCache } from '../smtp/sharing.js';

/**
 * The shared cache of connection-level SMTP results (banner, EHLO, STARTTLS, TLS,
 * certificate) per MX address, in Redis, so concurrent checks of the thousands of domains
 * behind one provider's MX reuse one session's results. The SMTP check builds the key
 * (address + host name + probe options) and asks for a TTL; `maxTtlMs` (the operator's
 * MXDOCTOR_SMTP_CACHE_TTL) caps it, and 0 switches the cache off. Keys are hashed, so any
 * key text is safe and bounded; values larger than `maxValueBytes` are not cached.
 */
export interface RedisConnectionCacheOptions {
  prefix: string;
  /** Upper bound on any entry's lifetime; 0 = cache off. @defaultValue 300000 */
  maxTtlMs?: number;
  /** Largest JSON value stored. @defaultValue 262144 */
  maxValueBytes?: number;
}

export class RedisConnectionCache implements ConnectionCache {
  private readonly maxTtlMs: number;
  private readonly maxValueBytes: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisConnectionCacheOptions,
  ) {
    this.maxTtlMs = options.maxTtlMs ?? 300_000;
    this.maxValueBytes = options.maxValueBytes ?? 256 * 1024;
  }

  private key(key: string): string {
    return `${this.options.prefix}:smtp:conn:${createHash('sha256').update(key).digest('hex')}`;
  }

  async get(key: string): Promise<{ value: unknown; storedAt: string } | undefined> {
    if (this.maxTtlMs <= 0) return undefined;
    const text = await this.redis.get(this.key(key));
    if (!text) return undefined;
    try {
      const entry = JSON.parse(text) as { key: string; value: unknown; storedAt: string };
      // A hash collision is astronomically unlikely, but a wrong MX's results would be worse.
      if (entry.key !== key) return undefined;
      return { value: entry.value, storedAt: entry.storedAt };
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const ttl = Math.min(ttlMs, this.maxTtlMs);
    if (!(ttl > 0)) return;
    const text = JSON.stringify({ key, value, storedAt: new Date().toISOString() });
    if (Buffer.byteLength(text) > this.maxValueBytes) return;
    await this.redis.set(this.key(key), text, 'PX', Math.ceil(ttl));
  }
}
