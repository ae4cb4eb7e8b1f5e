import type { Rate } from '../config/index.js';
import { abortReason, sleep } from '../net/deadline.js';
import { InProcessLimiter } from './probe.js';
import type { AddressLimiter, CacheClaim, CacheEntry, ConnectionCache } from './shared.js';

/**
 * In-process implementations of the SMTP sharing hooks, for a run of many checks in one
 * process (`mxdoctor check --file`, the bulk bench): a connection cache with single flight, so
 * the thousand domains behind one provider's MX open one connection-level session between them
 * within the cache's freshness, and an address limiter that adds a start rate to the
 * concurrency limit, so the politeness limits hold across the whole run. The service uses the
 * Redis implementations of store/ for the same hooks.
 */

export interface MemoryConnectionCacheOptions {
  /** Upper bound on any entry's lifetime; 0 = cache off. @defaultValue 300000 */
  maxTtlMs?: number;
  /** Most entries kept (the oldest go first). @defaultValue 5000 */
  maxEntries?: number;
  now?: () => number;
}

export class MemoryConnectionCache implements ConnectionCache {
  private readonly entries = new Map<string, CacheEntry & { expiresAt: number }>();
  /** Keys being probed, with the promise their waiters wait on. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly maxTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Counters for the bulk summary and the bench. */
  readonly stats = { hits: 0, misses: 0, waits: 0 };

  constructor(options: MemoryConnectionCacheOptions = {}) {
    this.maxTtlMs = options.maxTtlMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 5000;
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) {
      if (entry) this.entries.delete(key);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return { value: structuredClone(entry.value), storedAt: entry.storedAt };
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const ttl = Math.min(ttlMs, this.maxTtlMs);
    if (!(ttl > 0)) return;
    this.entries.delete(key);
    this.entries.set(key, {
      value: structuredClone(value),
      storedAt: new Date(this.now()).toISOString(),
      expiresAt: this.now() + ttl,
    });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  async claim(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim> {
    const until = this.now() + waitMs;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const pending = this.inFlight.get(key);
      if (!pending) break;
      this.stats.waits++;
      const left = until - this.now();
      // The prober did not finish in time: probe alongside it rather than wait for ever.
      if (left <= 0) return { release: () => undefined };
      // Wait for the prober or the time left, whichever comes first, leaving no timer behind.
      const stop = new AbortController();
      try {
        await Promise.race([
          pending,
          sleep(left, AbortSignal.any([signal, stop.signal])).catch(() => undefined),
        ]);
      } finally {
        stop.abort();
      }
      const entry = this.peek(key);
      if (entry) return { entry };
    }
    // No await from the look at inFlight to taking the claim: two waiters woken together
    // cannot both take it.
    const entry = this.peek(key);
    if (entry) return { entry };
    let done!: () => void;
    this.inFlight.set(
      key,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight.delete(key);
        done();
      },
    };
  }

  /** A waiter's look once the prober finished (a hit, never a miss). */
  private peek(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    this.stats.hits++;
    return { value: structuredClone(entry.value), storedAt: entry.storedAt };
  }
}

export interface MemoryAddressLimiterOptions {
  /** Sessions per address at once. */
  maxConcurrent: number;
  /** Session starts per address per window; points 0 = no rate limit. */
  rate: Rate;
  now?: () => number;
}

/**
 * At most `maxConcurrent` sessions to one MX address at a time and at most `rate.points`
 * session starts per `rate.windowMs`, for the whole process. Also counts the sessions started
 * per address (for the bulk summary and the bench).
 */
export class MemoryAddressLimiter implements AddressLimiter {
  private readonly slots: InProcessLimiter;
  private readonly starts = new Map<string, number[]>();
  private readonly now: () => number;
  /** Sessions started per address over the limiter's life. */
  readonly sessions = new Map<string, number>();

  constructor(private readonly options: MemoryAddressLimiterOptions) {
    this.slots = new InProcessLimiter(options.maxConcurrent);
    this.now = options.now ?? Date.now;
  }

  async acquire(address: string, signal: AbortSignal): Promise<() => void> {
    const release = await this.slots.acquire(address, signal);
    try {
      await this.waitForRate(address, signal);
    } catch (err) {
      release();
      throw err;
    }
    this.sessions.set(address, (this.sessions.get(address) ?? 0) + 1);
    return release;
  }

  private async waitForRate(address: string, signal: AbortSignal): Promise<void> {
    const { points, windowMs } = this.options.rate;
    if (points <= 0) return;
    for (;;) {
      const now = this.now();
      const recent = (this.starts.get(address) ?? []).filter((t) => t > now - windowMs);
      if (recent.length < points) {
        recent.push(now);
        this.starts.set(address, recent);
        return;
      }
      this.starts.set(address, recent);
      await sleep(recent[0]! + windowMs - now + 1, signal);
    }
  }
}
