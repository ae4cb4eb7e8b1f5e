import type { DnsAnswer } from './types.js';

/**
 * Answer caches. A DnsClient dedupes identical in-flight queries and remembers answers
 * through a DnsCache. The default, CheckCache, lives as long as one check and ignores TTLs
 * (a check must see one consistent view of DNS). TtlCache honours TTLs and a size bound, so
 * one instance can be shared across checks by a long-running worker.
 *
 * Entries are keyed by the canonical name and a kind: the type, with the query's flags when
 * it has any ("A", "DNSKEY|cd|do").
 */
export interface DnsCache {
  get(name: string, kind: string): Promise<DnsAnswer> | undefined;
  /**
   * Stores a pending answer; the cache learns the TTL when it settles. `keep` false: the
   * client will not ask this again (QueryOptions.once), so a cache of that client alone may
   * forget the answer once settled; identical questions asked meanwhile still share it.
   */
  set(name: string, kind: string, answer: Promise<DnsAnswer>, keep?: boolean): void;
}

/**
 * A check's answers, for as long as the check runs. A check that waits on a slow SMTP
 * server holds them for minutes, so each entry is small: one map per kind keyed by the name
 * the answer holds anyway (no key string of its own), and the answer itself once it settled
 * rather than its promise (issue 14 P4).
 */
export class CheckCache implements DnsCache {
  private readonly kinds = new Map<string, Map<string, DnsAnswer | Promise<DnsAnswer>>>();

  get(name: string, kind: string): Promise<DnsAnswer> | undefined {
    const entry = this.kinds.get(kind)?.get(name);
    if (entry === undefined) return undefined;
    return entry instanceof Promise ? entry : Promise.resolve(entry);
  }

  set(name: string, kind: string, answer: Promise<DnsAnswer>, keep = true): void {
    let entries = this.kinds.get(kind);
    if (!entries) this.kinds.set(kind, (entries = new Map()));
    const map = entries;
    map.set(name, answer);
    answer.then(
      (settled) => {
        if (map.get(name) !== answer) return;
        if (keep) map.set(name, settled);
        else map.delete(name);
      },
      // A rejected promise (an aborted query) must not poison later lookups.
      () => {
        if (map.get(name) === answer) map.delete(name);
      },
    );
  }
}

export interface TtlCacheOptions {
  /** Most entries kept; the oldest are evicted first. @defaultValue 10000 */
  maxEntries?: number;
  /** Upper bound on how long anything is kept, in seconds. @defaultValue 3600 */
  maxTtlSec?: number;
  /** How long failures (TIMEOUT, SERVFAIL…) are kept, in seconds (RFC 2308 §7.1). @defaultValue 5 */
  failureTtlSec?: number;
  now?: () => number;
}

export class TtlCache implements DnsCache {
  private readonly entries = new Map<string, { answer: Promise<DnsAnswer>; expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly maxTtlSec: number;
  private readonly failureTtlSec: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxTtlSec = options.maxTtlSec ?? 3600;
    this.failureTtlSec = options.failureTtlSec ?? 5;
    this.now = options.now ?? Date.now;
  }

  get(name: string, kind: string): Promise<DnsAnswer> | undefined {
    const key = `${kind} ${name}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  // Shared across clients: other checks may ask the same within the TTL, so `keep` is moot.
  set(name: string, kind: string, answer: Promise<DnsAnswer>): void {
    const key = `${kind} ${name}`;
    // While pending, keep it for in-flight dedupe; fix the expiry once it settles.
    const entry = { answer, expiresAt: Number.POSITIVE_INFINITY };
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    answer.then(
      (a) => {
        const definite = a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN';
        const ttl = definite ? Math.min(a.ttl ?? 0, this.maxTtlSec) : this.failureTtlSec;
        entry.expiresAt = this.now() + ttl * 1000;
        if (ttl <= 0) this.entries.delete(key);
      },
      () => this.entries.delete(key),
    );
  }
}
