import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortReason, sleep } from '../net/deadline.js';
import type { CacheClaim, CacheEntry, ConnectionCache, HeldClaim } from '../smtp/sharing.js';

// KEYS: lock. ARGV: token. Deletes the lock only when this claim still holds it.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: entry, lock. ARGV: token, lock lifetime ms. The look-up and the claim in one round
// trip: the entry's JSON when there is one; else 1 when this call took the lock (SET NX PX),
// 0 when another prober holds it. Atomic, so nothing can be stored between the miss and the
// lock (the two-command path has to look again once it holds the lock).
const GET_OR_CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then return v end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
`;

// KEYS: entry, lock. ARGV: entry JSON, ttl ms, token. The holder's SET of its result and
// its release in one round trip. The entry is stored whether or not the lock is still ours
// (as set() does); the lock is deleted only while it holds our token, so a lock that
// expired and was taken by the next prober stays with that prober.
const STORE_AND_RELEASE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
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
 *
 * Each Redis command costs a worker ~100-150 µs of CPU (the write on the socket, ioredis and
 * its promises), a large share of a check's. So the usual path takes two round trips, one
 * Lua script each: `getOrClaim` looks up the entry and takes the lock on a miss (instead of
 * GET, SET NX, GET), and the claim's `store` sets the result and releases the lock (instead
 * of SET, then the release script). get/claim/set/release stay for the other callers and
 * for the rare stored entry that is not this key's (a hash collision).
 */
export interface RedisConnectionCacheOptions {
  prefix: string;
  /** Upper bound on any entry's lifetime; 0 = cache off. @defaultValue 300000 */
  maxTtlMs?: number;
  /** Largest JSON value stored. @defaultValue 262144 */
  maxValueBytes?: number;
}

/** One claim's keys, lock token and deadline. */
interface Turn {
  entryKey: string;
  lock: string;
  token: string;
  until: number;
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
    return this.entryOf(key, await this.redis.get(this.key(key)));
  }

  /** A stored entry's JSON as this key's entry; undefined when absent, unreadable or another key's. */
  private entryOf(key: string, text: string | null): CacheEntry | undefined {
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

  /**
   * get() and, on a miss, claim() in one round trip per attempt (the GET_OR_CLAIM script): the
   * entry when one is stored or another prober stores it while this one waits (at most
   * `waitMs`, polling with the same script), else a claim whose `store` sets the result and
   * releases the lock together.
   */
  async getOrClaim(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim> {
    return this.waitTurn(key, waitMs, signal, async (turn) => {
      const got = (await this.redis.eval(
        GET_OR_CLAIM,
        2,
        turn.entryKey,
        turn.lock,
        turn.token,
        String(Math.max(1000, waitMs)),
      )) as string | number;
      if (typeof got === 'string') {
        const entry = this.entryOf(key, got);
        if (entry) return { entry };
        // Something is stored under this hash that is not this key's entry (a collision, or
        // JSON that does not parse): a miss, although the script saw a value and took no lock.
        // The two-command path treats it as one and takes the lock for this key.
        return this.claim(key, Math.max(0, turn.until - Date.now()), signal);
      }
      return got === 1 ? this.held(key, turn) : undefined;
    });
  }

  async claim(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim> {
    return this.waitTurn(key, waitMs, signal, async (turn) => {
      if ((await this.redis.set(turn.lock, turn.token, 'PX', Math.max(1000, waitMs), 'NX')) === 'OK') {
        const claim = this.held(key, turn);
        // Stored between our miss and the lock: nothing to probe.
        const entry = await this.get(key);
        if (entry) {
          claim.release();
          return { entry };
        }
        return claim;
      }
      const entry = await this.get(key);
      return entry ? { entry } : undefined;
    });
  }

  /**
   * The single-flight wait of both claims: `attempt` runs until it settles the claim (an
   * entry, or the lock), with a pause of 25 ms doubling to 500 ms between attempts; once
   * `waitMs` has passed the holder is taking longer than a session may, and this check
   * probes alongside it.
   */
  private async waitTurn(
    key: string,
    waitMs: number,
    signal: AbortSignal,
    attempt: (turn: Turn) => Promise<CacheClaim | undefined>,
  ): Promise<CacheClaim> {
    if (this.maxTtlMs <= 0) return { release: () => undefined };
    const entryKey = this.key(key);
    const turn: Turn = {
      entryKey,
      lock: `${entryKey}:lock`,
      token: randomBytes(12).toString('base64url'),
      until: Date.now() + waitMs,
    };
    let pause = 25;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const settled = await attempt(turn);
      if (settled) return settled;
      if (Date.now() >= turn.until) return { release: () => undefined };
      await sleep(Math.min(pause, Math.max(1, turn.until - Date.now())), signal);
      pause = Math.min(500, pause * 2);
    }
  }

  /** The claim of a prober that holds the lock of `key` (its turn's token). */
  private held(key: string, { entryKey, lock, token }: Turn): HeldClaim {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
    };
    const store = async (value: unknown, ttlMs: number): Promise<void> => {
      const entry = this.entryText(key, value, ttlMs);
      // Nothing to store (not cacheable): the lock goes alone, so the next waiter probes.
      if (!entry) return release();
      // Also right after release(): the script stores the entry, and the lock it finds then
      // is no longer ours (or is the next prober's), so it stays.
      await this.redis.eval(STORE_AND_RELEASE, 2, entryKey, lock, entry.text, String(entry.ttlMs), token);
      // Only once the script ran: after a failure, release() still lets go of the lock.
      released = true;
    };
    return { release, store };
  }

  /** The JSON stored for `key` and its lifetime, or undefined when it is not to be stored. */
  private entryText(key: string, value: unknown, ttlMs: number): { text: string; ttlMs: number } | undefined {
    const ttl = Math.min(ttlMs, this.maxTtlMs);
    if (!(ttl > 0)) return undefined;
    const text = JSON.stringify({ key, value, storedAt: new Date().toISOString() });
    if (Buffer.byteLength(text) > this.maxValueBytes) return undefined;
    return { text, ttlMs: Math.ceil(ttl) };
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const entry = this.entryText(key, value, ttlMs);
    if (!entry) return;
    await this.redis.set(this.key(key), entry.text, 'PX', entry.ttlMs);
  }
}
