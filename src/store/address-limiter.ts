import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Rate } from '../config/index.js';
import { abortReason, sleep } from '../net/deadline.js';
import type { AddressLimiter } from '../smtp/sharing.js';

/**
 * Politeness across every worker: at most `maxConcurrent` SMTP sessions to one MX address
 * at a time, and at most `rate.points` session starts per `rate.windowMs`, shared through
 * Redis so the limits hold cluster-wide, not per process.
 *
 * Each slot is a lease in a sorted set (member = random token, score = expiry on Redis's
 * own clock, so worker clocks do not matter). The holder renews its lease while the
 * session runs; a worker that crashes or is killed stops renewing and its slot frees itself
 * when the lease expires. Acquiring, renewing and releasing are single Lua scripts.
 */

// KEYS: slots, starts. ARGV: token, max, leaseMs, ratePoints, rateWindowMs.
// Returns {1, 0} when acquired, else {0, ms until it is worth asking again}.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local points, window = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(first[2]) - now}
end
if points > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= points then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now + 1}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return {1, 0}
`;

// KEYS: slots. ARGV: token, leaseMs. 1 when the lease was extended, 0 when it was lost.
const RENEW = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return 1
`;

export interface RedisAddressLimiterOptions {
  /** Key prefix (with the service's {hash-tag}). */
  prefix: string;
  /** Sessions per address at once. @defaultValue 2 */
  maxConcurrent?: number;
  /** Session starts per address per window; points 0 = no rate limit. @defaultValue 20/1m */
  rate?: Rate;
  /** Lease of a slot; renewed every third of it while held. @defaultValue 30000 */
  leaseMs?: number;
  /** Longest pause between two attempts while waiting for a slot. @defaultValue 250 */
  maxPollMs?: number;
  log?: Logger;
}

export class RedisAddressLimiter implements AddressLimiter {
  private readonly maxConcurrent: number;
  private readonly rate: Rate;
  private readonly leaseMs: number;
  private readonly maxPollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisAddressLimiterOptions,
  ) {
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.rate = options.rate ?? { points: 20, windowMs: 60_000 };
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxPollMs = options.maxPollMs ?? 250;
  }

  private keys(address: string): [string, string] {
    const a = address.toLowerCase();
    return [`${this.options.prefix}:smtp:slots:${a}`, `${this.options.prefix}:smtp:starts:${a}`];
  }

  async acquire(address: string, signal: AbortSignal): Promise<() => void> {
    const [slots, starts] = this.keys(address);
    const token = randomBytes(12).toString('base64url');
    let pause = 10;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const [ok, waitMs] = (await this.redis.eval(
        ACQUIRE,
        2,
        slots,
        starts,
        token,
        String(this.maxConcurrent),
        String(this.leaseMs),
        String(this.rate.points),
        String(this.rate.windowMs),
      )) as [number, number];
      if (ok === 1) return this.holdLease(slots, token, address);
      // Busy: come back soon (slots are usually freed by release, long before the lease ends);
      // rate-limited: come back when the oldest start leaves the window.
      pause = Math.min(this.maxPollMs, pause * 2);
      const jitter = Math.floor(Math.random() * pause * 0.3);
      await sleep(Math.max(1, Math.min(waitMs, pause) + jitter), signal);
    }
  }

  private holdLease(slots: string, token: string, address: string): () => void {
    let released = false;
    const renew = setInterval(
      () => {
        this.redis.eval(RENEW, 1, slots, token, String(this.leaseMs)).then(
          (kept) => {
            if (kept === 0 && !released) {
              this.options.log?.warn(
                { address },
                'SMTP politeness lease expired while the session was still running',
              );
            }
          },
          () => {
            // Redis is away: the lease runs out on its own, which is the safe direction.
          },
        );
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      this.redis.zrem(slots, token).catch(() => {
        // Unreachable Redis: the lease expires by itself.
      });
    };
  }

  /** Sessions currently holding a slot for `address` (for tests and the admin view). */
  async holders(address: string): Promise<number> {
    const [slots] = this.keys(address);
    const t = await this.redis.time();
    const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
    return this.redis.zcount(slots, `(${now}`, '+inf');
  }
}
