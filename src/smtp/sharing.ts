/**
 * Hooks through which the runtime shares SMTP work across worker processes: politeness
 * limits per MX address and the connection cache. The SMTP check uses in-process defaults
 * when they are absent (CLI); the queued runtime passes Redis-backed implementations (see
 * src/store/) as `CheckContext.services.smtp`, and bounce follow-ups pass the same ones.
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
  /**
   * Optional get() and claim() in one, for a cache where each call is a round trip (Redis):
   * the entry when one is stored, else what claim() resolves with. The caller asks it instead
   * of get() followed by claim() when the cache has it.
   */
  getOrClaim?(key: string, waitMs: number, signal: AbortSignal): Promise<CacheClaim>;
}

export interface CacheEntry {
  value: unknown;
  storedAt: string;
}

/** A claim on a key: the holder probes, then stores its result and lets go. */
export interface HeldClaim {
  /** Lets the next waiter probe; safe to call more than once, and after store(). */
  release: () => void;
  /**
   * Optional set() of the holder's result and release() in one (one round trip instead of
   * two). A value the cache does not keep (TTL 0, too large) is not stored and the claim is
   * released all the same. Without it, the holder calls set() and then release().
   */
  store?: (value: unknown, ttlMs: number) => Promise<void>;
}

export type CacheClaim = { entry: CacheEntry } | HeldClaim;

/** What the runtime lends the SMTP probe; each part falls back to an in-process default. */
export interface SmtpSharing {
  addressLimiter?: AddressLimiter;
  connectionCache?: ConnectionCache;
}
