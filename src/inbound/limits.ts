/**
 * The receiver's limits per client address, in the memory of the receiving process: how many
 * sessions one address holds at once, and how many it may open per period (a sliding window).
 * Bounded: at most `maxTracked` addresses are remembered; the oldest are forgotten first.
 */
export interface ClientLimitOptions {
  perAddress: number;
  /** Sessions per window; points 0 = no rate limit. */
  rate: { points: number; windowMs: number };
  /** @defaultValue 10000 */
  maxTracked?: number;
}

export type Admission = 'ok' | 'too_many_connections' | 'rate_limited';

export class ClientLimits {
  private readonly open = new Map<string, number>();
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly options: ClientLimitOptions) {}

  /** Whether a new session from `address` may start; counts it when it may. */
  admit(address: string, now = Date.now()): Admission {
    if ((this.open.get(address) ?? 0) >= this.options.perAddress) return 'too_many_connections';
    const { points, windowMs } = this.options.rate;
    if (points > 0) {
      const recent = (this.starts.get(address) ?? []).filter((t) => now - t < windowMs);
      if (recent.length >= points) {
        this.starts.set(address, recent);
        return 'rate_limited';
      }
      recent.push(now);
      // Re-inserted so that the map's order is the order of last use.
      this.starts.delete(address);
      this.starts.set(address, recent);
      const max = this.options.maxTracked ?? 10_000;
      while (this.starts.size > max) this.starts.delete(this.starts.keys().next().value!);
    }
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
    return 'ok';
  }

  /** A session admitted earlier has ended. */
  release(address: string): void {
    const n = (this.open.get(address) ?? 0) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  get sessions(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }
}
