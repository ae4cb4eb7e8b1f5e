/**
 * Hooks through which the service layer shares SMTP work across worker processes. The
 * SMTP check uses in-process defaults when they are absent (CLI); the queued service passes
 * Redis-backed implementations through CheckContext.services.
 */

/** Limits concurrent SMTP sessions per MX address (politeness; default 2). */
export interface AddressLimiter {
  /** Resolves with a release function once a slot for `address` is free; rejects when `signal` aborts. */
  acquire(address: string, signal: AbortSignal): Promise<() => void>;
}

/**
 * Caches connection-level results of one MX address (banner, EHLO, STARTTLS, TLS,
 * certificate — never recipient verification) for a few minutes, so that checks of many
 * domains behind one provider's MX do not each open sessions. Values are plain JSON.
 */
export interface ConnectionCache {
  get(key: string): Promise<CacheEntry | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /**
   * Optional single flight, asked after a miss, so that concurrent checks of many domains
   * behind one MX address open one session between them instead of one each. Resolves with
   * the entry when another prober of the same key stored it meanwhile (waiting at most
   * `waitMs`), or with a claim: the caller probes, stores its result with set(), and calls
   * `release()` whether or not it stored anything (then the next waiter probes).
   */
  claim?(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim>;
}

export interface CacheEntry {
  value: unknown;
  storedAt: string;
}

export type CacheClaim = { entry: CacheEntry } | { release: () => void };

export interface SmtpServices {
  addressLimiter?: AddressLimiter;
  connectionCache?: ConnectionCache;
}
