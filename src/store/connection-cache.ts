import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortReason, sleep } from '../net/deadline.js';
import type { CacheClaim, ConnectionCache } from '../smtp/shared.js';

// KEYS: lock. ARGV: token. Deletes the lock only when this claim still holds it.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The shared cache of connection-level SMTP results (banner, EHLO, STARTTLS, TLS,
 * certificate) per MX address, in Redis, so concurrent checks of the thousands of domains
 * behind one provider's MX reuse one session's results. The SMTP check builds the key
 * (address + host name + probe options) and asks for a TTL; `maxTtlMs` (the operator's
 * MXDOCTOR_SMTP_CACHE_TTL) caps it, and 0 switches the cache off. Keys are hashed, so any
 * key text is safe and bounded; values larger than `maxValueBytes` are not cached.
 *
 * Single flight across workers: after a miss, `claim` takes a short lock (SET NX with the
 * session deadline as its lifetime, so a crashed worker's lock frees itself); the others poll
 * for the entry until the holder stores it or lets go, then one of them probes in its place.
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

  async claim(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim> {
    if (this.maxTtlMs <= 0) return { release: () => undefined };
    const lock = `${this.key(key)}:lock`;
    const token = randomBytes(12).toString('base64url');
    const until = Date.now() + waitMs;
    let pause = 25;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      if ((await this.redis.set(lock, token, 'PX', Math.max(1000, waitMs), 'NX')) === 'OK') {
        const release = (): void => {
          this.redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
        };
        // Stored between our miss and the lock: nothing to probe.
        const entry = await this.get(key);
        if (entry) {
          release();
          return { entry };
        }
        return { release };
      }
      const entry = await this.get(key);
      if (entry) return { entry };
      // The holder is taking longer than a session may: probe alongside it.
      if (Date.now() >= until) return { release: () => undefined };
      await sleep(Math.min(pause, Math.max(1, until - Date.now())), signal);
      pause = Math.min(500, pause * 2);
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
