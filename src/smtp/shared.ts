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
  get(key: string): Promise<{ value: unknown; storedAt: string } | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
}

export interface SmtpServices {
  addressLimiter?: AddressLimiter;
  connectionCache?: ConnectionCache;
}
