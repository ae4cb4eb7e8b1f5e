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
 *
 * A session that finds the address busy waits for a release, not for a poll: releasing
 * publishes the address on a channel, and every process's subscriber wakes its waiters for
 * that address at once (a session on a near MX lasts milliseconds; waiting 10–250 ms between
 * polls made two workers slower than one, issue 14 Scale-out). Polling stays as the fallback
 * for a missed message, an expired lease, or no subscriber connection.
 */

// KEYS: slots, starts. ARGV: token, max, leaseMs, ratePoints, rateWindowMs.
// Returns {1, 0} when acquired, else {0, ms until it is worth asking again, 1 when every slot
// is taken or 2 when the start rate is used up}.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local points, window = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(first[2]) - now, 1}
end
if points > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= points then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now + 1, 2}
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

// KEYS: slots. ARGV: token, channel, address. Frees the slot and tells the waiters.
const RELEASE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
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
  /**
   * A connection of its own for the release channel (it goes into subscriber mode). Without
   * it, waiters wake on releases in this process only, and poll for the others.
   */
  subscriber?: Redis;
  log?: Logger;
}

export class RedisAddressLimiter implements AddressLimiter {
  private readonly maxConcurrent: number;
  private readonly rate: Rate;
  private readonly leaseMs: number;
  private readonly maxPollMs: number;
  private readonly channel: string;
  /** Wake-ups of the sessions of this process waiting for a slot, per address. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscribed = false;
  /** The 'message' listener is added once, whatever the number of (re)subscriptions. */
  private listening = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisAddressLimiterOptions,
  ) {
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.rate = options.rate ?? { points: 20, windowMs: 60_000 };
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxPollMs = options.maxPollMs ?? 250;
    this.channel = `${options.prefix}:smtp:released`;
  }

  private subscribe(): void {
    const sub = this.options.subscriber;
    if (this.subscribed || !sub) return;
    this.subscribed = true;
    if (!this.listening) {
      this.listening = true;
      sub.on('message', (channel: string, address: string) => {
        if (channel === this.channel) this.wake(address);
      });
    }
    const go = (): void => {
      sub.subscribe(this.channel).catch((err: unknown) => {
        // Waiters still poll; the next wait tries again.
        this.subscribed = false;
        this.options.log?.warn({ err }, 'SMTP politeness: could not subscribe to slot releases; polling');
      });
    };
    // SUBSCRIBE turns the connection to subscriber mode. Sent before ioredis's ready check
    // (an INFO) has run, it makes that check fail and the subscription is lost: wait for ready.
    if (sub.status === 'ready') go();
    else sub.once('ready', go);
  }

  private wake(address: string): void {
    const waiting = this.waiters.get(address);
    if (!waiting) return;
    this.waiters.delete(address);
    for (const w of waiting) w();
  }

  /** Sleeps `ms`, or less when a slot of `address` is released meanwhile. */
  private waitForRelease(address: string, ms: number, signal: AbortSignal): Promise<void> {
    this.subscribe();
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortReason(signal));
      let set = this.waiters.get(address);
      if (!set) this.waiters.set(address, (set = new Set()));
      const waiting = set;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiting.delete(done);
        if (waiting.size === 0 && this.waiters.get(address) === waiting) this.waiters.delete(address);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(abortReason(signal));
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.add(wake);
    });
  }

  private keys(address: string): [string, string] {
    const a = address.toLowerCase();
    return [`${this.options.prefix}:smtp:slots:${a}`, `${this.options.prefix}:smtp:starts:${a}`];
  }

  async acquire(address: string, signal: AbortSignal): Promise<() => void> {
    const [slots, starts] = this.keys(address);
    const a = address.toLowerCase();
    const token = randomBytes(12).toString('base64url');
    let pause = 10;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const [ok, waitMs, why] = (await this.redis.eval(
        ACQUIRE,
        2,
        slots,
        starts,
        token,
        String(this.maxConcurrent),
        String(this.leaseMs),
        String(this.rate.points),
        String(this.rate.windowMs),
      )) as [number, number, number?];
      if (ok === 1) return this.holdLease(slots, token, a);
      // Busy: come back at the next release (slots are usually freed by release, long before
      // the lease ends), or poll; rate-limited: come back when the oldest start leaves the
      // window.
      pause = Math.min(this.maxPollMs, pause * 2);
      const jitter = Math.floor(Math.random() * pause * 0.3);
      const ms = Math.max(1, Math.min(waitMs, pause) + jitter);
      if (why === 2) await sleep(ms, signal);
      else await this.waitForRelease(a, ms, signal);
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
      // Waiters of this process go at once; the others when the release reaches them.
      this.wake(address);
      this.redis.eval(RELEASE, 1, slots, token, this.channel, address).catch(() => {
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
